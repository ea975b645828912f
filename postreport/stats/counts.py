"""Metrics from a class's counts, written once: what the bootstrap, the per-class table, the thresholds, the
comparison's resamples and the periods over time compute from true positives and totals."""
from __future__ import annotations


def f1_from_counts(tp, predicted, actual):
    """F1, the harmonic mean of precision and recall: 2 tp / (predicted + actual), from true positives, predicted
    positives and actual positives (numbers or arrays). Numpy's division: where nothing is predicted or present the
    value is nan, and each caller says what an undefined F1 counts as."""
    return 2 * tp / (predicted + actual)
