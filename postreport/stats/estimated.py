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


def expected_accuracy(conf: float, conf2: float, n: int, z: float) -> tuple:
    """(estimate, [low, high], variance) from the rows' sums of p and p² (p: each row's probability of its predicted
    label): the expected accuracy and the interval of the accuracy the rows will show, given calibrated scores."""
    estimate = conf / n
    variance = max(conf - conf2, 0.0) / (n * n)
    half = z * math.sqrt(variance)
    return estimate, [max(0.0, estimate - half), min(1.0, estimate + half)], variance


def calibration_gap(right: float, right_conf: float, conf: float, conf2: float, n: int, z: float) -> tuple:
    """(measured minus estimated accuracy on labelled rows, its interval), from sums over the rows of r (1: right),
    r·p, p and p²: the mean of r - p with a normal interval; 0 inside it means no evidence that the estimates are
    off."""
    gap = (right - conf) / n
    squares = right - 2 * right_conf + conf2  # sum of (r - p)², r² = r
    variance = max(squares - n * gap * gap, 0.0) / (n - 1) if n > 1 else float("inf")
    half = z * math.sqrt(variance / n)
    return gap, [gap - half, gap + half]
