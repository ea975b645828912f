"""Fairness: the model's metrics per group of one or more sensitive columns (and their intersections), with
bootstrap intervals; demographic parity, equalized odds and equal opportunity differences (and the parity ratio,
with the four-fifths rule), each with a conservative simultaneous interval (stats/extremes.py); groups too small to
judge are flagged, not judged."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import pandas as pd

from postreport.stats.bootstrap import Cells, interval_level, intervals_on, resample_counts
from postreport.errors import at_least
from postreport.report.figures import Bars, Panels
from postreport.run.gates import FAIRNESS_NAMES
from postreport.report.model import Estimate, Figure, Note, Paragraph, Table
from postreport.stats.sampling import sample_rows
from postreport.stats.extremes import mean_bounds, proportion_bounds, range_bounds, ratio_bounds, sidak_z
from postreport.stats.groups import slice_labels
from postreport.stats.intervals import percentile_interval
from postreport.analyses.base import Analysis

MISSING = "(missing)"
BINARY_METRICS = ("selection_rate", "tpr", "fpr", "precision", "accuracy", "base_rate", "calibration_gap")
LABELS = {"selection_rate": "Selection rate", "tpr": "TPR (recall)", "fpr": "FPR", "precision": "Precision",
          "accuracy": "Accuracy", "base_rate": "Base rate", "calibration_gap": "Calibration gap",
          "mean_error": "Mean error", "mae": "MAE"}
SUMMARY = {"demographic_parity_difference": "Demographic parity difference (selection rates, max − min)",
           "demographic_parity_ratio": "Demographic parity ratio (selection rates, min / max)",
           "equalized_odds_difference": "Equalized odds difference (the larger of the TPR and FPR gaps)",
           "equal_opportunity_difference": "Equal opportunity difference (TPR, max − min)",
           "accuracy_difference": "Accuracy difference (max − min)", "mae_difference": "MAE difference (max − min)"}


SUMMARY_CI = ("The summaries' intervals hold every judged group's rate at once (Wilson intervals, or normal ones for "
              "MAE, at Šidák's level), so they are conservative (wider than their level needs); a bootstrap of a "
              "max − min over groups is biased upward and can exclude its own estimate.")


@dataclass
class FairnessSettings:
    sensitive: Optional[List[str]] = None  # columns that define the groups; null: the section is skipped
    min_size: int = 30  # groups with fewer test rows are flagged as too small to judge (and left out of summaries)
    intersections: bool = True  # with two or more columns, also every combination of their values
    max_levels: int = 12  # values per column kept; the rarest are pooled as "(other)"

    def __post_init__(self):
        at_least("analyses.fairness.min_size", self.min_size, 1)
        at_least("analyses.fairness.max_levels", self.max_levels, 1)


@dataclass
class Group:
    column: str  # a column name, or "a × b" for an intersection
    value: str
    n: int
    values: dict  # metric -> value
    ci: dict  # metric -> [low, high]
    small: bool


@dataclass
class FairnessResult:
    task: str
    metrics: tuple
    groups: list
    summary: dict  # name -> {"value": ..., "ci": [...]} per column (or intersection): {column: {name: ...}}
    min_size: int
    level: Optional[float]
    four_fifths: dict  # column -> True (the ratio's interval >= 0.8), False (below), None (cannot tell / no ratio)
    notes: list = field(default_factory=list)

    def gate_values(self) -> dict:
        return self.worst()

    def worst(self) -> dict:
        """Each summary's worst value over the sensitive columns (and their intersection), with that column's
        interval: the largest difference, the smallest ratio (what a gate judges)."""
        out = {}
        for name in dict.fromkeys(k for s in self.summary.values() for k in s):
            found = [s[name] for s in self.summary.values() if s.get(name) and s[name]["value"] is not None]
            if found:
                pick = min if name.endswith("_ratio") else max
                best = pick(found, key=lambda v: v["value"])
                out[name] = (best["value"], best["ci"])
        return out

    def headline(self) -> Optional[str]:
        parts = []
        for column, s in self.summary.items():
            main = "equalized_odds_difference" if self.task == "binary" else next(iter(s), None)
            if main and s.get(main) and s[main]["value"] is not None:
                ci = s[main]["ci"]
                parts.append(f"{SUMMARY[main].split(' (')[0].lower()} by {column} {s[main]['value']:.3f}"
                             + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
        return ("Fairness: " + "; ".join(parts) + ".") if parts else None

    def to_json(self) -> dict:
        return {"metrics": list(self.metrics), "min_size": self.min_size, "level": self.level,
                "groups": [{"column": g.column, "value": g.value, "n": g.n, "small": g.small, **g.values,
                            **{f"{k}_ci": v for k, v in g.ci.items()}} for g in self.groups],
                "summary": {c: {k: v["value"] for k, v in s.items()} | {f"{k}_ci": v["ci"] for k, v in s.items()}
                            for c, s in self.summary.items()},
                "four_fifths_rule": self.four_fifths, "summary_ci_method": SUMMARY_CI}


def group_labels(values: pd.Series, max_levels: int) -> np.ndarray:
    """Each row's group: the column's value (the most frequent max_levels, the rest pooled; missing values a group
    of their own), or for a numeric column with more values than that, its quartile."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > max_levels:
        return np.asarray(slice_labels(values, 4, max_levels).astype(str), dtype=object)
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    keep = set(text.value_counts().index[:max_levels])
    return text.where(text.isin(keep), "(other)").to_numpy()


class FairnessAnalysis(Analysis):
    name = "fairness"
    title = "Fairness"
    gate_missing = "no group is large enough"

    def offers_gate(self, name: str) -> bool:
        return name in FAIRNESS_NAMES
    lead = "Whether the model treats groups alike: its rates per group of the sensitive columns, with intervals."
    Settings = FairnessSettings

    def check(self, data, settings: FairnessSettings) -> None:
        if settings.sensitive:  # as the file names them: a date column by its parts
            settings.sensitive = data.file_columns(settings.sensitive, "analyses.fairness.sensitive")

    def skip_reason(self, ctx, settings: FairnessSettings) -> Optional[str]:
        if not settings.sensitive:
            return "No sensitive columns: set analyses.fairness.sensitive=[column, ...] to compare groups."
        return None

    def compute(self, ctx, settings: FairnessSettings) -> FairnessResult:
        data, task = ctx.data, ctx.data.task
        columns = list(settings.sensitive)
        keys = {c: group_labels(data.X_test[c].reset_index(drop=True), settings.max_levels) for c in columns}
        partitions = [(c, keys[c]) for c in columns]
        if settings.intersections and len(columns) > 1:
            joined = np.asarray([" & ".join(parts) for parts in zip(*(keys[c] for c in columns))], dtype=object)
            partitions.append((" × ".join(columns), joined))
        boot = ctx.cfg.bootstrap
        seed = ctx.bootstrap_seed
        result = FairnessResult(task, BINARY_METRICS if task == "binary" else ("accuracy",) if task == "multiclass"
                                else ("mean_error", "mae"), [], {}, settings.min_size,
                                interval_level(boot), {})
        for column, labels in partitions:
            groups, summary, parity = group_metrics(task, ctx, labels, settings.min_size, boot, seed)
            for g in groups:
                g.column = column
            result.groups += groups
            result.summary[column] = summary
            result.four_fifths[column] = parity
        if task == "binary":
            result.notes.append(f"Rates are for the positive class {data.positive_label!r}: selection rate = share "
                                "predicted positive; TPR and FPR among the truly positive and negative rows; "
                                "calibration gap = mean predicted probability − base rate.")
        return result

    def items(self, r: FairnessResult) -> list:
        level = f" [{r.level:.0%} CI]" if r.level else ""
        items: list = []
        for column, s in r.summary.items():
            rows = [[SUMMARY[k], Estimate(v["value"], v["ci"])] for k, v in s.items()]
            text = f"Summary by {column}"
            rule = r.four_fifths.get(column)
            if rule is not None:
                text += ("; the four-fifths rule holds (the parity ratio's interval is at or above 0.8)" if rule
                         else "; the four-fifths rule FAILS (the parity ratio's interval is below 0.8)")
            elif s.get("demographic_parity_ratio", {}).get("value") is not None:
                text += "; the four-fifths rule: cannot tell (the parity ratio's interval straddles 0.8)"
            items.append(Table(["Measure", f"Value{level}"], rows, caption=text + ". Groups too small to judge are "
                               "left out of the summaries."))
        if r.summary and r.level:
            items.append(Note(SUMMARY_CI))
        for part, names in enumerate((r.metrics[:4], r.metrics[4:])):  # at most four measures a table: page width
            if not names:
                continue
            columns = ["Column", "Group", "Rows"] + [LABELS[m] + level for m in names] + ["Flag"]
            rows = [[g.column, g.value, g.n] + [Estimate(g.values.get(m), g.ci.get(m)) for m in names]
                    + ["too small to judge" if g.small else ""] for g in r.groups]
            items.append(Table(columns, rows, caption=("Per group" if part == 0 else "Per group, continued")
                               + f". Groups under {r.min_size} rows are flagged and not judged."))
        shown = [m for m in (("selection_rate", "tpr", "fpr") if r.task == "binary" else r.metrics)]
        panels = []
        for metric in shown:
            judged = [g for g in r.groups if not g.small and g.values.get(metric) is not None]
            if judged:
                panels.append(Bars([f"{g.column}: {g.value}" for g in judged], [g.values[metric] for g in judged],
                                   LABELS[metric], LABELS[metric], errors=[g.ci.get(metric) for g in judged],
                                   points=True))
        if panels:
            items.append(Figure(Panels(panels, height=min(6.0, 1.2 + 0.3 * len(r.groups)), columns=len(panels)),
                                caption="Per-group rates with their intervals (groups large enough to judge)."))
        small = [g for g in r.groups if g.small]
        if small:
            items.append(Note(f"{len(small)} groups have fewer than {r.min_size} test rows: shown, not judged.",
                              "warning"))
        items += [Paragraph(n) for n in r.notes]
        return items


def group_metrics(task: str, ctx, labels: np.ndarray, min_size: int, boot, seed: int) -> tuple:
    """Per-group metrics with intervals from one set of row resamples (cells of rows that share group, label and
    prediction: drawing rows with replacement is drawing counts over them), the summary differences with theirs."""
    values, inverse = np.unique(labels, return_inverse=True)
    G = len(values)
    n_by_group = np.bincount(inverse, minlength=G)
    pred = ctx.predictions
    if task == "regression":
        error = pred.y_pred - pred.y_true
        cells = Cells(stratum=np.zeros(len(error), dtype=int), count=np.ones(len(error), dtype=int), exact=True)
        rows = None
        if len(error) > boot.max_exact_rows:
            rows = sample_rows(len(error), boot.max_exact_rows, seed)
        point = {"mean_error": np.bincount(inverse, error, G) / n_by_group,
                 "mae": np.bincount(inverse, np.abs(error), G) / n_by_group}

        def per_resample(W):
            onehot = np.eye(G)[inverse if rows is None else inverse[rows]]
            e = error if rows is None else error[rows]
            counts = W @ onehot
            with np.errstate(invalid="ignore", divide="ignore"):
                return {"mean_error": (W @ (onehot * e[:, None])) / counts,
                        "mae": (W @ (onehot * np.abs(e)[:, None])) / counts}

        if rows is not None:
            cells = Cells(stratum=np.zeros(len(rows), dtype=int), count=np.ones(len(rows), dtype=int), exact=True)
        summary_of = {"mae_difference": lambda v: _spread(v["mae"])}
        sd = np.sqrt(np.maximum(np.bincount(inverse, error ** 2, G) / n_by_group - point["mae"] ** 2, 0)
                     * n_by_group / np.maximum(n_by_group - 1, 1))  # |error|'s sample sd per group
        spans = {"mae_difference": ("range", [lambda z: mean_bounds(point["mae"], sd, n_by_group, z)])}
    else:
        enc = ctx.encoded
        if task == "binary":
            y, p = enc.y_bin, enc.pred_bin
            score = enc.score if (enc.score is not None and pred.probabilities) else None
        else:
            y, p, score = (enc.y_idx == enc.pred_idx).astype(int), np.ones(len(enc.y_idx), dtype=int), None
        code, which, count = np.unique((inverse * 2 + y) * 2 + p, return_inverse=True, return_counts=True)
        cg, cy, cp = code // 4, (code // 2) % 2, code % 2
        score_sum = np.bincount(which, score, len(code)) if score is not None else None
        cells = Cells(stratum=np.zeros(len(code), dtype=int), count=count, exact=False)
        onehot = np.eye(G)[cg]  # (cells, G)

        def rates(weights):  # weights (B, cells) -> per-group metrics (B, G)
            def total(mask):
                return weights @ (onehot * mask[:, None])
            tp, fp = total(cy * cp), total((1 - cy) * cp)
            fn, tn = total(cy * (1 - cp)), total((1 - cy) * (1 - cp))
            n = tp + fp + fn + tn
            with np.errstate(invalid="ignore", divide="ignore"):
                if task != "binary":  # multiclass: y holds "predicted right" (1) or not (0)
                    return {"accuracy": (tp + fn) / n}
                out = {"selection_rate": (tp + fp) / n, "tpr": tp / (tp + fn), "fpr": fp / (fp + tn),
                       "precision": tp / (tp + fp), "accuracy": (tp + tn) / n, "base_rate": (tp + fn) / n}
                if score_sum is not None:
                    # each cell's mean score held fixed: the counts carry the resampling
                    mean_score = weights @ (onehot * (score_sum / count)[:, None])
                    out["calibration_gap"] = mean_score / n - out["base_rate"]
                return out

        point = {k: v[0] for k, v in rates(count[None, :].astype(float)).items()}

        def per_resample(W):
            return rates(W)

        tp, fp, fn, tn = (np.bincount(cg, weights=count * mask, minlength=G)  # rows per group
                          for mask in (cy * cp, (1 - cy) * cp, cy * (1 - cp), (1 - cy) * (1 - cp)))

        def rate(successes, trials):
            return lambda z: proportion_bounds(successes, trials, z)

        if task == "binary":
            selection, tpr, fpr = rate(tp + fp, n_by_group), rate(tp, tp + fn), rate(fp, fp + tn)
            spans = {"demographic_parity_difference": ("range", [selection]),
                     "demographic_parity_ratio": ("ratio", [selection]),
                     "equalized_odds_difference": ("range", [tpr, fpr]),
                     "equal_opportunity_difference": ("range", [tpr])}
            summary_of = {"demographic_parity_difference": lambda v: _spread(v["selection_rate"]),
                          "demographic_parity_ratio": lambda v: _ratio(v["selection_rate"]),
                          "equalized_odds_difference": lambda v: np.maximum(_spread(v["tpr"]), _spread(v["fpr"])),
                          "equal_opportunity_difference": lambda v: _spread(v["tpr"])}
        else:
            spans = {"accuracy_difference": ("range", [rate(tp, n_by_group)])}  # y: predicted right
            summary_of = {"accuracy_difference": lambda v: _spread(v["accuracy"])}
    judged = n_by_group >= min_size
    samples: dict = {}
    if intervals_on(boot):
        for W in resample_counts(cells, boot.resamples, seed):
            for k, arr in per_resample(W).items():
                samples.setdefault(k, []).append(arr)

    def interval(arr):
        return percentile_interval(arr, boot.level, boot.resamples)

    stacked = {k: np.concatenate(v) for k, v in samples.items()}
    groups = []
    for g in range(G):
        vals = {k: (None if not np.isfinite(v[g]) else float(v[g])) for k, v in point.items()}
        ci = {k: interval(stacked[k][:, g]) for k in stacked} if stacked else {}
        groups.append(Group("", str(values[g]), int(n_by_group[g]), vals, ci, not judged[g]))
    masked_point = {k: np.where(judged, v, np.nan)[None, :] for k, v in point.items()}
    summary = {}
    for k, fn in summary_of.items():
        value = fn(masked_point)[0]
        summary[k] = {"value": None if not np.isfinite(value) else float(value),
                      "ci": summary_interval(*spans[k], judged, boot.level) if intervals_on(boot) else None}
    return groups, summary, four_fifths(summary.get("demographic_parity_ratio"))


def four_fifths(ratio: Optional[dict]) -> Optional[bool]:
    """The four-fifths rule on the parity ratio, judged on its interval when there is one: holds (True) when the
    whole interval is at or above 0.8, fails (False) when it is below; None when the interval straddles 0.8 (the
    data cannot tell) or there is no ratio."""
    if not ratio or ratio["value"] is None:
        return None
    low, high = ratio["ci"] or (ratio["value"], ratio["value"])
    return True if low >= 0.8 else False if high < 0.8 else None


def summary_interval(kind: str, components: list, judged: np.ndarray, level: float) -> Optional[list]:
    """The interval of a summary over the judged groups (stats/extremes.py): each component (a function of z giving
    every group's (low, high)) at Šidák's level for all the groups' intervals at once; a range of several components
    (equalized odds: TPR and FPR) is the larger of their ranges."""
    m = sum(int(np.sum(judged & np.isfinite(c(1.0)[0]))) for c in components)
    if m < 2:
        return None
    z = sidak_z(level, m)
    found = []
    for component in components:
        low, high = component(z)
        low, high = np.where(judged, low, np.nan), np.where(judged, high, np.nan)
        found.append(range_bounds(low, high) if kind == "range" else ratio_bounds(low, high))
    if any(f is None for f in found):
        return None
    return [max(f[0] for f in found), max(f[1] for f in found)]


def _spread(values: np.ndarray) -> np.ndarray:
    """max - min over the groups of each row (NaN where no group has a value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no group to compare
        return np.nanmax(values, axis=1) - np.nanmin(values, axis=1)


def _ratio(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(values, axis=1) / np.nanmax(values, axis=1)
