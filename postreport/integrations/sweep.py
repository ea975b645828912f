"""Multirun sweeps: a Hydra callback that, when the sweep ends, reads every job's files (overrides, job.json,
metrics.json; files, not return values, because the joblib launcher runs jobs and their callbacks in worker
processes) and writes sweep.json, sweep_report.html and sweep_report.pdf in the sweep directory."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from postreport.data.run_files import HYDRA_OVERRIDES, JOB, METRICS, REPORT_HTML, read_json
from postreport.run.atomic import write_all, write_atomic
from postreport.report.figures import Bars, Lines, Panels, Series
from postreport.stats.metrics import TASKS, label, lower_is_better
from postreport.report.model import Estimate, Figure, Link, Note, Report, Section, Table
from postreport.report.render_html import render_html
from postreport.report.render_json import jsonable
from postreport.report.render_pdf import render_pdf
from postreport.run.runner import quiet_libraries
from postreport.integrations.tracking import end_sweep, start_sweep

log = logging.getLogger("postreport")
last_exit_code: Optional[int] = None  # set when a sweep report was made: 0 every job ok, else 1 (read by cli.main)


def write_job_status(output_dir: str, code: int, error: Optional[str]) -> None:
    """Each multirun job records how it ended, for the sweep report (a failed job still gets a row)."""
    status = "ok" if code == 0 else "error" if error else "gate failed" if code == 3 else "section failed"
    write_atomic(Path(output_dir) / JOB, json.dumps({"status": status, "exit_code": code, "error": error}))


class SweepReport(Callback):
    started: float = 0.0  # when this multirun began: job folders older than that are an earlier multirun's

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        self.started = time.time()
        try:
            start_sweep(config, Path(config.hydra.sweep.dir))
        except Exception as exc:  # the jobs still run and are tracked as runs of their own
            log.error("tracking: the sweep's parent run could not be created: %s", exc)

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        global last_exit_code
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            summary = collect(sweep_dir, since=self.started)
        except Exception as exc:  # the jobs' own reports are written; never lose them over the summary
            log.error("the sweep report could not be made: %s", exc)
            last_exit_code = 1
            return
        if not summary["jobs"]:  # e.g. jobs on other machines or processes resolved a relative folder elsewhere
            log.error("the sweep's jobs left no folder in %s: on a cluster (Ray, SLURM) give hydra.sweep.dir as an "
                      "absolute path on a file system every node shares", sweep_dir.resolve())
            last_exit_code = 1
            return
        write_sweep_files(sweep_dir, summary)
        codes = {j["exit_code"] for j in summary["jobs"]}
        last_exit_code = 3 if 3 in codes else 0 if codes <= {0} else 1  # as one run: a failed gate wins
        try:
            end_sweep(config, sweep_dir, last_exit_code)
        except Exception as exc:
            log.error("tracking: the sweep's parent run could not be completed: %s", exc)


def collect(sweep_dir: Path, since: float = 0.0) -> dict:
    """Every job folder of the sweep written since `since` (a reused sweep folder keeps an earlier multirun's
    folders: they are not this sweep's jobs)."""
    jobs = []
    ours = [d for d in sweep_dir.iterdir()
            if (d / HYDRA_OVERRIDES).is_file() and (d / HYDRA_OVERRIDES).stat().st_mtime
            >= since - 1]
    for job_dir in sorted(ours, key=lambda d: int(d.name) if d.name.isdigit() else d.name):
        overrides = _read_overrides(job_dir / HYDRA_OVERRIDES)
        status = read_json(job_dir / JOB) or {"status": "error", "exit_code": 1,
                                                     "error": "the job left no status (it was interrupted?)"}
        metrics = read_json(job_dir / METRICS)
        row = {"job": job_dir.name, "overrides": overrides, "status": status["status"],
               "exit_code": status["exit_code"], "error": status.get("error"), "task": None, "metrics": {}, "ci": {},
               "report": f"{quote(job_dir.name)}/{REPORT_HTML}" if (job_dir / REPORT_HTML).exists() else None}
        if metrics:
            row["task"] = metrics["task"]
            row["metrics"] = metrics["metrics"]
            payload = metrics.get("results", {}).get("metrics", {})
            row["ci"] = {k[:-3]: v for k, v in payload.items() if k.endswith("_ci") and k != "ci_level"}
            row["ci_level"] = payload.get("ci_level")
            row["gates"] = metrics.get("gates", [])
            compared = metrics.get("results", {}).get("comparison")
            if compared:
                row["comparison"] = {"baseline": compared.get("baseline"),
                                     "verdicts": {k: v.get("verdict") for k, v in compared.get("metrics", {}).items()}}
        jobs.append(row)
    tasks = [j["task"] for j in jobs if j["task"]]
    task = max(set(tasks), key=tasks.count) if tasks else None
    names = list(TASKS[task].compared) if task else []
    best = {}
    for name in names:
        scored = [j for j in jobs if j["metrics"].get(name) is not None]
        if scored:
            pick = min if lower_is_better(name) else max
            best[name] = pick(scored, key=lambda j: j["metrics"][name])["job"]
    levels = {j.get("ci_level") for j in jobs if j.get("ci_level")}
    swept = _swept(jobs)
    return {"sweep_dir": str(sweep_dir), "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            "task": task, "metrics": names, "ci_level": levels.pop() if len(levels) == 1 else None, "swept": swept,
            "best": best, "jobs": jobs}


def _swept(jobs: list) -> list:
    values: dict = {}
    for j in jobs:
        for item in j["overrides"]:
            key, _, value = item.partition("=")
            values.setdefault(key.lstrip("+~"), set()).add(value)
    return [k for k, v in values.items() if len(v) > 1]


def _read_overrides(path: Path) -> list:
    return [str(x) for x in OmegaConf.load(path)] if path.exists() else []


def override_value(job: dict, key: str) -> Optional[str]:
    for item in job["overrides"]:
        k, _, v = item.partition("=")
        if k.lstrip("+~") == key:
            return v
    return None


def write_sweep_files(sweep_dir: Path, summary: dict) -> None:
    quiet_libraries()
    text = json.dumps(jsonable(summary), indent=2) + "\n"
    report = build_sweep_report(summary)
    figures: dict = {}
    html = render_html(report, for_print=False, figures=figures)
    pdf = render_pdf(render_html(report, for_print=True, figures=figures), report,
                     [("sweep.json", text, "One row per job: overrides, status, headline metrics")])
    write_all({sweep_dir / "sweep.json": text, sweep_dir / "sweep_report.html": html,
               sweep_dir / "sweep_report.pdf": pdf})
    log.info("sweep report: %s", sweep_dir / "sweep_report.html")


def build_sweep_report(summary: dict):
    names = summary["metrics"]
    jobs = summary["jobs"]
    swept = summary["swept"] or sorted({item.partition("=")[0] for j in jobs for item in j["overrides"]})
    level = f" [{summary['ci_level']:.0%} CI]" if summary.get("ci_level") else ""
    gated = any(j.get("gates") for j in jobs)
    compared = any(j.get("comparison") for j in jobs)
    columns = (["Job"] + swept + [label(n) + level for n in names] + (["Gates"] if gated else [])
               + ([f"{label(names[0])} vs baseline"] if compared and names else []) + ["Status", "Report"])
    rows, best_rows = [], set()
    for i, j in enumerate(jobs):
        row = [j["job"]] + [override_value(j, k) for k in swept]
        for name in names:
            value = j["metrics"].get(name)
            row.append(Estimate(value, j["ci"].get(name)) if value is not None else None)
            if summary["best"].get(name) == j["job"]:
                best_rows.add(i)
        if gated:
            row.append(_gates_text(j.get("gates") or []))
        if compared and names:
            row.append((j.get("comparison") or {}).get("verdicts", {}).get(names[0]))
        status = j["status"] if j["status"] in ("ok", "gate failed") else f"{j['status']}: {j['error'] or ''}".strip()
        row += [status, Link("report", j["report"]) if j["report"] else None]
        rows.append(row)
    marks = [f"{label(n)}: job {summary['best'][n]}" for n in names if n in summary["best"]]
    table = Table(columns, rows, caption="One row per job; click a heading to sort. Best per metric: "
                  + ("; ".join(marks) if marks else "none (no job finished)") + ". Highlighted: a best job.",
                  highlight_rows=sorted(best_rows))
    items = [table]
    failed = [j for j in jobs if j["status"] == "error"]
    if failed:
        items.append(Note(f"{len(failed)} of {len(jobs)} jobs failed; their rows show the error.", "warning"))
    plots = []
    for key in summary["swept"]:
        for name in names[:2]:
            points = [(override_value(j, key), j["metrics"].get(name)) for j in jobs if j["metrics"].get(name)
                      is not None]
            if not points:
                continue
            numeric = all(_is_number(v) for v, _ in points)
            by_value: dict = {}
            for v, m in points:
                by_value.setdefault(v, []).append(m)
            means = {v: sum(ms) / len(ms) for v, ms in by_value.items()}
            if numeric:
                xs = sorted(means, key=float)
                plots.append(Lines([Series([float(v) for v in xs], [means[v] for v in xs], marker=True)],
                                   f"{label(name)} by {key}", key, label(name)))
            else:
                plots.append(Bars([str(v) for v in means], list(means.values()),
                                  f"{label(name)} by {key}", label(name)))
    sections = [Section(id="jobs", title="Jobs", items=items,
                        lead=f"{len(jobs)} jobs in {summary['sweep_dir']}; swept: {', '.join(summary['swept']) or 'nothing'}.")]
    if plots:
        sections.append(Section(id="by-parameter", title="Metrics by swept parameter",
                                items=[Figure(Panels(plots, height=2.6, columns=min(2, len(plots))),
                                              caption="Each point: the mean over the jobs with that value (other swept parameters "
                                                      "vary among them).")]))
    headline = []
    if names and summary["best"].get(names[0]) is not None:
        best_job = next(j for j in jobs if j["job"] == summary["best"][names[0]])
        headline.append((f"best {label(names[0])} (job {best_job['job']})",
                         Estimate(best_job["metrics"][names[0]], best_job["ci"].get(names[0]))))
    return Report(title="Sweep report", author="", created=summary["created"],
                  subtitle=f"{len(jobs)} jobs · {summary['task'] or 'no finished job'}",
                  keywords=["sweep", "postreport"], headline=headline, sections=sections, appendix=[])


def _gates_text(gates: list) -> str:
    if not gates:
        return "none"
    failed = [g["name"] for g in gates if g["status"] == "fail"]
    if failed:
        return f"FAILED: {', '.join(failed)}"
    unknown = sum(g["status"] != "pass" for g in gates)
    return f"pass ({len(gates) - unknown} of {len(gates)}" + (f"; {unknown} not evaluable)" if unknown else ")")


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False
