"""Conformal prediction: intervals (regression) and prediction sets (classification) that cover the truth at a
chosen rate, calibrated on rows the model did not fit (out-of-fold predictions of the training rows), judged on the
test rows: empirical coverage with its interval, width or set size, coverage per slice with gaps flagged.

Why not MAPIE: its estimators refit the model once more per fold; the out-of-fold predictions are already computed
for the thresholds and the recalibration, and split-conformal needs only their quantile (tested for coverage)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from postreport.errors import at_least, strictly_between
from postreport.models.out_of_fold import FOLDS, out_of_fold_outputs
from postreport.report.model import Estimate, Note, Paragraph, Table
from postreport.stats.groups import slice_groups
from postreport.stats.proportions import wilson, z_for
from postreport.analyses.base import Analysis, Need, no_scores


@dataclass
class ConformalSettings:
    level: float = 0.9  # the coverage the intervals / sets aim for
    largest: int = 10  # rows shown with the largest prediction sets

    def __post_init__(self):
        strictly_between("analyses.conformal.level", self.level, 0, 1)
        at_least("analyses.conformal.largest", self.largest, 0)


@dataclass
class ConformalResult:
    task: str
    level: float
    method: str
    calibration_rows: int
    quantile: float
    coverage: float
    coverage_ci: list
    size: float  # mean interval width (regression) or mean set size
    empty: float  # share of empty sets (classification)
    slices: list  # [{column, value, n, coverage, coverage_ci, gap}]
    largest: list  # rows with the largest sets: [key, true, set]
    notes: list = field(default_factory=list)

    def headline(self) -> str:
        what = "prediction intervals" if self.task == "regression" else "prediction sets"
        size = (f"mean width {self.size:.4g}" if self.task == "regression" else f"mean set size {self.size:.2f}")
        gaps = [s for s in self.slices if s["gap"]]
        text = (f"Conformal {what} at {self.level:.0%}: test coverage {self.coverage:.1%} "
                f"[{self.coverage_ci[0]:.1%}, {self.coverage_ci[1]:.1%}], {size}.")
        if gaps:
            named = ", ".join(f"{s['column']} {s['value']}" for s in gaps[:3])
            text += f" Under-covered slices: {named}."
        return text

    def to_json(self) -> dict:
        return {"level": self.level, "method": self.method, "calibration_rows": self.calibration_rows,
                "quantile": self.quantile, "coverage": self.coverage, "coverage_ci": self.coverage_ci,
                "mean_width" if self.task == "regression" else "mean_set_size": self.size,
                "empty_set_share": self.empty if self.task != "regression" else None, "slices": self.slices}


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level) / n empirical quantile of the calibration scores (infinite when n is too small):
    with exchangeable rows, a new row's score is at most this with probability >= level."""
    n = len(scores)
    rank = math.ceil((n + 1) * level)
    if rank > n:
        return math.inf
    return float(np.sort(scores)[rank - 1])


def nonconformity(task: str, y_index_or_value, output: np.ndarray) -> np.ndarray:
    """Regression: |y - prediction|. Classification: 1 - the probability given to the true class."""
    if task == "regression":
        return np.abs(np.asarray(y_index_or_value, dtype=float) - output)
    return 1 - output[np.arange(len(output)), y_index_or_value]


def slice_coverage(column: str, value, covered: np.ndarray, level: float, z: float, min_size: int) -> dict:
    """A slice's coverage with its Wilson interval; under-covered (`gap`) when the whole interval lies below the
    target level."""
    ci = wilson(covered.sum(), len(covered), z)
    return {"column": column, "value": str(value), "n": int(len(covered)), "coverage": float(covered.mean()),
            "coverage_ci": ci, "gap": bool(ci[1] < level), "small": bool(len(covered) < min_size)}


class ConformalAnalysis(Analysis):
    name = "conformal"
    title = "Conformal prediction"
    lead = "Intervals and prediction sets that contain the truth at a chosen rate, checked on the test rows."
    Settings = ConformalSettings

    needs = (Need(lambda ctx: ctx.data.task == "regression" or (ctx.encoded.proba is not None
                                                                 and ctx.predictions.probabilities),
                  lambda ctx: no_scores(ctx, "Prediction sets need class probabilities; this model gives none.")),)
    uses = frozenset({"out_of_fold"})

    def compute(self, ctx, settings: ConformalSettings) -> ConformalResult:
        data, task, pred = ctx.data, ctx.data.task, ctx.predictions
        labels = list(data.labels)
        if task == "regression":
            truth, test_out = pred.y_true.astype(float), pred.y_pred.astype(float)
        else:
            truth, test_out = ctx.encoded.y_idx, ctx.encoded.proba
        test_scores = nonconformity(task, truth, test_out)  # true labels are the data's labels: columns exist
        oof = out_of_fold_outputs(ctx)
        notes = []
        if oof is not None:
            y_cal, out_cal, rows = oof
            cal_truth = y_cal if task == "regression" else np.asarray([labels.index(v) for v in y_cal])
            q = conformal_quantile(nonconformity(task, cal_truth, out_cal), settings.level)
            quantiles = np.full(len(truth), q)
            method = (f"split-conformal with the configured model's out-of-fold predictions of {rows:,} training rows "
                      f"({FOLDS}-fold) as calibration scores, applied to the fitted model's test predictions")
            cal_rows = rows
        else:
            rng = np.random.default_rng(ctx.seed)
            order = rng.permutation(len(truth))
            halves = (np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2:]))
            quantiles = np.empty(len(truth))
            for a, b in (halves, halves[::-1]):
                quantiles[b] = conformal_quantile(test_scores[a], settings.level)
            q = float(np.mean(quantiles))
            method = ("cross-conformal on the test rows (no training data): each half calibrated on the other half's "
                      "scores")
            cal_rows = len(truth) // 2
        covered = test_scores <= quantiles
        if task == "regression":
            size_per_row = 2 * quantiles
            empty = 0.0
        else:
            sets = test_out >= 1 - quantiles[:, None]
            size_per_row = sets.sum(axis=1).astype(float)
            empty = float(np.mean(size_per_row == 0))
        z = z_for(ctx.cfg.bootstrap.level)
        coverage = float(covered.mean())
        result = ConformalResult(task, settings.level, method, cal_rows, q, coverage,
                                 wilson(covered.sum(), len(covered), z), float(size_per_row.mean()), empty, [], [],
                                 notes)
        if math.isinf(q):
            notes.append(f"Too few calibration rows for {settings.level:.0%} coverage: the intervals are unbounded.")
        result.slices = self._slices(ctx, covered, settings.level, z)
        if task != "regression" and settings.largest:
            biggest = np.argsort(-size_per_row, kind="mergesort")[: settings.largest]
            result.largest = [[str(data.test_keys[i]), str(labels[truth[i]]),
                               ", ".join(str(labels[k]) for k in np.flatnonzero(sets[i])) or "(empty)"]
                              for i in biggest if size_per_row[i] > 1]
        return result

    @staticmethod
    def _slices(ctx, covered: np.ndarray, level: float, z: float) -> list:
        if ctx.data.X_test.shape[1] == 0 or ctx.data.image_shape:  # no columns, or pixels (not slices)
            return []
        settings = ctx.settings_of("slices")  # sliced as the slices section slices
        out = []
        for column, value, idx in slice_groups(ctx.data, settings.by, settings.bins, settings.max_levels):
            out.append(slice_coverage(column, value, covered[idx], level, z, settings.min_size))
        return out

    def items(self, r: ConformalResult) -> list:
        what = "interval" if r.task == "regression" else "set"
        size = "Mean width" if r.task == "regression" else "Mean set size"
        rows = [["Target coverage", f"{r.level:.0%}"],
                ["Test coverage", Estimate(r.coverage, r.coverage_ci)],
                [size, r.size],
                ["Conformal quantile of the scores", r.quantile],
                ["Calibration rows", r.calibration_rows]]
        if r.task != "regression":
            rows.append(["Empty sets", f"{r.empty:.1%}"])
        items: list = [Table(["", "Value"], rows, caption=f"Method: {r.method}. Score: "
                             + ("|true − predicted|" if r.task == "regression" else "1 − probability of the true class")
                             + f"; each test row's prediction {what} holds every "
                             + ("value" if r.task == "regression" else "class") + " whose score is within the "
                             "quantile. Coverage interval: Wilson.")]
        if r.slices:
            items.append(Table(["Column", "Slice", "Rows", "Coverage [CI]", "Flag"],
                               [[s["column"], s["value"], s["n"], Estimate(s["coverage"], s["coverage_ci"]),
                                 "under-covered" if s["gap"] else ("too small to trust" if s["small"] else "")]
                                for s in r.slices],
                               caption=f"Coverage per slice (the slices section's columns); flagged when the whole "
                                       f"interval lies below {r.level:.0%}: conformal coverage holds on average, not "
                                       "in every group.", highlight_rows=[i for i, s in enumerate(r.slices) if s["gap"]]))
        if r.largest:
            items.append(Table(["Key", "True class", "Prediction set"], r.largest,
                               caption="The rows with the largest prediction sets: where the model is least sure."))
        items.append(Paragraph(r.headline()))
        items += [Note(n, "warning") for n in r.notes]
        return items
