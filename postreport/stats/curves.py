"""ROC and precision-recall curves and the confusion matrix in numpy, with scikit-learn's definitions (tested equal
to its roc_curve, precision_recall_curve, auc, average_precision_score and confusion_matrix), so that a report of
logged predictions never imports scikit-learn (about 0.7 s)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from postreport.stats.encoding import positions


def _points(y: np.ndarray, score: np.ndarray, weight: Optional[np.ndarray], ascending=None) -> tuple:
    """(false positives, true positives, thresholds) at each distinct score, highest first (sklearn's
    _binary_clf_curve). ascending: the rows in ascending (stable) score order, when already sorted."""
    y = np.asarray(y) == 1
    score = np.asarray(score, dtype=float)
    order = (np.argsort(score, kind="mergesort") if ascending is None else ascending)[::-1]
    score, y = score[order], y[order]
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)[order]
    distinct = np.flatnonzero(np.diff(score))
    ends = np.r_[distinct, len(y) - 1]
    tps = np.cumsum(y * w)[ends]
    fps = np.cumsum(~y * w)[ends] if weight is not None else 1 + ends - tps
    return fps, tps, score[ends]


def roc_curve(y, score, weight=None, ascending=None) -> tuple:
    """(fpr, tpr, thresholds) as scikit-learn's roc_curve (drop_intermediate=True): collinear points dropped, the
    curve starting at (0, 0) with threshold inf."""
    return _roc(*_points(y, score, weight, ascending))


def precision_recall_curve(y, score, weight=None, ascending=None) -> tuple:
    """(precision, recall, thresholds) as scikit-learn's precision_recall_curve: recall decreasing, ending at
    (precision 1, recall 0)."""
    return _pr(*_points(y, score, weight, ascending))


def roc_and_pr(y, score, weight=None, ascending=None) -> tuple:
    """(roc_curve's result, precision_recall_curve's result) from one pass over the sorted scores."""
    points = _points(y, score, weight, ascending)
    return _roc(*points), _pr(*points)


def _roc(fps, tps, thresholds) -> tuple:
    if len(fps) > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps, thresholds = np.r_[0, fps], np.r_[0, tps], np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(len(fps), np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(len(tps), np.nan)
    return fpr, tpr, thresholds


def _pr(fps, tps, thresholds) -> tuple:
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps, dtype=float), where=predicted != 0)
    recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(tps, dtype=float)
    return np.r_[precision[::-1], 1], np.r_[recall[::-1], 0], thresholds[::-1]


def auc(x, y) -> float:
    """The area under a curve of increasing (or decreasing) x, by trapezoids."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    return -area if len(x) > 1 and x[-1] < x[0] else area


def average_precision(y, score, weight=None, ascending=None, curve=None) -> float:
    """Average precision as scikit-learn's average_precision_score: the sum of precision times each step of
    recall (curve: precision_recall_curve's result when already computed)."""
    precision, recall, _ = curve if curve is not None else precision_recall_curve(y, score, weight, ascending)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def confusion_matrix(y_true, y_pred, labels: list, weight=None) -> np.ndarray:
    """Counts (or weights) of (true, predicted) label pairs, rows true and columns predicted in `labels`' order
    (pairs with a label outside `labels` are left out, as scikit-learn does)."""
    L = len(labels)
    t, p = positions(y_true, labels), positions(y_pred, labels)
    keep = (t >= 0) & (p >= 0)
    w = None if weight is None else np.asarray(weight, dtype=float)[keep]
    counts = np.bincount(t[keep] * L + p[keep], weights=w, minlength=L * L).reshape(L, L)
    return counts if weight is not None else counts.astype(np.int64)

