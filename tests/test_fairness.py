"""Fairness per group on arrays (postreport.analyses.fairness.group_metrics) against fairlearn's MetricFrame and its
summary differences; the intervals from one set of resamples hold their point values' groups."""
from types import SimpleNamespace

import numpy as np
import pytest

from postreport.analyses.fairness import group_metrics, group_labels
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
    assert parity == (summary["demographic_parity_ratio"]["value"] >= 0.8)
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
