"""Performance over time: the test rows (or logged predictions) by period of a date column, each period's headline
metrics with an interval, and a flag where a period is clearly worse than the reference periods (a two-sample test
of the main metric, false discoveries controlled over the periods)."""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import reduce
from typing import Optional

import numpy as np
import pandas as pd

from postreport.stats import metrics
from postreport.stats.bootstrap import interval_level
from postreport.data import histograms
from postreport.stats.encoding import positions
from postreport.errors import UserError, at_least, strictly_between
from postreport.report.figures import Lines, Marker, Series
from postreport.run.predictions import confidence, logged_labels
from postreport.report.model import Estimate, Figure, Note, Table
from postreport.stats import drift as st
from postreport.stats.drift import benjamini_hochberg
from postreport.stats.counts import f1_from_counts
from postreport.stats.estimated import (apply_maps, calibration_gap, expected_accuracy, map_variance,
                                        reference_calibration)
from postreport.stats.proportions import newcombe, wilson, z_for
from postreport.analyses.base import Analysis
from postreport.analyses.drift import SAMPLE_ROWS, DriftSettings, column_drift

PERIODS = ("day", "week", "month")
CALIBRATE = ("auto", "isotonic", "none")


@dataclass
class OverTimeSettings:
    by: Optional[str] = None  # a date column (as the file names it) or any column whose values are the periods
    period: Optional[str] = "day"  # day | week | month for a date column; null: the column's values as they are
    reference: int = 1  # the first this many periods are the reference the later ones are judged against
    q: float = 0.1  # false discovery rate over the judged periods: flagged when clearly worse at q <= this
    min_rows: int = 30  # periods with fewer rows are shown, not judged
    # label-free estimates from scores calibrated on the reference's labelled rows: auto (when isotonic maps lower
    # the reference's cross-validated calibration error, NannyML's rule) | isotonic | none (the scores as they are)
    calibrate: str = "auto"

    def __post_init__(self):
        if self.period is not None and self.period not in PERIODS:
            raise UserError(f"analyses.over_time.period={self.period!r} is not valid; valid: {', '.join(PERIODS)}, "
                            "or null (the column's values as they are)")
        at_least("analyses.over_time.reference", self.reference, 1)
        strictly_between("analyses.over_time.q", self.q, 0, 1)
        at_least("analyses.over_time.min_rows", self.min_rows, 2)
        if self.calibrate not in CALIBRATE:
            raise UserError(f"analyses.over_time.calibrate={self.calibrate!r} is not valid; valid: "
                            f"{', '.join(CALIBRATE)}")


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
    calibrated: bool = False  # the estimates read scores calibrated on the reference (analyses.over_time.calibrate)

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
        rows = "labelled rows after the reference" if self.calibrated else "labelled rows"
        measured = (f"on the {c['rows']:,} {rows}, measured minus estimated accuracy is {c['gap']:+.3f} "
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
                "q": self.q, "periods": self.periods, "calibration": self.calibration, "calibrated": self.calibrated,
                "worst_period": None if worst is None else worst["period"],
                "worst_period_difference": None if worst is None else worst["difference"],
                "worst_period_difference_ci": None if worst is None else worst["difference_ci"],
                "notes": list(self.notes)}


class OverTimeAnalysis(Analysis):
    name = "over_time"
    title = "Performance over time"
    lead = "Which period the model got worse in, judged against the first periods."
    Settings = OverTimeSettings
    aggregated = True  # its own GROUP BY pass where the rows live (engine_cells)

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
        return None

    def compute(self, ctx, settings: OverTimeSettings) -> OverTimeResult:
        """From per-period cells (in memory, or counted where the rows live): every number of a period is a sum over
        its cells, so both paths give the same numbers from the same rows."""
        data, task = ctx.data, ctx.data.task
        wh = data.warehouse
        cells, notes = (engine_cells(ctx, settings) if wh is not None else memory_cells(ctx, settings))
        main = metrics.TASKS[task].sliced[0]
        level = interval_level(ctx.cfg.bootstrap)
        z = z_for(level or 0.95)
        periods = summarise(cells, task, ctx.encoded, data)
        order = sorted(periods)
        result = OverTimeResult(settings.by, settings.period, main, [], settings.reference, settings.q, level,
                                notes=notes)
        first = reference_count(order, periods, settings, result.notes)
        result.reference = first
        scored = task != "regression" and cells["conf"].notna().any()
        if scored and settings.calibrate != "none":
            if wh is not None:
                result.notes.append(f"The estimates read the scores as they are: calibrating them on the reference "
                                    f"(analyses.over_time.calibrate={settings.calibrate}) reads each row's scores, "
                                    f"which data.engine={wh.engine} counts where they live.")
            else:
                maps = calibrated_on(ctx, settings, order[:first], result.notes)
                if maps is not None:
                    cells, _ = memory_cells(ctx, settings, maps)
                    periods = summarise(cells, task, ctx.encoded, data)
                    result.calibrated = True
        if len(order) <= first:
            result.notes.append(f"Only {len(order)} period(s): none to judge after the first {first}.")
        reference = pooled([periods[p] for p in order[:first]])
        if reference["n"] < settings.min_rows:
            result.notes.append(f"The reference holds {reference['n']:,} labelled rows, fewer than "
                                f"analyses.over_time.min_rows={settings.min_rows}: no period is judged against it.")
        lower_better = metrics.lower_is_better(main)
        mapped = map_variance(reference["conf"], reference["conf2"], reference["n"]) if result.calibrated else 0.0
        for k, name in enumerate(order):
            s = periods[name]
            entry = {"period": str(name), "n": s["n"], "n_unlabeled": s.get("waiting", 0),
                     "metrics": {m: s.get(m) for m in metrics.TASKS[task].sliced}, "metrics_ci": {main: None},
                     "reference": k < first, "small": False, "difference": None, "difference_ci": None,
                     "p_value": None, "q_value": None, "flagged": False, "drift_share": None, "estimated": False,
                     "estimate": None}
            entry["estimated"] = bool(scored and s["n"] < settings.min_rows and s["waiting"] > 0
                                      and not entry["reference"])
            judge = not entry["reference"] and reference["n"] >= settings.min_rows
            if entry["estimated"]:
                value, ci, variance = expected_accuracy(s["waiting_conf"], s["waiting_conf2"], s["waiting"], z, mapped)
                entry["estimate"] = {"accuracy": value, "ci": ci, "rows": s["waiting"]}
                entry["metrics"][main], entry["metrics_ci"][main] = value, ci
                entry["small"] = s["waiting"] < settings.min_rows
                if judge and not entry["small"]:
                    entry["difference"], entry["difference_ci"], entry["p_value"] = estimated_worse_test(
                        value, variance, reference, z)
            else:
                entry["small"] = s["n"] < settings.min_rows
                if not entry["small"] and level:
                    entry["metrics_ci"][main] = metric_interval(s, task, z)
                if scored and s["n"]:
                    value, ci, _ = expected_accuracy(s["conf"], s["conf2"], s["n"], z,
                                                     0.0 if entry["reference"] else mapped)
                    entry["estimate"] = {"accuracy": value, "ci": ci, "rows": s["n"]}
                if judge and not entry["small"]:
                    entry["difference"], entry["difference_ci"], entry["p_value"] = worse_test(s, reference,
                                                                                               lower_better, z)
            result.periods.append(entry)
        judged = [p for p in result.periods if p["p_value"] is not None]
        if judged:
            shares = (engine_drift_shares if wh is not None else memory_drift_shares)(
                ctx, settings, order[:first], [p["period"] for p in judged],
                {p["period"]: p["estimated"] for p in judged})
            for p in judged:
                p["drift_share"] = shares.get(p["period"])
        for p, q in zip(judged, benjamini_hochberg([p["p_value"] for p in judged])):
            p["q_value"] = q
            p["flagged"] = bool(q <= settings.q)
        unjudged = sum(p["small"] and not p["reference"] for p in result.periods)
        if unjudged:
            result.notes.append(f"{unjudged} period(s) with fewer than {settings.min_rows} rows are shown, not judged "
                                "(analyses.over_time.min_rows).")
        if scored:  # calibrated on the reference: judged where the maps were not fitted
            labelled = pooled([periods[p] for p in (order[first:] if result.calibrated else order)])
            if labelled["n"] >= 2:
                gap, gap_ci = calibration_gap(labelled["right"], labelled["right_conf"], labelled["conf"],
                                              labelled["conf2"], labelled["n"], z)
                result.calibration = {"gap": gap, "gap_ci": gap_ci, "rows": labelled["n"]}
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
                                "(Newcombe's for accuracy, Welch's for the mean absolute error; the worst period's is "
                                "the gate worst_period_difference, chosen as the worst, not adjusted). A later period "
                                "is clearly worse when a one-sided two-sample test of the per-row "
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


def reference_count(order: list, periods: dict, settings: OverTimeSettings, notes: list) -> int:
    """How many of the first periods make the reference: analyses.over_time.reference, extended by the next ones
    until their labelled rows reach min_rows (a partial first period of 17 rows could judge nothing), keeping one
    period to judge; a note says so."""
    count = settings.reference
    while count < len(order) - 1 and pooled([periods[p] for p in order[:count]])["n"] < settings.min_rows:
        count += 1
    if count > settings.reference:
        notes.append(f"The first {settings.reference} period(s) hold fewer than analyses.over_time.min_rows="
                     f"{settings.min_rows} labelled rows: the reference is the first {count} ({order[0]} to "
                     f"{order[count - 1]}).")
    return count


def row_periods(ctx, settings: OverTimeSettings) -> tuple:
    """(the test rows' periods, the rows-without-labels' periods or None), computed once per run (the cells, the
    calibration and the drift shares read them)."""
    data = ctx.data

    def compute():
        waiting = data.unlabeled
        return (period_keys(data.X_test, data.dates, settings),
                None if waiting is None else period_keys(waiting.X, data.dates, settings))

    return ctx.shared(("over_time periods", settings.by, settings.period), compute)


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


def share_drifted(p_values: list, q: float) -> float:
    """The share of columns drifted at q (Benjamini-Hochberg over the columns)."""
    return float(np.mean([v <= q for v in benjamini_hochberg(p_values)]))


def memory_drift_shares(ctx, settings: OverTimeSettings, reference: list, judged: list, estimated: dict) -> dict:
    """period -> the share of the other columns whose distribution in the period differs from the reference
    periods' (the drift section's tests per column on the rows; a period without labels: its unlabelled rows)."""
    data = ctx.data
    by_parts = data.dates.get(settings.by, [settings.by])
    columns = [c for c in data.X_test.columns if c not in by_parts]
    if not columns:
        return {}
    keys, waiting_keys = (None if k is None else k.to_numpy() for k in row_periods(ctx, settings))
    waiting = data.unlabeled
    ref = data.X_test.iloc[np.flatnonzero(np.isin(keys, reference))]
    out = {}
    for name in judged:
        current = waiting.X.iloc[np.flatnonzero(waiting_keys == name)] if estimated[name] else \
            data.X_test.iloc[np.flatnonzero(keys == name)]
        out[name] = share_drifted([column_drift(c, ref[c], current[c], DriftSettings())["p_value"] for c in columns],
                                  settings.q)
    return out


def engine_drift_shares(ctx, settings: OverTimeSettings, reference: list, judged: list, estimated: dict) -> dict:
    """memory_drift_shares where the rows live: the other columns' counts per period on the reference periods'
    bins (deciles of a seeded sample of their rows, or categories) in one pass, each period's against the reference
    periods' pooled by the chi-squared test."""
    wh = ctx.data.warehouse
    kinds = {c: kind for c, kind in wh.features.items() if c != settings.by}
    if not kinds:
        return {}
    sample = wh.sample("reference sample", list(kinds), SAMPLE_ROWS, ctx.seed,
                       periods=(settings.by, settings.period, reference))
    bins = histograms.bins_from(sample, kinds, DriftSettings().bins)
    table = wh.histograms("histograms per period", bins, kinds,
                          periods=(settings.by, settings.period, list(reference) + list(judged)))
    rows = {g: row for g, row in zip(table["g"], (r for _, r in table.iterrows()))}
    out = {}
    for name in judged:
        if name not in rows:
            continue
        tests = []
        for i, b in enumerate(bins):
            ref = reduce(operator.add, [histograms.counts_of(rows[p], i, b) for p in reference if p in rows])
            cur = histograms.counts_of(rows[name], i, b)
            tests.append(st.chi_squared(ref.counts, cur.counts)[1])
        out[name] = share_drifted(tests, settings.q)
    return out



def calibrated_on(ctx, settings: OverTimeSettings, reference: list, notes: list) -> Optional[list]:
    """Isotonic maps of the scores fitted on the reference periods' labelled rows (analyses.over_time.calibrate),
    or None (the scores as they are); what was decided, in a note."""
    enc = ctx.encoded
    if enc.proba is None or not ctx.predictions.probabilities:
        return None
    keys = row_periods(ctx, settings)[0]
    rows = np.flatnonzero(keys.isin(reference).to_numpy() & (enc.y_idx >= 0))
    if len(np.unique(enc.y_idx[rows])) < 2:
        notes.append("The estimates read the scores as they are: the reference's labelled rows hold one class, "
                     "too few to calibrate on.")
        return None
    maps, words = reference_calibration(enc.proba[rows], enc.y_idx[rows], settings.calibrate, ctx.seed)
    notes.append(words)
    return maps


def memory_cells(ctx, settings: OverTimeSettings, maps: Optional[list] = None) -> tuple:
    """(cells, notes): the rows in memory grouped by (period, true label's index (-1: no label yet), predicted
    label's index) with each group's rows and sums of p and p² (p: the probability of the predicted label, through
    the calibration maps when given), or regression's (period) with the rows and sums of |e| and e²."""
    data, pred, enc = ctx.data, ctx.predictions, ctx.encoded
    keys, waiting_keys = row_periods(ctx, settings)
    notes = _undated(int(keys.isna().sum()), settings)
    if data.task == "regression":
        ae = np.abs(np.asarray(pred.y_pred, float) - np.asarray(pred.y_true, float))
        frame = pd.DataFrame({"period": keys, "n": 1, "ae": ae, "se": ae * ae})
        return frame.groupby("period", sort=True).sum().reset_index(), notes
    conf = np.full(len(keys), np.nan)
    if enc.proba is not None and pred.probabilities:
        proba = enc.proba if maps is None else apply_maps(maps, enc.proba)
        conf = confidence(list(range(proba.shape[1])), proba, enc.pred_idx)
    frames = [pd.DataFrame({"period": keys, "y": enc.y_idx, "pred": enc.pred_idx, "n": 1, "conf": conf,
                            "conf2": conf * conf})]
    waiting = data.unlabeled
    if waiting is not None and pred.probabilities:
        proba, y_pred = logged_labels(data, waiting.scores, waiting.y_pred, np.asarray(pred.y_true).dtype)
        wconf = confidence(list(data.labels), proba if maps is None else apply_maps(maps, proba), y_pred)
        frames.append(pd.DataFrame({"period": waiting_keys, "y": -1,
                                    "pred": known(positions(y_pred, enc.labels)), "n": 1, "conf": wconf,
                                    "conf2": wconf * wconf}))
    frame = pd.concat(frames, ignore_index=True)
    return frame.groupby(["period", "y", "pred"], sort=True).sum(min_count=1).reset_index(), notes


def engine_cells(ctx, settings: OverTimeSettings) -> tuple:
    """memory_cells' cells counted where the rows live (one GROUP BY pass; rows without a label yet included)."""
    data, wh = ctx.data, ctx.data.warehouse
    regression = data.task == "regression"
    cells = wh.period_cells(settings.by, settings.period, regression, bool(ctx.predictions.probabilities))
    if not regression:
        labels = ctx.encoded.labels
        cells["y"] = np.where(cells["y"].isna().to_numpy(), -1, known(positions(cells["y"].to_numpy(), labels)))
        cells["pred"] = known(positions(cells["pred"].to_numpy(), labels))
    undated = int(cells.loc[cells["period"].isna(), "n"].sum())
    order = ["period", "y", "pred"] if "y" in cells else ["period"]
    cells = cells[cells["period"].notna()].sort_values(order, ignore_index=True)
    return cells, _undated(undated, settings)


def known(indices: np.ndarray) -> np.ndarray:
    """Label indices with -2 for a label outside the list (-1 marks a row without a label yet)."""
    return np.where(indices < 0, -2, indices)


def _undated(rows: int, settings: OverTimeSettings) -> list:
    if not rows:
        return []
    what = "no value" if settings.period is None else "no date (or a value that is not a date)"
    return [f"{rows:,} rows have {what} in {settings.by!r} and belong to no period."]


def summarise(cells: pd.DataFrame, task: str, enc, data) -> dict:
    """period -> its sums and metrics: labelled rows n, right, conf, conf2, right_conf, accuracy, f1 (classification)
    or n, ae, se, mae, rmse (regression); rows without a label yet: waiting, waiting_conf, waiting_conf2."""
    out = {}
    for name, part in cells.groupby("period", sort=True):
        if task == "regression":
            n, ae, se = float(part["n"].sum()), float(part["ae"].sum()), float(part["se"].sum())
            out[name] = {"n": int(n), "ae": ae, "se": se, "mae": ae / n, "rmse": math.sqrt(se / n)}
            continue
        labelled, waiting = part[part["y"] >= 0], part[part["y"] < 0]
        y, p, n = labelled["y"].to_numpy(), labelled["pred"].to_numpy(), labelled["n"].to_numpy(float)
        right = y == p
        conf = labelled["conf"].to_numpy(float)
        s = {"n": int(n.sum()), "right": float(n[right].sum()), "conf": float(np.nansum(conf)),
             "conf2": float(np.nansum(labelled["conf2"].to_numpy(float))), "right_conf": float(np.nansum(conf[right])),
             "waiting": int(waiting["n"].sum()), "waiting_conf": float(np.nansum(waiting["conf"].to_numpy(float))),
             "waiting_conf2": float(np.nansum(waiting["conf2"].to_numpy(float)))}
        s["accuracy"] = s["right"] / s["n"] if s["n"] else None
        s["f1"] = period_f1(y, p, n, data, enc) if s["n"] else None
        out[name] = s
    return out


def period_f1(y: np.ndarray, pred: np.ndarray, n: np.ndarray, data, enc) -> float:
    """F1 as the report defines it, from (true, predicted, rows) counts: the positive class's (binary) or the macro
    average over the data's labels (a class never predicted or absent counts 0), as scikit-learn's."""
    classes = [enc.positive_idx] if data.task == "binary" else range(len(data.labels))
    scores = []
    for k in classes:
        tp = n[(y == k) & (pred == k)].sum()
        predicted, actual = n[pred == k].sum(), n[y == k].sum()
        scores.append(f1_from_counts(tp, predicted, actual) if predicted + actual else 0.0)
    return float(np.mean(scores))


def pooled(stats: list) -> dict:
    """Periods' sums added up (the reference periods, or every period)."""
    keys = ("n", "right", "conf", "conf2", "right_conf", "ae", "se")
    return {k: sum(s.get(k, 0) for s in stats) for k in keys}


def metric_interval(s: dict, task: str, z: float) -> list:
    """The period's main metric's interval from its sums: Wilson's for accuracy, Student's t for the mean absolute
    error."""
    from scipy.stats import norm, t

    if task != "regression":
        return wilson(s["right"], s["n"], z)
    n, mean = s["n"], s["ae"] / s["n"]
    sd = math.sqrt(max(s["se"] - n * mean * mean, 0.0) / (n - 1))
    half = float(t.ppf(norm.cdf(z), n - 1)) * sd / math.sqrt(n)
    return [max(0.0, mean - half), mean + half]


def worse_test(period: dict, reference: dict, lower_better: bool, z: float) -> tuple:
    """(the period's metric minus the reference's, its interval, one-sided p-value that the period is worse), from
    the sums: accuracy (n, right) by a pooled z test of two proportions with Newcombe's score interval; the mean
    absolute error (n, ae, se) by Welch's t test and interval."""
    from scipy.stats import norm, t, ttest_ind_from_stats

    n1, n0 = period["n"], reference["n"]
    if "ae" not in period:
        p1, p0 = 1 - period["right"] / n1, 1 - reference["right"] / n0  # error rates
        pooled_rate = (n1 * p1 + n0 * p0) / (n1 + n0)
        se = math.sqrt(pooled_rate * (1 - pooled_rate) * (1 / n1 + 1 / n0))
        p = 1.0 if se == 0 else float(norm.sf((p1 - p0) / se))
        difference = float(p0 - p1)  # accuracy difference: the period's minus the reference's
        return difference, newcombe(period["right"], n1, reference["right"], n0, z), p
    m1, m0 = period["ae"] / n1, reference["ae"] / n0
    v1 = max(period["se"] - n1 * m1 * m1, 0.0) / (n1 - 1)
    v0 = max(reference["se"] - n0 * m0 * m0, 0.0) / (n0 - 1)
    test = ttest_ind_from_stats(m1, math.sqrt(v1), n1, m0, math.sqrt(v0), n0, equal_var=False, alternative="greater")
    a, b = v1 / n1, v0 / n0
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n0 - 1)) if a + b > 0 else float(n1 + n0 - 2)
    half = float(t.ppf(norm.cdf(z), df)) * math.sqrt(a + b)
    difference = float(m1 - m0) * (1 if lower_better else -1)
    return difference, [difference - half, difference + half], float(test.pvalue)


def estimated_worse_test(estimate: float, variance: float, reference: dict, z: float) -> tuple:
    """A period without labels: (its estimated accuracy minus the reference's measured one, the interval, one-sided
    p-value that it is lower), the estimate's variance (calibrated scores) beside the reference's binomial one."""
    from scipy.stats import norm

    p0 = reference["right"] / reference["n"]
    se = math.sqrt(variance + p0 * (1 - p0) / reference["n"])
    difference = estimate - p0
    p = 1.0 if se == 0 else float(norm.sf(-difference / se))
    return difference, [difference - z * se, difference + z * se], p
