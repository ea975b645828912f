"""The gates' renderers for CI: gates.xml (JUnit) and summary.md (the headline, the gates, the comparison)."""
from __future__ import annotations

from typing import Optional
from xml.sax.saxutils import escape, quoteattr

from postreport.run.gates import FAIL, NOT_EVALUABLE, PASS, heading
from postreport.stats import metrics


def summary(cfg, ctx, outcomes: list, gates: list) -> bytes:
    """summary.md of a run: its headline metrics, gates and comparison."""
    done = {o.name: o for o in outcomes if o.status == "ok"}
    result = done["metrics"].result if "metrics" in done else None
    headline = [] if result is None else [(metrics.label(k), result.values.get(k), result.ci.get(k))
                                          for k in metrics.TASKS[ctx.data.task].headline]
    comparison = None
    if "comparison" in done:
        c = done["comparison"].result
        comparison = {"baseline": c.baseline, "rows_text": c.rows_text, "metrics": c.metrics}
    level = None if result is None else result.ci_level
    return markdown(cfg.report.title, f"{ctx.model.name} on {ctx.data.name} ({ctx.data.n_test:,} test rows)",
                    headline, level, gates, comparison)


def junit(results: list, suite: str) -> bytes:
    """gates.xml: one testcase per gate; a failure element with the numbers; not evaluable gates are skipped."""
    failures = sum(r.status == FAIL for r in results)
    skipped = sum(r.status == NOT_EVALUABLE for r in results)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="postreport gates" tests="{len(results)}" failures="{failures}" skipped="{skipped}">',
             f'  <testsuite name={quoteattr(suite)} tests="{len(results)}" failures="{failures}" errors="0" '
             f'skipped="{skipped}">']
    for r in results:
        case = f'    <testcase classname="postreport.run.gates" name={quoteattr(f"{r.name}: {r.condition}")}'
        if r.status == PASS:
            lines.append(case + "/>")
        elif r.status == FAIL:
            lines += [case + ">", f'      <failure message={quoteattr(r.message)} type="GateFailed">'
                      f"{escape(r.message)}</failure>", "    </testcase>"]
        else:
            lines += [case + ">", f"      <skipped message={quoteattr(r.message)}/>", "    </testcase>"]
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")


def md_text(text) -> str:
    """A table cell: pipes and line breaks escaped, HTML-like text left inert."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def markdown(title: str, subject: str, headline: list, level: Optional[float], results: list,
             comparison: Optional[dict]) -> bytes:
    """summary.md: headline metrics with intervals, the gates, and the comparison's verdicts."""
    def number(v):
        return "n/a" if v is None else f"{v:.4g}"

    lines = [f"# {md_text(title)}", "", f"Model: {md_text(subject)}", ""]
    if headline:
        lines += ["| Metric | Value | " + (f"{level:.0%} interval |" if level else "Interval |"), "|---|---|---|"]
        for name, value, ci in headline:
            lines.append(f"| {md_text(name)} | {number(value)} | "
                         + ("n/a" if not ci else f"[{number(ci[0])}, {number(ci[1])}]") + " |")
        lines.append("")
    if results:
        lines += [f"## Gates: {heading(results)}", "", "| Gate | Condition | Value | Status |", "|---|---|---|---|"]
        icon = {PASS: "✅ pass", FAIL: "❌ fail", NOT_EVALUABLE: "⚠️ not evaluable"}
        for r in results:
            lines.append(f"| {md_text(r.name)} | {md_text(r.condition)} | {number(r.value)} | {icon[r.status]} |")
        lines.append("")
    if comparison:
        lines += [f"## Compared with the baseline ({md_text(comparison['baseline'])})", "",
                  md_text(comparison["rows_text"]), "",
                  "| Metric | Baseline | Current | Difference | Interval | Verdict |",
                  "|---|---|---|---|---|---|"]
        for row in comparison["metrics"]:
            ci = row["diff_ci"]
            lines.append(f"| {md_text(row['label'])} | {number(row['baseline'])} | {number(row['current'])} | "
                         f"{number(row['diff'])} | " + ("n/a" if not ci else f"[{number(ci[0])}, {number(ci[1])}]")
                         + f" | {row['verdict']} |")
        lines.append("")
    return "\n".join(lines).encode("utf-8")
