"""Fairness per group on arrays (postreport.analyses.fairness.group_metrics) against fairlearn's MetricFrame and its
summary differences; the intervals from one set of resamples hold their point values' groups."""
from types import SimpleNamespace

import numpy as np
import pytest

from postreport.analyses.fairness import four_fifths, group_labels, group_metrics
from postreport.config import BootstrapConfig


def binary_context(y, pred, score=None):
    predictions = SimpleNamespace(y_true=y, y_pred=pred, probabilities=score is not None)
    encoded = SimpleNamespace(y_bin=y.astype(int), pred_bin=pred.astype(int), score=score)
    return SimpleNamespace(predictions=predictions, encoded=encoded)


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(0)
    n = 3000
    group = rng.choice(["a", "b", "c", "tiny"], n, p=[0.5, 0.3, 0.197, 0.003])
    y = (rng.random(n) < np.where(group == "b", 0.6, 0.4)).astype(int)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    score = np.clip(0.5 * pred + 0.5 * rng.random(n), 0, 1)
    return group, y, pred, score


def test_per_group_rates_and_summaries_equal_fairlearn(people):
    from fairlearn.metrics import (MetricFrame, demographic_parity_difference, demographic_parity_ratio,
                                   equalized_odds_difference, false_positive_rate, selection_rate)
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    group, y, pred, score = people
    groups, summary, parity = group_metrics("binary", binary_context(y, pred, score), group, min_size=30,
                                            boot=BootstrapConfig(resamples=200), seed=0)
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": recall_score, "fpr": false_positive_rate,
                              "precision": precision_score, "accuracy": accuracy_score},
                     y_true=y, y_pred=pred, sensitive_features=group)
    rows = {g.value: g for g in groups}
    for value, expected in mf.by_group.iterrows():
        for metric in ("selection_rate", "tpr", "fpr", "precision", "accuracy"):
            assert rows[value].values[metric] == pytest.approx(expected[metric]), (value, metric)
        assert rows[value].n == int((group == value).sum())
        base = y[group == value].mean()
        assert rows[value].values["calibration_gap"] == pytest.approx(score[group == value].mean() - base)
    assert rows["tiny"].small and not rows["a"].small
    judged = group != "tiny"  # the summaries leave out groups too small to judge
    args = dict(y_true=y[judged], y_pred=pred[judged], sensitive_features=group[judged])
    assert summary["demographic_parity_difference"]["value"] == pytest.approx(demographic_parity_difference(**args))
    assert summary["demographic_parity_ratio"]["value"] == pytest.approx(demographic_parity_ratio(**args))
    assert summary["equalized_odds_difference"]["value"] == pytest.approx(equalized_odds_difference(**args))
    tpr = mf.by_group.loc[["a", "b", "c"], "tpr"]
    assert summary["equal_opportunity_difference"]["value"] == pytest.approx(tpr.max() - tpr.min())
    assert parity is four_fifths(summary["demographic_parity_ratio"])
    for g in groups:  # each group's intervals hold its point values
        for metric, ci in g.ci.items():
            if ci is not None and g.values[metric] is not None:
                assert ci[0] - 1e-9 <= g.values[metric] <= ci[1] + 1e-9, (g.value, metric)


def test_multiclass_and_regression_groups(people):
    group, y, pred, _ = people
    rng = np.random.default_rng(1)
    truth, guess = rng.integers(0, 3, len(y)), rng.integers(0, 3, len(y))
    ctx = SimpleNamespace(predictions=SimpleNamespace(y_true=truth, y_pred=guess, probabilities=False),
                          encoded=SimpleNamespace(y_idx=truth, pred_idx=guess))
    groups, summary, parity = group_metrics("multiclass", ctx, group, 30, BootstrapConfig(resamples=0), 0)
    accuracy = {g: float(np.mean(truth[group == g] == guess[group == g])) for g in ("a", "b", "c")}
    assert {g.value: g.values["accuracy"] for g in groups if not g.small} == pytest.approx(accuracy)
    assert summary["accuracy_difference"]["value"] == pytest.approx(max(accuracy.values()) - min(accuracy.values()))
    assert summary["accuracy_difference"]["ci"] is None and parity is None  # resamples=0: no intervals
    value, estimate = rng.normal(size=len(y)), rng.normal(size=len(y))
    ctx = SimpleNamespace(predictions=SimpleNamespace(y_true=value, y_pred=estimate, probabilities=False))
    groups, summary, _ = group_metrics("regression", ctx, group, 30, BootstrapConfig(resamples=100), 0)
    mae = {g: float(np.mean(np.abs(estimate - value)[group == g])) for g in ("a", "b", "c")}
    assert {g.value: g.values["mae"] for g in groups if not g.small} == pytest.approx(mae)
    assert summary["mae_difference"]["value"] == pytest.approx(max(mae.values()) - min(mae.values()))


def test_group_labels_keep_the_frequent_values_and_name_missing_ones():
    import pandas as pd

    values = pd.Series(["x"] * 5 + ["y"] * 3 + ["z"] + [None] * 2)
    labels = group_labels(values, max_levels=2)
    assert set(labels) == {"x", "y", "(other)"} and int((labels == "(other)").sum()) == 3
    assert set(group_labels(values, max_levels=5)) == {"x", "y", "z", "(missing)"}
    quartiles = group_labels(pd.Series(np.arange(100.0)), max_levels=5)  # numbers with many values: quartiles
    assert len(set(quartiles)) == 4 and all((quartiles == q).sum() == 25 for q in set(quartiles))


def simulate_parity(rates, n, reps, level=0.95, seed=0):
    """Coverage of the demographic parity difference and ratio intervals: groups of n rows whose predictions are
    positive at the given true rates (labels irrelevant to parity)."""
    rng = np.random.default_rng(seed)
    G = len(rates)
    truth_diff, truth_ratio = max(rates) - min(rates), min(rates) / max(rates)
    group = np.repeat(np.arange(G), n)
    hits = {"diff": 0, "ratio": 0}
    holds_point = True
    for _ in range(reps):
        pred = (rng.random(G * n) < np.repeat(rates, n)).astype(int)
        y = rng.integers(0, 2, G * n)
        _, summary, _ = group_metrics("binary", binary_context(y, pred), group, 1,
                                      BootstrapConfig(resamples=10, level=level), 0)
        d, r = summary["demographic_parity_difference"], summary["demographic_parity_ratio"]
        hits["diff"] += d["ci"][0] <= truth_diff <= d["ci"][1]
        hits["ratio"] += r["ci"][0] <= truth_ratio <= r["ci"][1]
        holds_point &= d["ci"][0] <= d["value"] <= d["ci"][1] and r["ci"][0] <= r["value"] <= r["ci"][1]
    return hits["diff"] / reps, hits["ratio"] / reps, holds_point


@pytest.mark.parametrize("rates", [[0.3, 0.3], [0.3] * 5, [0.3] * 10, [0.3] * 4 + [0.45]])
def test_parity_intervals_cover_and_hold_their_estimate(rates):
    """A percentile bootstrap of max − min over ten equal groups covered 0 almost never and could exclude its own
    estimate; the simultaneous bounds cover at least at their level (conservative) and always hold the estimate."""
    diff, ratio, holds_point = simulate_parity(rates, 300, 300)
    assert holds_point
    assert diff >= 0.93 and ratio >= 0.93, (diff, ratio)


def test_the_bootstrap_of_a_range_over_equal_groups_is_biased_upward():
    """Why the summaries do not use it: ten groups with equal rates; the percentile interval of max − min from
    resampled rows almost never reaches the true 0, and its lower bound often sits above the estimate."""
    rng = np.random.default_rng(1)
    group = np.repeat(np.arange(10), 300)
    above = 0
    for _ in range(20):
        pred = (rng.random(3000) < 0.3).astype(int)
        point = np.ptp([pred[group == g].mean() for g in range(10)])
        spreads = []
        for _ in range(200):
            rows = rng.integers(0, 3000, 3000)
            spreads.append(np.ptp(np.bincount(group[rows], pred[rows], 10) / np.bincount(group[rows], minlength=10)))
        above += np.percentile(spreads, 2.5) > point
    assert above >= 3  # the percentile interval excludes its own estimate in a good share of samples


def test_equalized_odds_interval_is_the_larger_gap_and_holds_the_estimate(people):
    group, y, pred, score = people
    _, summary, _ = group_metrics("binary", binary_context(y, pred, score), group, 30, BootstrapConfig(), 0)
    eo, eop = summary["equalized_odds_difference"], summary["equal_opportunity_difference"]
    assert eo["ci"][0] <= eo["value"] <= eo["ci"][1] and eop["ci"][0] <= eop["value"] <= eop["ci"][1]
    assert eo["ci"][1] >= eop["ci"][1]  # the larger of the TPR and FPR gaps


@pytest.mark.parametrize("ratio,expected", [
    ({"value": 0.9, "ci": [0.82, 0.97]}, True), ({"value": 0.6, "ci": [0.5, 0.75]}, False),
    ({"value": 0.85, "ci": [0.7, 0.95]}, None),  # straddles 0.8: the data cannot tell
    ({"value": 0.85, "ci": None}, True), ({"value": 0.75, "ci": None}, False),  # without intervals: the point
    ({"value": None, "ci": None}, None), (None, None),
])
def test_the_four_fifths_rule_follows_the_ratios_interval(ratio, expected):
    assert four_fifths(ratio) is expected
