"""At most so many: seeded samples of rows, and curves thinned to a number of points."""
from __future__ import annotations

import numpy as np


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Indices of a seeded sample of `size` of `n` rows, in ascending order (all rows when n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def cap_points(max_points: int, *arrays):
    """At most `max_points` evenly spaced points of a curve, keeping its first and last point."""
    n = len(arrays[0])
    if n <= max_points:
        return [np.asarray(a) for a in arrays]
    keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    return [np.asarray(a)[keep] for a in arrays]
