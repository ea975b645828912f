"""Intervals for a spread over groups (max − min) and a ratio (min / max) of per-group values. A percentile bootstrap
of such extremes is biased upward (each resample's noise widens the range; with equal true rates its interval can
exclude the estimate itself), so they come from simultaneous intervals instead: when every group's interval holds
its true value at once (Šidák's level for m intervals), the true range lies between the smallest and largest range
those intervals allow. Conservative, and always containing the estimate."""
from __future__ import annotations

from typing import Optional

import numpy as np

from postreport.stats.proportions import wilson, z_for


def sidak_z(level: float, m: int) -> float:
    """The z of each of m two-sided intervals that hold all at once with probability `level` (Šidák)."""
    return z_for(level ** (1.0 / max(1, m)))


def proportion_bounds(successes: np.ndarray, trials: np.ndarray, z: float) -> tuple:
    """Wilson intervals of each group's proportion: (low, high) arrays; groups with no trials are NaN."""
    low, high = np.full(len(trials), np.nan), np.full(len(trials), np.nan)
    for g, (k, n) in enumerate(zip(successes, trials)):
        if n > 0:
            low[g], high[g] = wilson(float(k), int(round(n)), z)
    return low, high


def mean_bounds(mean: np.ndarray, sd: np.ndarray, n: np.ndarray, z: float) -> tuple:
    """Normal intervals of each group's mean (z · sd / √n)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        half = z * sd / np.sqrt(n)
    return mean - half, mean + half


def range_bounds(low: np.ndarray, high: np.ndarray) -> Optional[list]:
    """[lower, upper] of max − min over the groups when each group's value lies in [low, high] (NaN: no value)."""
    keep = np.isfinite(low) & np.isfinite(high)
    if keep.sum() < 2:
        return None
    low, high = low[keep], high[keep]
    return [float(max(0.0, low.max() - high.min())), float(high.max() - low.min())]


def ratio_bounds(low: np.ndarray, high: np.ndarray) -> Optional[list]:
    """[lower, upper] of min / max over the groups (non-negative values) when each lies in [low, high]."""
    keep = np.isfinite(low) & np.isfinite(high)
    if keep.sum() < 2:
        return None
    low, high = low[keep], high[keep]
    lower = float(low.min() / high.max()) if high.max() > 0 else 0.0
    upper = float(min(1.0, high.min() / low.max())) if low.max() > 0 else 1.0
    return [lower, upper]
