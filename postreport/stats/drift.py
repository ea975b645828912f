"""Has a column's distribution moved between a reference sample and a current one? Tests, readable effect sizes and
the population stability index, on arrays.

Numbers: the two-sample Kolmogorov-Smirnov test, and the Wasserstein distance in units of the reference's standard
deviation (how far, on average, the current values would have to move to look like the reference). Categories:
the chi-squared test of the 2 x L table, and the Jensen-Shannon distance (base 2: 0 the same mix, 1 no category
in common). Both: the population stability index on the reference's bins (numbers: its deciles), each share floored
at PSI_FLOOR so that an empty bin gives a finite value (the common convention; 0.1 and 0.25 are the usual alert
levels). The distances get no interval: two samples of one distribution are at a positive distance, so a bootstrap
interval of a distance lies above 0 and would never hold a true 0; whether a column moved is the test's q-value.
"""
from __future__ import annotations

import numpy as np

PSI_FLOOR = 1e-4


EXACT_KS = 10_000  # scipy's ks_2samp computes exact p-values up to this many values per sample


def ks_and_wasserstein(reference: np.ndarray, current: np.ndarray) -> tuple:
    """(KS statistic, its p-value, Wasserstein distance / the reference's sd) from one sort of each sample: the same
    numbers as scipy's ks_2samp (asymptotic p-value beyond EXACT_KS values, as scipy's method="auto"; scipy itself
    below) and wasserstein_distance, which would each sort both samples again."""
    if max(len(reference), len(current)) <= EXACT_KS:
        return (*ks(reference, current), wasserstein(reference, current))
    from scipy.stats import kstwo

    a, b = np.sort(reference), np.sort(current)
    values = np.sort(np.concatenate([a, b]), kind="stable")  # two sorted runs: merged in linear time
    cdf_a = np.searchsorted(a, values, side="right") / len(a)
    cdf_b = np.searchsorted(b, values, side="right") / len(b)
    gap = np.abs(cdf_a - cdf_b)
    d = float(gap.max())
    m, n = sorted([float(len(a)), float(len(b))], reverse=True)
    p = float(np.clip(kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
    scale = float(np.std(reference))
    distance = float(np.sum(gap[:-1] * np.diff(values)))
    return d, p, distance / scale if scale > 0 else float("nan")


def ks(reference: np.ndarray, current: np.ndarray) -> tuple:
    """(statistic, p-value) of the two-sample Kolmogorov-Smirnov test (scipy's ks_2samp, exact for small samples)."""
    from scipy.stats import ks_2samp

    result = ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def chi_squared(reference: np.ndarray, current: np.ndarray) -> tuple:
    """(statistic, p-value) of the chi-squared test of homogeneity on the two samples' counts per category
    (categories neither sample has are left out; one category in all: no difference to test, p = 1)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([reference, current]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    statistic, p, _, _ = chi2_contingency(table, correction=False)
    return float(statistic), float(p)


def wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """scipy's Wasserstein (earth mover's) distance between the two samples, over the reference's standard deviation
    (nan when the reference does not vary)."""
    from scipy.stats import wasserstein_distance

    scale = float(np.std(reference))
    return float(wasserstein_distance(reference, current)) / scale if scale > 0 else float("nan")


def shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts, dtype=float)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index: sum over bins of (current share - reference share) x ln(current / reference),
    each share floored at PSI_FLOOR."""
    r = np.maximum(shares(np.asarray(reference_counts, dtype=float)), PSI_FLOOR)
    c = np.maximum(shares(np.asarray(current_counts, dtype=float)), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """The Jensen-Shannon distance (base 2) between the two category mixes: scipy's jensenshannon."""
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(shares(np.asarray(reference_counts, float)), shares(np.asarray(current_counts, float)),
                               base=2))


def decile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """The reference's quantile edges (repeated ones merged), open at both ends."""
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.r_[-np.inf, inner, np.inf]


def binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.histogram(values, bins=edges)[0].astype(float)


def benjamini_hochberg(p_values) -> list:
    """Benjamini-Hochberg adjusted p-values (q-values), as statsmodels' multipletests(method="fdr_bh")."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * len(p) / (np.arange(len(p)) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out.tolist()


def binned_wasserstein(reference, current, scale: float) -> float:
    """The Wasserstein distance between two columns known only by their counts and sums per bin (each bin's rows at
    its mean value), over `scale` (the reference's standard deviation; nan when it does not vary). Within a bin the
    values' spread is lost, so this approximates the distance (a shift of the mean is kept; a change of spread within
    the bins is not)."""
    from scipy.stats import wasserstein_distance

    r, c = reference.counts > 0, current.counts > 0
    if not r.any() or not c.any() or not scale > 0:
        return float("nan")
    return float(wasserstein_distance(reference.means[r], current.means[c], reference.counts[r],
                                      current.counts[c])) / scale


def mean_shift(reference: tuple, current: tuple, z: float) -> tuple:
    """(the change of the mean in reference standard deviations, its interval) from each side's (n, mean, variance):
    a signed effect whose interval holds 0 at its nominal rate when nothing moved (unlike a distance's). Normal
    approximation, the reference sd's own uncertainty included (delta method: + d² / 2n)."""
    (n_r, m_r, v_r), (n_c, m_c, v_c) = reference, current
    if not v_r > 0 or n_r < 2 or n_c < 2:
        return float("nan"), None
    sd = v_r ** 0.5
    d = (m_c - m_r) / sd
    se = ((v_c / n_c + v_r / n_r) / v_r + d * d / (2 * n_r)) ** 0.5
    return float(d), [float(d - z * se), float(d + z * se)]


def largest_share_change(levels: list, reference_counts: np.ndarray, current_counts: np.ndarray, z_of) -> tuple:
    """(the category whose share changed most, the change, its interval): Wald intervals of each category's change
    in share, simultaneous over the L categories by Bonferroni (z_of(level) gives the normal quantile), so the one
    picked as largest keeps its coverage."""
    r, c = np.asarray(reference_counts, float), np.asarray(current_counts, float)
    n_r, n_c = r.sum(), c.sum()
    if n_r == 0 or n_c == 0 or len(levels) == 0:
        return None, float("nan"), None
    p_r, p_c = r / n_r, c / n_c
    change = p_c - p_r
    k = int(np.argmax(np.abs(change)))
    z = z_of(len(levels))
    half = z * np.sqrt(p_r[k] * (1 - p_r[k]) / n_r + p_c[k] * (1 - p_c[k]) / n_c)
    return levels[k], float(change[k]), [float(change[k] - half), float(change[k] + half)]
