"""The percentile interval of resampled values, and the rule for when there are too few of them: one definition
for every bootstrap interval the report prints (metrics, paired differences, fairness gaps, per-class gaps, chosen
thresholds, importance ranks, saliency checks)."""
from __future__ import annotations

from typing import Optional

import numpy as np

MIN_FINITE = 10  # an interval needs at least this many finite resamples


def enough_finite(finite: int, resamples: int) -> bool:
    """Whether `finite` defined values of `resamples` draws say anything: at least MIN_FINITE and half of the draws
    (a statistic undefined in most resamples, e.g. a recall with no positive row drawn, has no interval)."""
    return finite >= max(MIN_FINITE, 0.5 * resamples)


def percentile_bounds(values, level: float) -> tuple:
    """(low, high): the (1 - level) / 2 and (1 + level) / 2 quantiles of the values."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def percentile_interval(values, level: float, resamples: Optional[int] = None) -> Optional[list]:
    """[low, high] over the finite values, or None when they are too few of `resamples` draws (default: all the
    values given) by enough_finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if not enough_finite(finite.size, values.size if resamples is None else resamples):
        return None
    return list(percentile_bounds(finite, level))


def repeat_interval(values, level: float) -> Optional[list]:
    """[low, high] of the mean of a few repeats of a random procedure on fixed rows (the shuffles of a permutation
    importance): Student's t on their spread, None with fewer than two. It holds the mean over every possible
    repeat on these rows, not a population's value (bench/bench_coverage.py)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return None
    from scipy.stats import t

    mean = float(values.mean())
    half = float(t.ppf((1 + level) / 2, values.size - 1)) * float(values.std(ddof=1)) / np.sqrt(values.size)
    return [mean - half, mean + half]
