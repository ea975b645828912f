"""Leaderboard: every candidate (the configured model, the tuned model, ensemble members and ensembles) on the
same test rows, with bootstrap intervals, timings, and paired significance against the best single model;
the diversity of the members' errors, and whether each ensemble beats its best member."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.stats import metrics
from postreport.stats.bootstrap import interval_level
from postreport.report.figures import Bars, Heatmap
from postreport.stats.metrics import candidate_metrics, label, lower_is_better
from postreport.stats.paired import holm, mcnemar
from postreport.report.model import Estimate, Figure, Note, Paragraph, Table
from postreport.stats.sampling import sample_rows
from postreport.stats.intervals import percentile_bounds
from postreport.analyses.base import Analysis
from postreport.planning.plan import Step

ROLES = {"model": "configured", "tuned": "tuned", "member": "member", "ensemble": "ensemble"}


def paired_rows(ctx) -> np.ndarray:
    """The test rows the paired comparisons resample: all, or a seeded sample of bootstrap.max_exact_rows (row-level
    resamples of every candidate cost resamples x rows each)."""
    return sample_rows(ctx.data.n_test, ctx.cfg.bootstrap.max_exact_rows, ctx.seed)


def paired_samples(ctx, candidate, metric: str) -> Optional[np.ndarray]:
    """Per-resample values of `metric` for a candidate, with row resamples identical for every candidate
    (the paired rows in their original order, drawn from all of them, the run's seed), so that differences are
    paired."""
    scores = metric in metrics.PROBABILISTIC  # else the counting metrics alone: no per-class ranking per resample

    def compute():
        return metrics.intervals(ctx.data.task, candidate.predictions, ctx.encoded_for(candidate), ctx.cfg.bootstrap,
                                 ctx.seed, rows=paired_rows(ctx), scores=scores, paired=True)

    result = ctx.shared(("paired samples", candidate.name, scores), compute)
    return None if result is None else result.samples.get(metric)


@dataclass
class Row:
    name: str
    role: str
    values: dict
    ci: dict
    fit_seconds: Optional[float]
    predict_seconds: float


@dataclass
class Comparison:
    name: str
    delta: Optional[float]
    delta_ci: Optional[list]
    p_bootstrap: Optional[float]
    mcnemar: Optional[tuple]  # (b, c, p)
    p_bootstrap_holm: Optional[float] = None
    p_mcnemar_holm: Optional[float] = None


@dataclass
class LeaderboardResult:
    task: str
    metrics: tuple
    ranking: str
    rows: list
    best_single: str
    comparisons: list
    diversity: Optional[tuple]  # (names, matrix)
    ensemble_lines: list
    level: Optional[float]
    notes: list = field(default_factory=list)

    def headline(self) -> Optional[str]:
        if len(self.rows) < 2:
            return None
        best = self.rows[0]
        text = (f"Leaderboard of {len(self.rows)} models: best {label(self.ranking)} is {best.name} "
                f"({best.values[self.ranking]:.3f}).")
        return " ".join([text] + self.ensemble_lines[:1])

    def to_json(self) -> dict:
        return {
            "ranking_metric": self.ranking, "best_single": self.best_single,
            "candidates": [{"name": r.name, "role": r.role, **r.values, **{f"{k}_ci": v for k, v in r.ci.items()},
                            "fit_seconds": r.fit_seconds, "predict_seconds": r.predict_seconds} for r in self.rows],
            "comparisons": [{"name": c.name, "delta": c.delta, "delta_ci": c.delta_ci, "p_bootstrap": c.p_bootstrap,
                             "p_bootstrap_holm": c.p_bootstrap_holm,
                             "mcnemar": None if c.mcnemar is None else {"b": c.mcnemar[0], "c": c.mcnemar[1],
                                                                       "p": c.mcnemar[2], "p_holm": c.p_mcnemar_holm}}
                            for c in self.comparisons],
            "diversity": None if self.diversity is None else {"members": self.diversity[0],
                                                              "error_correlation": self.diversity[1].tolist()},
            "ensembles": self.ensemble_lines,
        }


class LeaderboardAnalysis(Analysis):
    name = "leaderboard"
    shows_prepared = True
    uses = frozenset({"ensembles"})
    title = "Leaderboard and ensembles"
    lead = "Every model of this run on the same test rows, and whether the differences are real."

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if len(ctx.candidates) < 2:
            return ("Only one model in this run; ensembles (ensemble=...) or tuning add candidates, and need "
                    "training data.")
        return None

    def plan(self, plan, settings) -> list:
        if plan.candidates < 2:
            return []  # the section skips
        b, rows = plan.cfg.bootstrap, min(plan.shape.n_test, plan.cfg.bootstrap.max_exact_rows)
        scores = metrics.TASKS[plan.shape.task].compared[0] in metrics.PROBABILISTIC  # what ranks them
        seconds = (plan.metrics_seconds("configured", "tuned", "others")
                   + plan.candidates * plan.bootstrap_seconds(rows, scores, paired=True))
        return [Step("leaderboard", f"bootstrap intervals ({b.resamples:,} resamples) of {plan.candidates} "
                     f"candidates' metrics, and paired resamples of {rows:,} rows", seconds, rows=plan.shape.n_test,
                     repeats=b.resamples)]

    def compute(self, ctx, settings) -> LeaderboardResult:
        if ctx.ensemble_error:
            raise RuntimeError(ctx.ensemble_error)
        task = ctx.data.task
        names = metrics.TASKS[task].compared
        rows = []
        for c in ctx.candidates:
            result = candidate_metrics(ctx, c)
            rows.append(Row(c.name, ROLES.get(c.role, c.role), {m: result.values.get(m) for m in names},
                            {m: result.ci.get(m) for m in names}, c.fit_seconds, c.predictions.seconds))
        ranking = next((m for m in names if all(r.values[m] is not None for r in rows)), names[0])
        sign = 1 if lower_is_better(ranking) else -1
        rows.sort(key=lambda r: sign * (r.values[ranking] if r.values[ranking] is not None else -sign * np.inf))
        singles = [r for r in rows if r.role != "ensemble"]
        best = singles[0].name if singles else rows[0].name
        comparisons = self._compare(ctx, best, ranking)
        level = interval_level(ctx.cfg.bootstrap)
        result = LeaderboardResult(task, names, ranking, rows, best, comparisons, self._diversity(ctx),
                                   self._ensembles(ctx, ranking), level)
        paired = len(paired_rows(ctx))
        if level is not None and paired < ctx.data.n_test:
            result.notes.append(f"The paired comparisons resample a seeded sample of {paired:,} of the "
                                f"{ctx.data.n_test:,} test rows (bootstrap.max_exact_rows); the table's values and "
                                "intervals use every row.")
        return result

    @staticmethod
    def _compare(ctx, best: str, metric: str) -> list:
        by_name = {c.name: c for c in ctx.candidates}
        reference = paired_samples(ctx, by_name[best], metric)
        truth = ctx.predictions.y_true
        right_best = by_name[best].predictions.y_pred == truth
        out = []
        for c in ctx.candidates:
            if c.name == best:
                continue
            samples = paired_samples(ctx, c, metric)
            delta = delta_ci = p = None
            if samples is not None and reference is not None:
                d = samples - reference
                d = d[np.isfinite(d)]
                if d.size:
                    delta = float(np.mean(d))
                    delta_ci = list(percentile_bounds(d, ctx.cfg.bootstrap.level))
                    # two-sided, with the resampled statistic counted among the draws (Davison & Hinkley): never
                    # 0, which no finite number of resamples can show (at least 2 / (resamples + 1))
                    p = float(min(1.0, 2 * (1 + min(np.sum(d <= 0), np.sum(d >= 0))) / (d.size + 1)))
            test = None
            if ctx.data.task != "regression":
                test = mcnemar(c.predictions.y_pred == truth, right_best)
            out.append(Comparison(c.name, delta, delta_ci, p, test))
        for attr, source in (("p_bootstrap_holm", [c.p_bootstrap for c in out]),
                             ("p_mcnemar_holm", [None if c.mcnemar is None else c.mcnemar[2] for c in out])):
            for c, adjusted in zip(out, holm(source)):
                setattr(c, attr, adjusted)
        return out

    @staticmethod
    def _diversity(ctx) -> Optional[tuple]:
        singles = [c for c in ctx.candidates if c.role != "ensemble"]
        members = [c for c in singles if c.role == "member"] or singles
        if len(members) < 2:
            return None
        truth = ctx.predictions.y_true
        if ctx.data.task == "regression":
            errors = np.stack([c.predictions.y_pred - truth for c in members]).astype(float)
        else:
            errors = np.stack([(c.predictions.y_pred != truth) for c in members]).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.corrcoef(errors)
        return [c.name for c in members], np.atleast_2d(matrix)

    @staticmethod
    def _ensembles(ctx, metric: str) -> list:
        members = [c for c in ctx.candidates if c.role == "member"]
        if not members:
            return []
        sign = 1 if lower_is_better(metric) else -1
        scored = [(candidate_metrics(ctx, m).values.get(metric), m) for m in members]
        scored = [(v, m) for v, m in scored if v is not None]
        if not scored:
            return []
        best_member = min(scored, key=lambda t: sign * t[0])[1]
        reference = paired_samples(ctx, best_member, metric)
        lines = []
        for e in (c for c in ctx.candidates if c.role == "ensemble"):
            samples = paired_samples(ctx, e, metric)
            value = candidate_metrics(ctx, e).values.get(metric)
            if samples is None or reference is None or value is None:
                continue
            d = samples - reference
            d = d[np.isfinite(d)]
            lo, hi = percentile_bounds(d, ctx.cfg.bootstrap.level)
            if lo > 0 or hi < 0:
                better = (lo > 0) != lower_is_better(metric)
                verdict = "beats its best member" if better else "does worse than its best member"
            else:
                verdict = "shows no clear difference from its best member"
            lines.append(f"{e.name} {verdict} ({best_member.name}): {label(metric)} difference "
                         f"{np.mean(d):+.4f} [{lo:+.4f}, {hi:+.4f}] (paired bootstrap).")
        return lines

    def items(self, r: LeaderboardResult) -> list:
        level = f" [{r.level:.0%} CI]" if r.level else ""
        order = [r.ranking] + [m for m in r.metrics if m != r.ranking]  # the ranking metric first, with its CI
        columns = ["Model", "Role"] + [label(m) + (level if i == 0 else "") for i, m in enumerate(order)]
        columns += ["Fit s", "Predict s"]
        rows = []
        for row in r.rows:
            cells = [row.name, row.role] + [Estimate(row.values[m], row.ci[m] if i == 0 else None)
                                            for i, m in enumerate(order)]
            rows.append(cells + [row.fit_seconds, row.predict_seconds])
        best_index = [i for i, row in enumerate(r.rows) if row.name == r.best_single]
        table = Table(columns, rows, caption="All models on the same test rows, best "
                      f"{label(r.ranking)} first; the best single (non-ensemble) model highlighted. "
                      "An ensemble's fit time includes its members'.", highlight_rows=best_index)
        ranked = [row for row in r.rows if row.values[r.ranking] is not None]
        figure = Figure(Bars([row.name for row in ranked], [row.values[r.ranking] for row in ranked],
                             f"{label(r.ranking)} by model", label(r.ranking),
                             errors=[row.ci[r.ranking] for row in ranked] if r.level else None, points=True,
                             toggle=True),
                        caption="Dots: each model's value; whiskers: bootstrap confidence intervals. Overlapping "
                                "whiskers do not settle a difference; the paired tests below do.")
        comp_rows = []
        for c in r.comparisons:
            delta = Estimate(c.delta, c.delta_ci)
            mc = c.mcnemar
            comp_rows.append([c.name, delta, c.p_bootstrap_holm] + ([f"{mc[0]} / {mc[1]}", c.p_mcnemar_holm]
                                                                     if mc else ["–", None]))
        comparisons = Table(
            ["Model", f"Δ {label(r.ranking)} vs {r.best_single}{level}", "p (paired bootstrap, Holm)",
             "McNemar: only it right / only best right", "p (McNemar, Holm)"], comp_rows,
            caption=f"Paired significance against the best single model {r.best_single!r}: a paired bootstrap of the "
                    f"{label(r.ranking)} difference (the same resampled rows for both) and, for accuracy, the "
                    "exact McNemar test on the rows where exactly one of the two is right. p-values are corrected for "
                    "the number of comparisons with Holm's method.")
        items = [table, figure, comparisons]
        if r.diversity is not None:
            names, matrix = r.diversity
            what = "residuals" if r.task == "regression" else "errors (1 = wrong)"
            items.append(Figure(Heatmap(matrix, names, names, title="Correlation of the members' " + what,
                                        annotations=[[("–" if not np.isfinite(v) else f"{v:.2f}") for v in row]
                                                     for row in matrix], vmin=-1, vmax=1, cmap="RdBu_r"),
                                caption="Diversity: members whose errors are weakly correlated have more to gain "
                                        "from being combined."))
        items += [Paragraph(line) for line in r.ensemble_lines]
        items += [Note(n) for n in r.notes]
        return items
