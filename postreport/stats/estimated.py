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


def expected_accuracy(conf: float, conf2: float, n: int, z: float, mapped: float = 0.0) -> tuple:
    """(estimate, [low, high], variance) from the rows' sums of p and p² (p: each row's probability of its predicted
    label): the expected accuracy and the interval of the accuracy the rows will show, given calibrated scores.
    mapped: the variance the calibration maps add (map_variance), when the scores went through maps fitted on a
    reference."""
    estimate = conf / n
    variance = max(conf - conf2, 0.0) / (n * n) + mapped
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


CALIBRATION_FOLDS = 3  # auto: the reference's rows in this many folds, as NannyML decides whether to calibrate
ECE_BINS = 10


def isotonic_maps(proba, y_idx) -> list:
    """One isotonic map per class column (binary: the positive column's alone is needed; the other is its
    complement), each fitted on whether the row is of that class."""
    from sklearn.isotonic import IsotonicRegression

    return [IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(proba[:, k], (y_idx == k).astype(float))
            for k in range(proba.shape[1])]


def apply_maps(maps: list, proba):
    """Calibrated probabilities: each column through its map (two columns: the second's map, the first its
    complement), rows of more than two renormalised to sum 1 (a row the maps send to all 0 keeps its scores)."""
    if proba.shape[1] == 2:
        positive = maps[1].predict(proba[:, 1])
        return np.column_stack([1 - positive, positive])
    out = np.column_stack([m.predict(proba[:, k]) for k, m in enumerate(maps)])
    sums = out.sum(axis=1, keepdims=True)
    return np.where(sums > 0, out / np.where(sums > 0, sums, 1), proba)


def top_score(proba, y_idx) -> tuple:
    """(score, outcome) the calibration error reads: the positive class's probability (binary) or the top label's,
    and whether it came true."""
    if proba.shape[1] == 2:
        return proba[:, 1], (y_idx == 1).astype(float)
    return proba.max(axis=1), (proba.argmax(axis=1) == y_idx).astype(float)


def top_ece(proba, y_idx) -> float:
    """Expected calibration error of top_score, 10 equal-count bins: the calibration section's formula."""
    from postreport.stats.calibration import bin_edges, reliability

    score, outcome = top_score(proba, y_idx)
    return float(reliability(score, outcome, bin_edges(score, ECE_BINS, "quantile")).ece)


def reference_calibration(proba, y_idx, mode: str, seed: int) -> tuple:
    """(maps or None, words): isotonic maps fitted on the reference's labelled rows. mode "isotonic": always;
    "auto": when the maps' cross-validated calibration error (CALIBRATION_FOLDS folds) is below the raw scores'
    (NannyML's rule) by more than the error calibrated scores show by chance on as many rows: on a small reference
    the raw error is mostly noise, and maps fitted on it would move estimates that were right."""
    from sklearn.model_selection import KFold

    from postreport.stats.calibration import bin_edges, expected_ece_if_calibrated

    raw = top_ece(proba, y_idx)
    if mode == "auto":
        crossed = np.empty_like(proba)
        for train, test in KFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed).split(proba):
            crossed[test] = apply_maps(isotonic_maps(proba[train], y_idx[train]), proba[test])
        calibrated = top_ece(crossed, y_idx)
        score, _ = top_score(proba, y_idx)
        chance = expected_ece_if_calibrated(score, bin_edges(score, ECE_BINS, "quantile"), seed)
        if calibrated >= raw - chance:
            return None, (f"The scores were used as they are: on the reference's {len(y_idx):,} labelled rows their "
                          f"calibration error is {raw:.4f} (calibrated scores show {chance:.4f} by chance on as many "
                          f"rows), and isotonic maps ({CALIBRATION_FOLDS}-fold cross-validated) give {calibrated:.4f} "
                          "(analyses.over_time.calibrate=auto).")
        why = (f"cross-validated, it lowers the reference's calibration error from {raw:.4f} to {calibrated:.4f}, "
               f"more than the {chance:.4f} calibrated scores show by chance (analyses.over_time.calibrate=auto)")
    else:
        why = "analyses.over_time.calibrate=isotonic"
    return isotonic_maps(proba, y_idx), (f"The estimates read the scores calibrated on the reference's "
                                         f"{len(y_idx):,} labelled rows (isotonic, one map per class): {why}.")


def map_variance(conf: float, conf2: float, n: int) -> float:
    """The variance calibration maps fitted on n reference rows add to a later period's estimate (its rows' scores
    spread as the reference's): each map value is a share estimated from the reference rows near its score, and
    the period's estimate averages them, so sum p(1 - p) / n² over the reference's mapped scores."""
    return max(conf - conf2, 0.0) / (n * n) if n else 0.0
