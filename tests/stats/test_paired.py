"""Paired statistics on arrays (postreport.stats.paired): the comparison's verdict in words follows its interval, on each
side of the rule; Holm's adjustment against statsmodels; the m-out-of-n scaling places the interval on the point."""
import numpy as np
import pytest

from postreport.stats.paired import BETTER, UNCLEAR, WORSE, difference_interval, holm, verdict


@pytest.mark.parametrize("ci,higher,expected", [
    ([0.01, 0.05], True, BETTER), ([0.01, 0.05], False, WORSE),  # excludes 0 above
    ([-0.05, -0.01], True, WORSE), ([-0.05, -0.01], False, BETTER),  # excludes 0 below
    ([-0.01, 0.05], True, UNCLEAR), ([0.0, 0.05], True, UNCLEAR),  # holds 0 (a bound at 0 holds it)
    (None, True, None),
])
def test_the_verdict_follows_the_interval(ci, higher, expected):
    assert verdict(ci, higher) == expected


def test_holm_equals_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.2, 0.005]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))


def test_difference_interval_is_the_percentiles_and_scales_around_the_point():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.02, 1000), rng.normal(0.75, 0.02, 1000)
    ci = difference_interval(a, b, 0.95)
    assert ci == pytest.approx(list(np.percentile(a - b, [2.5, 97.5])))
    scaled = difference_interval(a, b, 0.95, point=0.05, centre=float(np.mean(a - b)), scale=0.5)
    half = (ci[1] - ci[0]) / 2 * 0.5
    assert scaled[1] - scaled[0] == pytest.approx(2 * half, rel=0.05) and scaled[0] < 0.05 < scaled[1]
    assert difference_interval(np.full(20, np.nan), b[:20], 0.95) is None  # too few finite resamples: no interval


@pytest.mark.parametrize("which", ["mean_interval", "row_mean_interval"])
def test_mean_of_class_dependent_costs_covers(which):
    """A cost per row that depends on the class (5 per missed positive, 1 per false alarm): its mean's interval must
    draw rows from all the rows. Resamples within each class held the class mix fixed and covered 91 % here."""
    from postreport.stats import paired
    from postreport.config import BootstrapConfig

    rng = np.random.default_rng(3)
    boot = BootstrapConfig(resamples=300, level=0.95)
    truth = 0.3 * 0.4 * 5 + 0.7 * 0.1 * 1
    hits, reps = 0, 300
    for r in range(reps):
        y = rng.random(200) < 0.3
        cost = np.where(y, 5.0 * (rng.random(200) < 0.4), 1.0 * (rng.random(200) < 0.1))
        ci = getattr(paired, which)(cost, boot, r)
        assert ci[0] <= cost.mean() <= ci[1]
        hits += ci[0] <= truth <= ci[1]
    assert hits / reps >= 0.92
