"""Performance over time: the test rows (or logged predictions) by period of a date column, each period's headline
metrics with an interval, and a flag where a period is clearly worse than the reference periods (a two-sample test
of the main metric, false discoveries controlled over the periods)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from .. import metrics
from ..bootstrap import interval_level
from ..errors import UserError, at_least, strictly_between
from ..figures import Lines, Marker, Series
from ..report.model import Estimate, Figure, Note, Table
from ..stats.drift import benjamini_hochberg
from .base import Analysis
from .drift import DriftSettings, column_drift

PERIODS = ("day", "week", "month")


@dataclass
class OverTimeSettings:
    by: Optional[str] = None  # a date column (as the file names it) or any column whose values are the periods
    period: Optional[str] = "day"  # day | week | month for a date column; null: the column's values as they are
    reference: int = 1  # the first this many periods are the reference the later ones are judged against
    q: float = 0.1  # false discovery rate over the judged periods: flagged when clearly worse at q <= this
    min_rows: int = 30  # periods with fewer rows are shown, not judged

    def __post_init__(self):
        if self.period is not None and self.period not in PERIODS:
            raise UserError(f"analyses.over_time.period={self.period!r} is not valid; valid: {', '.join(PERIODS)}, "
                            "or null (the column's values as they are)")
        at_least("analyses.over_time.reference", self.reference, 1)
        strictly_between("analyses.over_time.q", self.q, 0, 1)
        at_least("analyses.over_time.min_rows", self.min_rows, 2)


@dataclass
class OverTimeResult:
    by: str
    period: Optional[str]
    metric: str
    periods: list  # [{period, n, metrics, metrics_ci, difference, p_value, q_value, flagged, reference, small,
    #                 drift_share, estimated}]
    reference: int
    q: float
    level: Optional[float] = None
    notes: list = field(default_factory=list)

    @property
    def flagged(self) -> list:
        return [p for p in self.periods if p["flagged"]]

    def headline(self) -> str:
        judged = [p for p in self.periods if not p["reference"] and not p["small"]]
        if not self.flagged:
            return (f"Over time ({self.by} by {self.period or 'value'}): no period is clearly worse than the first "
                    f"{self.reference} on {metrics.label(self.metric)} ({len(judged)} judged, q ≤ {self.q:g}).")
        worst = min(self.flagged, key=lambda p: p["q_value"])
        return (f"Over time ({self.by} by {self.period or 'value'}): {len(self.flagged)} of {len(judged)} periods "
                f"clearly worse than the first {self.reference} on {metrics.label(self.metric)}, e.g. "
                f"{worst['period']}: {worst['metrics'][self.metric]:.3f} ({worst['difference']:+.3f}, "
                f"q = {worst['q_value']:.2g}).")

    def to_json(self) -> dict:
        return {"by": self.by, "period": self.period, "metric": self.metric, "reference_periods": self.reference,
                "q": self.q, "periods": self.periods, "notes": list(self.notes)}


class OverTimeAnalysis(Analysis):
    name = "over_time"
    title = "Performance over time"
    lead = "Which period the model got worse in, judged against the first periods."
    Settings = OverTimeSettings

    def check(self, data, settings: OverTimeSettings) -> None:
        if settings.by is None:
            return
        if settings.by in data.dates:
            return
        if settings.by not in data.columns:
            raise UserError(f"analyses.over_time.by={settings.by!r} is not a column of the test data; valid: "
                            f"{list(data.dates) + list(data.columns)}")
        if settings.period is not None:
            raise UserError(f"analyses.over_time.period={settings.period!r} needs a date column, and "
                            f"{settings.by!r} is not one; set analyses.over_time.period=null to use its values as "
                            "periods")

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if settings.by is None:
            return "No time column: set analyses.over_time.by=COLUMN (a date column, or a column of periods)."
        if ctx.data.warehouse is not None:
            return "Over time on aggregated input is not built yet: use data.engine=pandas."
        return None

    def compute(self, ctx, settings: OverTimeSettings) -> OverTimeResult:
        data, pred, enc, task = ctx.data, ctx.predictions, ctx.encoded, ctx.data.task
        keys = period_keys(data, settings)
        names = metrics.TASKS[task].sliced
        main = names[0]
        order = sorted(keys.dropna().unique())
        result = OverTimeResult(settings.by, settings.period if settings.by in data.dates else None, main, [],
                                settings.reference, settings.q, interval_level(ctx.cfg.bootstrap))
        if len(order) <= settings.reference:
            result.notes.append(f"Only {len(order)} period(s): none to judge after the first {settings.reference}.")
        error = per_row_error(task, pred, enc)
        values = keys.to_numpy()
        ref_rows = np.flatnonzero(np.isin(values, order[: settings.reference]))
        for k, name in enumerate(order):
            idx = np.flatnonzero(values == name)
            point = metrics.point_metrics(data, pred, enc, rows=idx)
            ci = None
            if len(idx) >= settings.min_rows:
                iv = metrics.intervals(task, pred, enc, ctx.cfg.bootstrap, ctx.seed + k, rows=idx, scores=False,
                                       stratified=False)
                ci = None if iv is None else iv.interval(main)
            entry = {"period": str(name), "n": int(len(idx)), "metrics": {m: point.values.get(m) for m in names},
                     "metrics_ci": {main: ci}, "reference": k < settings.reference,
                     "small": len(idx) < settings.min_rows, "difference": None, "p_value": None, "q_value": None,
                     "flagged": False, "drift_share": None, "estimated": False}
            if not entry["reference"] and not entry["small"] and len(ref_rows) >= 2:
                entry["difference"], entry["p_value"] = worse_test(error[idx], error[ref_rows],
                                                                   metrics.lower_is_better(main))
            result.periods.append(entry)
        columns = [c for c in data.X_test.columns if c not in data.dates.get(settings.by, [settings.by])]
        if columns and len(ref_rows) >= 2:
            for name, entry in zip(order, result.periods):
                if not entry["reference"] and not entry["small"]:
                    entry["drift_share"] = drift_share(data.X_test, ref_rows, np.flatnonzero(values == name),
                                                       columns, settings.q)
        judged = [p for p in result.periods if p["p_value"] is not None]
        for p, q in zip(judged, benjamini_hochberg([p["p_value"] for p in judged])):
            p["q_value"] = q
            p["flagged"] = bool(q <= settings.q)
        unjudged = sum(p["small"] and not p["reference"] for p in result.periods)
        if unjudged:
            result.notes.append(f"{unjudged} period(s) with fewer than {settings.min_rows} rows are shown, not judged "
                                "(analyses.over_time.min_rows).")
        return result

    def items(self, r: OverTimeResult) -> list:
        main = r.metric
        level = f" [{r.level:.0%} CI]" if r.level else ""
        rows = [[p["period"], p["n"], Estimate(p["metrics"][main], p["metrics_ci"][main]),
                 *[p["metrics"][m] for m in p["metrics"] if m != main],
                 "reference" if p["reference"] else "" if p["difference"] is None else f"{p['difference']:+.3f}",
                 p["q_value"], "" if p["drift_share"] is None else f"{p['drift_share']:.0%}",
                 "clearly worse" if p["flagged"] else ("too few rows" if p["small"] else "")]
                for p in r.periods]
        others = [metrics.label(m) for m in (r.periods[0]["metrics"] if r.periods else {}) if m != main]
        x = list(range(len(r.periods)))
        series = Series(x, [p["metrics"][main] for p in r.periods], metrics.label(main), marker=True,
                        errors=[p["metrics_ci"][main] for p in r.periods] if r.level else None)
        flagged = [Marker(i, p["metrics"][main], "clearly worse") for i, p in enumerate(r.periods) if p["flagged"]]
        return [
            Note(r.headline(), "warning" if r.flagged else "info"),
            Figure(Lines([series], f"{metrics.label(main)} by {r.period or r.by}", r.by, metrics.label(main),
                         markers=flagged, xticklabels=[p["period"] for p in r.periods]),
                   caption=f"Each period's {metrics.label(main)}" + (f" with its {r.level:.0%} bootstrap interval"
                                                                     if r.level else "")
                           + "; flagged periods marked."),
            Table(["Period", "Rows", f"{metrics.label(main)}{level}", *others, "Against the reference", "q",
                   "Columns drifted", "Flag"],
                  rows, caption=f"Reference: the first {r.reference} period(s). A later period is clearly worse when a "
                                "one-sided two-sample test of the per-row " + ("error (z test of two proportions)"
                                                                               if main == "accuracy" else
                                                                               "absolute error (Welch's t test)")
                                + f" gives q ≤ {r.q:g}, Benjamini-Hochberg over the judged periods. Columns "
                                "drifted: the share of the other columns whose distribution differs from the "
                                "reference periods' (the drift section's tests, q ≤ the same level over the "
                                "columns)."),
        ] + [Note(n) for n in r.notes]


def period_keys(data, settings: OverTimeSettings) -> pd.Series:
    """Each test row's period: a date column's day (YYYY-MM-DD), ISO week (YYYY-Www) or month (YYYY-MM), or the
    column's values as they are."""
    if settings.by in data.dates:
        parts = {p.rsplit(".", 1)[1]: data.X_test[p] for p in data.dates[settings.by]}
        stamps = pd.to_datetime(pd.DataFrame({"year": parts["year"], "month": parts["month"], "day": parts["day"]}),
                                errors="coerce")
        if settings.period == "month":
            keys = stamps.dt.strftime("%Y-%m")
        elif settings.period == "week":
            iso = stamps.dt.isocalendar()
            keys = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
        else:
            keys = stamps.dt.strftime("%Y-%m-%d")
        return keys.where(stamps.notna()).reset_index(drop=True)
    return data.X_test[settings.by].astype("string").reset_index(drop=True)


def drift_share(frame: pd.DataFrame, reference: np.ndarray, period: np.ndarray, columns: list, q: float) -> float:
    """The share of columns whose distribution in the period differs from the reference periods' (the drift
    section's tests per column, Benjamini-Hochberg over the columns, drifted at q)."""
    tests = [column_drift(c, frame[c].iloc[reference], frame[c].iloc[period], DriftSettings())["p_value"]
             for c in columns]
    return float(np.mean([v <= q for v in benjamini_hochberg(tests)]))


def per_row_error(task: str, pred, enc) -> np.ndarray:
    """Each test row's error: 1 when misclassified (accuracy = 1 - its mean), or the absolute error (MAE)."""
    if task == "regression":
        return np.abs(np.asarray(pred.y_pred, float) - np.asarray(pred.y_true, float))
    return (enc.y_idx != enc.pred_idx).astype(float)


def worse_test(period: np.ndarray, reference: np.ndarray, lower_better: bool) -> tuple:
    """(the period's metric minus the reference's, one-sided p-value that the period's mean error is higher). The
    error is 1 - accuracy for classification (a z test of two proportions, pooled) or the absolute error (Welch)."""
    from scipy.stats import norm, ttest_ind

    binary = set(np.unique(np.r_[period, reference])) <= {0.0, 1.0}
    if binary:
        p1, p0, n1, n0 = period.mean(), reference.mean(), len(period), len(reference)
        pooled = (period.sum() + reference.sum()) / (n1 + n0)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        p = 1.0 if se == 0 else float(norm.sf((p1 - p0) / se))
        return float(p0 - p1), p  # accuracy difference: the period's minus the reference's
    test = ttest_ind(period, reference, equal_var=False, alternative="greater")
    difference = float(period.mean() - reference.mean())
    return (difference if lower_better else -difference), float(test.pvalue)
