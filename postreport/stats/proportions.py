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


def newcombe(k1: float, n1: int, k0: float, n0: int, z: float) -> list:
    """Newcombe's hybrid score interval of the difference of two proportions k1 / n1 - k0 / n0 (his method 10: each
    side's distance from its Wilson limits, combined in quadrature). Closer to its level than the Wald interval at a
    few hundred rows and never outside [-1, 1]."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    return [d - float(np.hypot(p1 - l1, u0 - p0)), d + float(np.hypot(u1 - p1, p0 - l0))]
