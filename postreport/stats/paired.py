"""Paired statistics for two models on the same rows: differences with bootstrap intervals, DeLong's test for
ROC AUC, the exact McNemar test for accuracy, Holm's adjustment."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from postreport.stats.bootstrap import Cells, intervals_on, resample_counts
from postreport.stats.sampling import sample_rows
from postreport.stats.intervals import percentile_interval
from postreport.stats.ranking import midranks

BETTER, WORSE, UNCLEAR = "better", "worse", "no clear difference"


def mcnemar(right_a: np.ndarray, right_b: np.ndarray) -> tuple:
    """Exact two-sided McNemar test on paired correctness: (b, c, p) with b = only A right, c = only B right."""
    from scipy.special import bdtr  # scipy.stats would cost seconds to import; its binomtest gives the same p

    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    p = 1.0 if b + c == 0 else float(min(1.0, 2 * bdtr(min(b, c), b + c, 0.5)))
    return b, c, p


def holm(pvalues: list) -> list:
    """Holm-Bonferroni adjusted p-values (None stays None)."""
    indexed = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    m = len(indexed)
    adjusted: list = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def delong(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray) -> Optional[dict]:
    """DeLong's test of two correlated ROC AUCs on the same rows (the fast midrank form of Sun & Xu, 2014).
    y: 0/1. Returns {auc_a, auc_b, diff, se, z, p} or None when a class is missing."""
    from scipy.special import ndtr

    y = np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return None
    aucs, v01, v10 = [], [], []
    for score in (score_a, score_b):
        score = np.asarray(score, dtype=float)
        pos, neg = score[y], score[~y]
        tz = midranks(np.concatenate([pos, neg]))
        tx, ty = midranks(pos), midranks(neg)
        aucs.append((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
        v01.append((tz[:m] - tx) / n)  # each positive's share of negatives below it
        v10.append(1 - (tz[m:] - ty) / m)  # each negative's share of positives above it
    sx = np.cov(np.vstack(v01)) if m > 1 else np.zeros((2, 2))
    sy = np.cov(np.vstack(v10)) if n > 1 else np.zeros((2, 2))
    s = sx / m + sy / n
    var = float(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    diff = float(aucs[0] - aucs[1])
    if var <= 0:
        return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": diff, "se": 0.0, "z": None,
                "p": 1.0 if diff == 0 else 0.0}
    z = diff / math.sqrt(var)
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": diff, "se": math.sqrt(var), "z": z,
            "p": float(2 * ndtr(-abs(z)))}


def difference_interval(current: np.ndarray, baseline: np.ndarray, level: float, point: Optional[float] = None,
                        centre: Optional[float] = None, scale: float = 1.0) -> Optional[list]:
    """The interval of (current - baseline) from per-resample values drawn on the same rows (paired) or on each
    model's own rows (unpaired). With `scale` < 1 the resamples were drawn on m of the n rows: the m-out-of-n
    bootstrap's spread around its own centre, scaled by sqrt(m/n), is placed around the all-rows `point`."""
    ci = percentile_interval(np.asarray(current, dtype=float) - np.asarray(baseline, dtype=float), level,
                             len(current))
    if ci is None or scale == 1.0 or point is None or centre is None:
        return ci
    lo, hi = ci
    return [float(point + (lo - centre) * scale), float(point + (hi - centre) * scale)]


def verdict(ci: Optional[list], higher_is_better: bool) -> Optional[str]:
    """better / worse when the interval of (current - baseline) excludes 0, else no clear difference."""
    if ci is None:
        return None
    if ci[0] > 0 or ci[1] < 0:
        up = ci[0] > 0
        return BETTER if up == higher_is_better else WORSE
    return UNCLEAR


def mean_interval(values: np.ndarray, boot, seed: int, weight=None) -> Optional[list]:
    """The interval of a mean of per-row values that take few distinct values (a cost change): rows drawn with
    replacement from all the rows (as the metrics' intervals: holding the class mix fixed would leave out the
    prevalence's part of the variance) are counts drawn over the distinct values, so this is exact and cheap.
    weight: rows per entry (aggregated input)."""
    w = np.ones(len(values)) if weight is None else weight
    cell_values, inverse = np.unique(values, return_inverse=True)
    cells = Cells(stratum=np.zeros(len(cell_values), dtype=int), count=np.bincount(inverse, w), exact=False)
    samples = np.concatenate([W @ cell_values / w.sum() for W in resample_counts(cells, boot.resamples, seed)])
    return difference_interval(samples, np.zeros_like(samples), boot.level)


def row_mean_interval(values: np.ndarray, boot, seed: int) -> Optional[list]:
    """The interval of a mean of per-row values (e.g. the change in each row's loss), rows resampled from all the
    rows; above bootstrap.max_exact_rows rows, a seeded sample's spread scaled by sqrt(m/n) around the mean of all."""
    if not intervals_on(boot) or len(values) == 0:
        return None
    rows = sample_rows(len(values), boot.max_exact_rows, seed)
    vv = values[rows]
    cells = Cells(stratum=np.zeros(len(rows), dtype=int), count=np.ones(len(rows), dtype=int), exact=True)
    samples = np.concatenate([W @ vv / len(rows) for W in resample_counts(cells, boot.resamples, seed)])
    scale = math.sqrt(len(rows) / len(values))
    return difference_interval(samples, np.zeros_like(samples), boot.level, float(values.mean()),
                               float(vv.mean()), scale)


def corrected_t(values, test_rows: float, train_rows: float, level: float) -> Optional[dict]:
    """Nadeau & Bengio's corrected resampled t (2003) over k folds' values of one model, or of two models' per-fold
    differences: the folds' training rows overlap, so the variance of their mean is (1/k + n_test/n_train) s², not
    s²/k. {mean, ci, t, p} (p: two-sided, that the mean is 0), None with fewer than two folds."""
    from scipy.stats import t as student

    values = np.asarray(values, dtype=float)
    k = values.size
    if k < 2:
        return None
    mean = float(values.mean())
    se = math.sqrt((1 / k + test_rows / train_rows) * float(values.var(ddof=1)))
    half = float(student.ppf((1 + level) / 2, k - 1)) * se
    if se == 0:
        return {"mean": mean, "ci": [mean, mean], "t": None, "p": 1.0 if mean == 0 else 0.0}
    t = mean / se
    return {"mean": mean, "ci": [mean - half, mean + half], "t": t, "p": float(2 * student.sf(abs(t), k - 1))}
