"""Test-set predictions encoded once for the evaluation analyses, and the bootstrap intervals they share."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np

from . import bootstrap


@dataclass
class Encoded:
    labels: list  # the data's labels, then any label only the model predicted
    y_idx: np.ndarray  # index of each true label in `labels`
    pred_idx: np.ndarray
    proba: Optional[np.ndarray]  # (n, len(data labels)), columns in the data's label order; None if unknown
    positive_idx: Optional[int] = None  # binary

    @property
    def y_bin(self) -> np.ndarray:
        return (self.y_idx == self.positive_idx).astype(int)

    @property
    def pred_bin(self) -> np.ndarray:
        return (self.pred_idx == self.positive_idx).astype(int)

    @property
    def score(self) -> Optional[np.ndarray]:
        return None if self.proba is None else self.proba[:, self.positive_idx]

    @cached_property
    def score_order(self) -> Optional[np.ndarray]:
        """Rows in ascending order of the positive class's score: sorted once, shared by every analysis."""
        return None if self.score is None else np.argsort(self.score, kind="mergesort")


def encode(data, pred) -> Encoded:
    """Labels as indices; probabilities reordered to the data's labels (None when the model's classes differ)."""
    extra = sorted(set(np.unique(pred.y_pred).tolist()) - set(data.labels), key=str)
    labels = list(data.labels) + extra
    y_idx, pred_idx = _indices(pred.y_true, labels), _indices(pred.y_pred, labels)
    proba = None
    if pred.proba is not None and set(pred.classes) >= set(data.labels):
        proba = pred.proba[:, [pred.classes.index(label) for label in data.labels]]
    positive = labels.index(data.positive_label) if data.task == "binary" else None
    return Encoded(labels, y_idx, pred_idx, proba, positive)


def _indices(values: np.ndarray, labels: list) -> np.ndarray:
    """label -> its index in `labels`: vectorised for numbers, a dictionary look-up for anything else."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        keys = np.asarray(labels)
        order = np.argsort(keys, kind="stable")
        return order[np.searchsorted(keys, values, sorter=order)]
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index[v] for v in values), dtype=int, count=len(values))


def test_intervals(ctx) -> Optional[bootstrap.Intervals]:
    """Bootstrap intervals of every scalar metric on the whole test set, computed once per run."""
    return ctx.shared("bootstrap:test", lambda: compute_intervals(ctx.data.task, ctx.pred, ctx.encoded,
                                                                   ctx.cfg.bootstrap, ctx.seed))


def compute_intervals(task, pred, enc: Optional[Encoded], settings, seed, rows=None):
    """Intervals on the test set, or on a subset of its rows."""
    if settings.resamples <= 0:
        return None
    seed = seed if settings.seed is None else settings.seed
    pick = slice(None) if rows is None else rows
    if task == "regression":
        return bootstrap.regression(pred.y_true[pick], pred.y_pred[pick], settings, seed)
    if len(np.unique(enc.y_idx[pick])) < 2 and task == "binary":
        return None
    if task == "binary":
        if rows is None:
            return bootstrap.binary(enc.y_bin, enc.pred_bin, enc.score, settings, seed, enc.score_order)
        score = None if enc.score is None else enc.score[pick]
        return bootstrap.binary(enc.y_bin[pick], enc.pred_bin[pick], score, settings, seed)
    proba = None if enc.proba is None else enc.proba[pick]
    return bootstrap.multiclass(enc.y_idx[pick], enc.pred_idx[pick], len(enc.labels), proba, settings, seed)


def cap_points(max_points: int, *arrays):
    """At most `max_points` evenly spaced points of a curve, keeping its first and last point."""
    n = len(arrays[0])
    if n <= max_points:
        return [np.asarray(a) for a in arrays]
    keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return [np.asarray(a)[keep] for a in arrays]


def candidate_metrics(ctx, candidate) -> tuple:
    """(values, intervals) of any candidate's test predictions, with the run's bootstrap settings (cached)."""

    def compute():
        from .analyses.metrics import binary_metrics, classification_metrics, regression_metrics

        pred, data = ctx.predictions[candidate.name], ctx.data
        enc = None if data.task == "regression" else encode(data, pred)
        if data.task == "regression":
            result = regression_metrics(pred.y_true, pred.y_pred)
        elif data.task == "binary":
            result = binary_metrics(enc.y_bin, enc.pred_bin, enc.score, data.positive_label, enc.score_order)
        else:
            result = classification_metrics(pred.y_true, pred.y_pred, pred.proba, pred.classes, data.labels,
                                            data.task)
        return result.values, compute_intervals(data.task, pred, enc, ctx.cfg.bootstrap, ctx.seed)

    return ctx.shared(f"metrics:{candidate.name}", compute)
