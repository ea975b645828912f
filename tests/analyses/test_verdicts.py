"""Verdicts in words that rank point estimates: each names a winner (or loser) only when an interval says so, with a
case on each side of the rule. Per class: the lowest F1's gap to the next lowest, from joint resamples. Slices: the
lowest slice's interval against the overall value."""
import numpy as np
import pytest

from postreport.stats import bootstrap
from postreport.analyses.per_class import PerClassResult, per_class, weakest_gap
from postreport.analyses.slices import SliceRow, SlicesResult
from postreport.config import BootstrapConfig

BOOT = BootstrapConfig(resamples=400, level=0.95)


def classes(right_rates, n, seed):
    """Rows of len(right_rates) classes, each predicted right at its rate, wrong to a random other class."""
    rng = np.random.default_rng(seed)
    K = len(right_rates)
    y = rng.integers(0, K, n)
    wrong = (y + rng.integers(1, K, n)) % K
    pred = np.where(rng.random(n) < np.asarray(right_rates)[y], y, wrong)
    return y, pred


def gap_result(y, pred, K, seed=0):
    rows = per_class(y, pred, list("abcdefgh"[:K]))
    samples = bootstrap.multiclass(y, pred, K, None, BOOT, seed, stratified=False).samples["class_f1"]
    return weakest_gap(PerClassResult(rows, BOOT.level), samples, BOOT.level, list(range(K)))


def test_a_clearly_weak_class_is_named_with_its_gap():
    y, pred = classes([0.95, 0.95, 0.6, 0.95], 2000, seed=1)
    r = gap_result(y, pred, 4)
    assert r.worst.label == "c" and r.clearly_weakest is True
    f1 = sorted(row.values["f1"] for row in r.rows)
    assert r.gap == pytest.approx(f1[1] - f1[0])
    assert r.gap_ci[0] > 0 and r.gap_ci[0] <= r.gap <= r.gap_ci[1]
    assert r.headline().startswith("Weakest class: 'c'")


def test_equal_classes_name_no_weakest():
    y, pred = classes([0.9, 0.9, 0.9, 0.9], 800, seed=2)
    r = gap_result(y, pred, 4)
    assert r.clearly_weakest is False and r.gap_ci[0] <= 0
    assert r.headline().startswith("No class is clearly the weakest")


def test_equal_classes_rarely_get_a_weakest_by_chance():
    """The rule's false-alarm rate with equal classes stays near or below its level's 2.5 % tail."""
    named = sum(gap_result(*classes([0.85] * 5, 500, seed=s), 5, seed=s).clearly_weakest for s in range(60))
    assert named <= 4


def test_binary_reports_name_no_weakest_class():
    y, pred = classes([0.95, 0.6], 1000, seed=3)
    r = gap_result(y, pred, 2)
    r.binary = True
    assert r.headline() is None


def slices(ci, overall=0.9, metric="accuracy"):
    rows = [SliceRow("island", "Dream", 200, {metric: 0.8}, ci, False),
            SliceRow("island", "Biscoe", 300, {metric: 0.95}, [0.92, 0.97], False),
            SliceRow("island", "Torgersen", 5, {metric: 0.2}, None, True)]  # small: never the weakest
    return SlicesResult(rows, (metric,), {metric: overall}, 30, False, 0.95)


@pytest.mark.parametrize("ci,clear,start", [
    ([0.74, 0.86], True, "Weakest slice: island = Dream"),
    ([0.74, 0.91], False, "No slice is clearly weaker"),
    (None, None, "Lowest slice: island = Dream"),
])
def test_the_weakest_slice_follows_its_interval(ci, clear, start):
    r = slices(ci)
    assert r.worst.value == "Dream" and r.worst_clearly_weaker is clear
    assert r.headline().startswith(start)
    assert r.to_json()["worst"]["clearly_weaker"] is clear


def test_a_lower_is_better_slice_metric_is_judged_above_the_overall():
    r = slices([0.85, 0.99], overall=0.8, metric="mae")
    assert r.worst.value == "Biscoe" and r.worst_clearly_weaker is True
    r = slices([0.85, 0.99], overall=0.93, metric="mae")
    assert r.worst_clearly_weaker is False


def test_per_class_proportions_near_all_get_wilson_and_few_errors_mark_f1():
    from statsmodels.stats.proportion import proportion_confint

    from postreport.analyses.per_class import honest_intervals

    y = np.repeat([0, 1, 2], 45)
    pred = y.copy()
    pred[0] = 1  # class 0: 44 of 45 found; class 1: 45 of 46 predictions right
    pred[90:110] = 0  # class 2: 25 of 45 found; class 0: 44 of 64 predictions right
    rows = per_class(y, pred, ["a", "b", "c"])
    for row in rows:
        row.ci = {m: [0.0, 1.0] for m in row.ci}  # stand-ins for the bootstrap's
        honest_intervals(row, 0.95)
    a, b, c = rows
    assert a.flags == {"recall": "Wilson"}  # 1 missed, 20 wrongly a: 21 errors, F1 keeps the bootstrap
    assert a.ci["recall"] == pytest.approx(list(proportion_confint(44, 45, 0.05, "wilson")))
    assert b.flags == {"recall": "Wilson", "precision": "Wilson", "f1": "unreliable"}  # 0 missed, 1 wrongly b
    assert c.flags == {"precision": "Wilson"}  # 25 of 25 predictions right; 20 missed: recall and F1 bootstrap
