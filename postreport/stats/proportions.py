"""Intervals of proportions."""
from __future__ import annotations

from statistics import NormalDist

import numpy as np


def z_for(level: float) -> float:
    """The normal quantile of a two-sided interval at `level` (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(k: float, n: int, z: float) -> list:
    """Wilson's score interval of a proportion k / n."""
    if n == 0:
        return [0.0, 1.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [0.0 if k <= 0 else max(0.0, float(centre - half)), 1.0 if k >= n else min(1.0, float(centre + half))]
