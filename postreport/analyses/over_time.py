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
from ..predictions import confidence, logged_labels
from ..stats.drift import benjamini_hochberg
from ..stats.estimated import calibration_gap, expected_accuracy
from ..stats.proportions import z_for
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
    calibration: Optional[dict] = None  # {gap, gap_ci, rows}: measured minus estimated accuracy on labelled rows

    @property
    def flagged(self) -> list:
        return [p for p in self.periods if p["flagged"]]

    @property
    def worst(self) -> Optional[dict]:
        """The judged period furthest on the worse side of the reference (its difference's point estimate)."""
        judged = [p for p in self.periods if p["difference"] is not None]
        if not judged:
            return None
        sign = -1 if metrics.lower_is_better(self.metric) else 1
        return min(judged, key=lambda p: sign * p["difference"])

    def gate_values(self) -> dict:
        worst = self.worst
        return {} if worst is None else {"worst_period_difference": (worst["difference"], worst["difference_ci"])}

    def calibration_words(self) -> Optional[str]:
        """Whether the estimates from the scores can be trusted, from the labelled rows (None: nothing estimated)."""
        c = self.calibration
        if c is None or not any(p["estimate"] for p in self.periods):
            return None
        lo, hi = c["gap_ci"]
        measured = (f"on the {c['rows']:,} labelled rows, measured minus estimated accuracy is {c['gap']:+.3f} "
                    f"[{lo:+.3f}, {hi:+.3f}]")
        if lo > 0 or hi < 0:
            return (f"The scores are not calibrated for accuracy: {measured}, so the estimates from the scores are "
                    "off by about that much (see the calibration section).")
        return (f"Estimates from the scores assume calibrated probabilities: {measured}, which holds 0 (no evidence "
                "that they are off).")

    def headline(self) -> str:
        judged = [p for p in self.periods if not p["reference"] and not p["small"]]
        estimated = sum(p["estimated"] for p in self.periods)
        more = f"; {estimated} period(s) without labels estimated from the scores" if estimated else ""
        if not self.flagged:
            return (f"Over time ({self.by} by {self.period or 'value'}): no period is clearly worse than the first "
                    f"{self.reference} on {metrics.label(self.metric)} ({len(judged)} judged, q ≤ {self.q:g}{more}).")
        worst = min(self.flagged, key=lambda p: p["q_value"])
        return (f"Over time ({self.by} by {self.period or 'value'}): {len(self.flagged)} of {len(judged)} periods "
                f"clearly worse than the first {self.reference} on {metrics.label(self.metric)}{more}, e.g. "
                f"{worst['period']}: {worst['metrics'][self.metric]:.3f}"
                f"{' (estimated from the scores)' if worst['estimated'] else ''} ({worst['difference']:+.3f}, "
                f"q = {worst['q_value']:.2g}).")

    def to_json(self) -> dict:
        worst = self.worst
        return {"by": self.by, "period": self.period, "metric": self.metric, "reference_periods": self.reference,
                "q": self.q, "periods": self.periods, "calibration": self.calibration,
                "worst_period": None if worst is None else worst["period"],
                "worst_period_difference": None if worst is None else worst["difference"],
                "worst_period_difference_ci": None if worst is None else worst["difference_ci"],
                "notes": list(self.notes)}


class OverTimeAnalysis(Analysis):
    name = "over_time"
    title = "Performance over time"
    lead = "Which period the model got worse in, judged against the first periods."
    Settings = OverTimeSettings

    def offers_gate(self, name: str) -> bool:
        return name == "worst_period_difference"

    def check(self, data, settings: OverTimeSettings) -> None:
        if settings.by is None:
            return
        if settings.by in data.dates:
            return
        if settings.by not in data.columns:
            raise UserError(f"analyses.over_time.by={settings.by!r} is not a column of the test data; valid: "
                            f"{list(data.dates) + list(data.columns)}")
        if settings.period is None or data.warehouse is not None:
            return
        values = data.X_test[settings.by]
        stamps = dates_of(data.X_test, data.dates, settings.by) if not pd.api.types.is_numeric_dtype(values) else None
        bad = values.notna().to_numpy() & (stamps.isna().to_numpy() if stamps is not None else True)
        if bad.any():
            raise UserError(f"analyses.over_time.period={settings.period!r} needs dates in {settings.by!r}, and "
                            f"{int(bad.sum())} of its values are not (e.g. {values[bad].astype(str).iloc[0]!r}); use "
                            "dates such as 2026-11-01, or analyses.over_time.period=null to use its values as periods")

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if settings.by is None:
            return "No time column: set analyses.over_time.by=COLUMN (a date column, or a column of periods)."
        if ctx.data.warehouse is not None:
            return "Over time on aggregated input is not built yet: use data.engine=pandas."
        return None

    def compute(self, ctx, settings: OverTimeSettings) -> OverTimeResult:
        data, pred, enc, task = ctx.data, ctx.predictions, ctx.encoded, ctx.data.task
        keys = period_keys(data.X_test, data.dates, settings).to_numpy()
        names = metrics.TASKS[task].sliced
        main = names[0]
        level = interval_level(ctx.cfg.bootstrap)
        z = z_for(level or 0.95)
        waiting = data.unlabeled if task != "regression" and pred.probabilities else None
        waiting_keys = period_keys(waiting.X, data.dates, settings).to_numpy() if waiting is not None else keys[:0]
        order = sorted(set(pd.Series(keys).dropna()) | set(pd.Series(waiting_keys).dropna()))
        result = OverTimeResult(settings.by, settings.period if settings.period is not None else None, main, [],
                                settings.reference, settings.q, level)
        if len(order) <= settings.reference:
            result.notes.append(f"Only {len(order)} period(s): none to judge after the first {settings.reference}.")
        error = per_row_error(task, pred, enc)
        labelled_conf = None if enc is None or enc.proba is None or not pred.probabilities else \
            confidence(list(range(enc.proba.shape[1])), enc.proba, enc.pred_idx)
        waiting_conf = None
        if waiting is not None:
            proba, y_pred = logged_labels(data, waiting.scores, waiting.y_pred, np.asarray(pred.y_true).dtype)
            waiting_conf = confidence(list(data.labels), proba, y_pred)
        ref_rows = np.flatnonzero(np.isin(keys, order[: settings.reference]))
        lower_better = metrics.lower_is_better(main)
        for k, name in enumerate(order):
            idx = np.flatnonzero(keys == name)
            later = np.flatnonzero(waiting_keys == name)
            entry = {"period": str(name), "n": int(len(idx)), "n_unlabeled": int(len(later)),
                     "metrics": {m: None for m in names}, "metrics_ci": {main: None}, "reference": k < settings.reference,
                     "small": False, "difference": None, "difference_ci": None, "p_value": None, "q_value": None,
                     "flagged": False, "drift_share": None, "estimated": False, "estimate": None}
            entry["estimated"] = len(idx) < settings.min_rows and len(later) > 0 and not entry["reference"]
            if entry["estimated"]:
                conf = waiting_conf[later]
                value, ci, variance = expected_accuracy(conf, z)
                entry["estimate"] = {"accuracy": value, "ci": ci, "rows": int(len(later))}
                entry["metrics"][main], entry["metrics_ci"][main] = value, ci
                entry["small"] = len(later) < settings.min_rows
                if not entry["small"] and len(ref_rows) >= 2:
                    entry["difference"], entry["difference_ci"], entry["p_value"] = estimated_worse_test(
                        value, variance, error[ref_rows], z)
            else:
                entry["small"] = len(idx) < settings.min_rows
                if len(idx):
                    point = metrics.point_metrics(data, pred, enc, rows=idx)
                    entry["metrics"] = {m: point.values.get(m) for m in names}
                if not entry["small"]:
                    iv = metrics.intervals(task, pred, enc, ctx.cfg.bootstrap, ctx.seed + k, rows=idx, scores=False,
                                           stratified=False)
                    entry["metrics_ci"][main] = None if iv is None else iv.interval(main)
                if labelled_conf is not None and len(idx):
                    value, ci, _ = expected_accuracy(labelled_conf[idx], z)
                    entry["estimate"] = {"accuracy": value, "ci": ci, "rows": int(len(idx))}
                if not entry["reference"] and not entry["small"] and len(ref_rows) >= 2:
                    entry["difference"], entry["difference_ci"], entry["p_value"] = worse_test(
                        error[idx], error[ref_rows], lower_better, z)
            result.periods.append(entry)
        by_parts = data.dates.get(settings.by, [settings.by])
        columns = [c for c in data.X_test.columns if c not in by_parts]
        if columns and len(ref_rows) >= 2:
            for name, entry in zip(order, result.periods):
                if entry["difference"] is None:
                    continue
                current = waiting.X.iloc[np.flatnonzero(waiting_keys == name)] if entry["estimated"] else \
                    data.X_test.iloc[np.flatnonzero(keys == name)]
                entry["drift_share"] = drift_share(data.X_test.iloc[ref_rows], current, columns, settings.q)
        judged = [p for p in result.periods if p["p_value"] is not None]
        for p, q in zip(judged, benjamini_hochberg([p["p_value"] for p in judged])):
            p["q_value"] = q
            p["flagged"] = bool(q <= settings.q)
        unjudged = sum(p["small"] and not p["reference"] for p in result.periods)
        if unjudged:
            result.notes.append(f"{unjudged} period(s) with fewer than {settings.min_rows} rows are shown, not judged "
                                "(analyses.over_time.min_rows).")
        if labelled_conf is not None and len(labelled_conf) >= 2:
            gap, gap_ci = calibration_gap(error == 0, labelled_conf, z)
            result.calibration = {"gap": gap, "gap_ci": gap_ci, "rows": int(len(labelled_conf))}
        return result

    def items(self, r: OverTimeResult) -> list:
        main = r.metric
        level = f" [{r.level:.0%} CI]" if r.level else ""
        scored = any(p["estimate"] for p in r.periods)

        rows = [[p["period"] + (" (no labels)" if p["estimated"] else ""), p["n"] or "",
                 Estimate(p["metrics"][main], p["metrics_ci"][main], "estimated" if p["estimated"] else ""),
                 *([p["estimate"]["accuracy"] if p["estimate"] else ""] if scored else []),
                 "reference" if p["reference"] else "" if p["difference"] is None else
                 Estimate(p["difference"], p["difference_ci"] if r.level else None),
                 "" if p["drift_share"] is None else f"{p['drift_share']:.0%}", p["q_value"],
                 "worse" if p["flagged"] else ("too few rows" if p["small"] else "")]
                for p in r.periods]
        x = list(range(len(r.periods)))
        measured = [None if p["estimated"] else p["metrics"][main] for p in r.periods]
        series = [Series(x, measured, metrics.label(main), marker=True,
                         errors=[None if p["estimated"] else p["metrics_ci"][main] for p in r.periods]
                         if r.level else None)]
        if any(p["estimated"] for p in r.periods):
            series.append(Series(x, [p["metrics"][main] if p["estimated"] else None for p in r.periods],
                                 "estimated (no labels yet)", "dashed", marker=True,
                                 errors=[p["metrics_ci"][main] if p["estimated"] else None for p in r.periods]
                                 if r.level else None))
        flagged = [Marker(i, p["metrics"][main], "clearly worse") for i, p in enumerate(r.periods) if p["flagged"]]
        items = [
            Note(r.headline(), "warning" if r.flagged else "info"),
            Figure(Lines(series, f"{metrics.label(main)} by {r.period or r.by}", r.by, metrics.label(main),
                         markers=flagged, xticklabels=[p["period"] for p in r.periods]),
                   caption=f"Each period's {metrics.label(main)}" + (f" with its {r.level:.0%} interval"
                                                                     if r.level else "")
                           + "; periods without labels estimated from the scores (marked apart); flagged periods "
                             "marked."),
            Table(["Period", "Rows", f"{metrics.label(main)}{level}",
                   *(["From the scores"] if scored else []), f"Against the reference{level}",
                   "Drifted", "q", "Flag"],
                  rows, caption=f"Reference: the first {r.reference} period(s). Against the reference: the period's "
                                f"{metrics.label(main)} minus the reference's, with its two-sample interval "
                                "(Wald for accuracy, Welch for the mean absolute error; the worst period's is the gate "
                                "worst_period_difference, chosen as the worst, not adjusted). A later period is "
                                "clearly worse when a one-sided two-sample test of the per-row "
                                + ("error (z test of two proportions)" if main == "accuracy" else
                                   "absolute error (Welch's t test)")
                                + f" gives q ≤ {r.q:g}, Benjamini-Hochberg over the judged periods (flag: worse). "
                                + ("From the scores: the mean probability of the predicted label (CBPE: "
                                   "valid for calibrated scores); beside measured values it shows how well the "
                                   "estimate tracks; for a period without labels it is the estimate, with its interval "
                                   "for the accuracy the rows will show once labelled (in metrics.json for every "
                                   "period). "
                                   if scored else "")
                                + "Drifted: the share of the other columns whose distribution differs from "
                                  "the reference periods' (the drift section's tests, q ≤ the same level over the "
                                  "columns). The other metrics per period are in metrics.json."),
        ]
        words = r.calibration_words()
        if words:
            items.append(Note(words, "warning" if words.startswith("The scores are not") else "info"))
        return items + [Note(n) for n in r.notes]


def period_keys(frame: pd.DataFrame, dates: dict, settings: OverTimeSettings) -> pd.Series:
    """Each row's period: a date's day (YYYY-MM-DD), ISO week (YYYY-Www) or month (YYYY-MM), or the column's values
    as they are (period null). The date is a date column's parts, or a column of dates as text (a partition key such
    as `date=2026-11-01` folders)."""
    if settings.period is None:
        return frame[settings.by].astype("string").reset_index(drop=True)
    stamps = dates_of(frame, dates, settings.by)
    if settings.period == "month":
        keys = stamps.dt.strftime("%Y-%m")
    elif settings.period == "week":
        iso = stamps.dt.isocalendar()
        keys = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    else:
        keys = stamps.dt.strftime("%Y-%m-%d")
    return keys.where(stamps.notna()).reset_index(drop=True)


def dates_of(frame: pd.DataFrame, dates: dict, by: str) -> pd.Series:
    """A date column's values as timestamps (NaT where missing or not a date)."""
    if by in dates:
        parts = {p.rsplit(".", 1)[1]: frame[p] for p in dates[by]}
        return pd.to_datetime(pd.DataFrame({"year": parts["year"], "month": parts["month"], "day": parts["day"]}),
                              errors="coerce").reset_index(drop=True)
    return pd.to_datetime(frame[by].astype("string"), errors="coerce", format="ISO8601").reset_index(drop=True)


def drift_share(reference: pd.DataFrame, current: pd.DataFrame, columns: list, q: float) -> float:
    """The share of columns whose distribution in the period differs from the reference periods' (the drift
    section's tests per column, Benjamini-Hochberg over the columns, drifted at q)."""
    tests = [column_drift(c, reference[c], current[c], DriftSettings())["p_value"] for c in columns]
    return float(np.mean([v <= q for v in benjamini_hochberg(tests)]))


def per_row_error(task: str, pred, enc) -> np.ndarray:
    """Each test row's error: 1 when misclassified (accuracy = 1 - its mean), or the absolute error (MAE)."""
    if task == "regression":
        return np.abs(np.asarray(pred.y_pred, float) - np.asarray(pred.y_true, float))
    return (enc.y_idx != enc.pred_idx).astype(float)


def worse_test(period: np.ndarray, reference: np.ndarray, lower_better: bool, z: float) -> tuple:
    """(the period's metric minus the reference's, its interval, one-sided p-value that the period's mean error is
    higher). The error is 1 - accuracy for classification (a pooled z test of two proportions; the interval
    unpooled, Wald) or the absolute error (Welch's t test and interval)."""
    from scipy.stats import norm, t, ttest_ind

    n1, n0 = len(period), len(reference)
    binary = set(np.unique(np.r_[period, reference])) <= {0.0, 1.0}
    if binary:
        p1, p0 = period.mean(), reference.mean()
        pooled = (period.sum() + reference.sum()) / (n1 + n0)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        p = 1.0 if se == 0 else float(norm.sf((p1 - p0) / se))
        half = z * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        difference = float(p0 - p1)  # accuracy difference: the period's minus the reference's
        return difference, [difference - half, difference + half], p
    test = ttest_ind(period, reference, equal_var=False, alternative="greater")
    v1, v0 = period.var(ddof=1) / n1, reference.var(ddof=1) / n0
    df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)) if v1 + v0 > 0 else float(n1 + n0 - 2)
    half = float(t.ppf(norm.cdf(z), df)) * math.sqrt(v1 + v0)
    difference = float(period.mean() - reference.mean()) * (1 if lower_better else -1)
    return difference, [difference - half, difference + half], float(test.pvalue)


def estimated_worse_test(estimate: float, variance: float, reference: np.ndarray, z: float) -> tuple:
    """A period without labels: (its estimated accuracy minus the reference's measured one, the interval, one-sided
    p-value that it is lower), the estimate's variance (calibrated scores) beside the reference's binomial one."""
    from scipy.stats import norm

    p0 = 1 - float(reference.mean())
    se = math.sqrt(variance + p0 * (1 - p0) / len(reference))
    difference = estimate - p0
    p = 1.0 if se == 0 else float(norm.sf(-difference / se))
    return difference, [difference - z * se, difference + z * se], p
