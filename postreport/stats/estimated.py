"""Performance estimated without labels from the model's own probabilities (confidence-based performance estimation,
as NannyML's CBPE): valid when the scores are calibrated, so each row's probability of its predicted label is the
chance that the prediction is right.

The estimate of a set of rows' accuracy is the mean of those probabilities. Its interval is for the accuracy the rows
will show once their labels arrive: given calibrated scores, each row is right with its own probability, so the
realised accuracy varies around the estimate with variance sum p(1 - p) / n² (a Poisson-binomial; normal
approximation). How far the scores are from calibrated is measured where labels exist (`calibration_gap`).
"""
from __future__ import annotations

import math

import numpy as np


def expected_accuracy(confidence: np.ndarray, z: float) -> tuple:
    """(estimate, [low, high], variance): the rows' expected accuracy and the interval of the accuracy they will
    show, given calibrated scores."""
    p = np.asarray(confidence, dtype=float)
    n = len(p)
    estimate = float(p.mean())
    variance = float(np.sum(p * (1 - p))) / (n * n)
    half = z * math.sqrt(variance)
    return estimate, [max(0.0, estimate - half), min(1.0, estimate + half)], variance


def calibration_gap(correct: np.ndarray, confidence: np.ndarray, z: float) -> tuple:
    """(measured minus estimated accuracy on labelled rows, its interval): the mean of (right - probability of the
    predicted label) per row, with a normal interval; 0 inside it means no evidence that the estimates are off."""
    d = np.asarray(correct, dtype=float) - np.asarray(confidence, dtype=float)
    n = len(d)
    gap = float(d.mean())
    half = z * float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else float("inf")
    return gap, [gap - half, gap + half]
