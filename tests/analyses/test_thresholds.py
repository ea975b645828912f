"""Thresholds on arrays (postreport.analyses.thresholds): a chosen threshold's interval is given only when it holds
the choice itself; otherwise the report says why it gives none."""
import numpy as np
import pytest

from postreport.analyses.thresholds import CHOSEN, Cost, ThresholdsAnalysis, analyse, bracketing_interval
from postreport.config import BootstrapConfig


def test_an_interval_that_excludes_its_choice_is_not_given():
    assert bracketing_interval(np.full(100, 0.97), 0.735, 0.95) is None  # what printed as "0.735 [0.970, 0.970]"
    piled = np.r_[np.full(98, 0.97), np.full(2, 0.5)]  # re-choices piled up away from the choice
    assert bracketing_interval(piled, 0.735, 0.95) is None
    assert bracketing_interval(np.linspace(0.6, 0.9, 100), 0.735, 0.95) == pytest.approx([0.6075, 0.8925])


def test_every_threshold_interval_holds_its_choice_or_is_explained():
    rng = np.random.default_rng(5)
    for trial in range(6):
        n = int(rng.integers(60, 400))
        y = (rng.random(n) < 0.3).astype(int)
        score = np.clip(0.25 * y + rng.random(n) * 0.75, 0, 1).round(int(rng.integers(1, 3)))  # few distinct scores
        r = analyse(y, score, Cost(fp=1, fn=3), 0.5, 200)
        ThresholdsAnalysis._uncertainty(r, (y, score, None), y, score, Cost(fp=1, fn=3),
                                       BootstrapConfig(resamples=200), trial)
        for name in CHOSEN:
            ci, t = r.threshold_ci.get(name), r.choice(name).threshold
            if ci is None:
                assert f"No interval for the {name} threshold" in r.selection_note
            else:
                assert ci[0] <= t <= ci[1], (trial, name)


def calibrated(n, seed):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    return (rng.random(n) < score).astype(int), score  # P(y=1 | score) = score


@pytest.mark.parametrize("fn,n,start", [
    (9.0, 3000, "Recommended threshold"),  # the best threshold is 0.1: 0.5 costs clearly more
    (1.2, 400, "Threshold: the default 0.5 is not clearly worse"),  # best near 0.45: the gain is within noise
])
def test_a_threshold_is_recommended_only_when_its_paired_gain_excludes_0(fn, n, start):
    y, score = calibrated(n, seed=int(fn * 10))
    cost = Cost(fp=1, fn=fn)
    r = analyse(y, score, cost, 0.5, 200)
    ThresholdsAnalysis._uncertainty(r, (y, score, None), y, score, cost, BootstrapConfig(resamples=300), 1)
    t_best, t_default = r.choice("lowest expected cost").threshold, 0.5
    hand = [np.mean(np.where((score >= t) & (y == 0), 1.0, 0.0) + np.where((score < t) & (y == 1), fn, 0.0))
            for t in (t_best, t_default)]
    assert r.change == pytest.approx(hand[0] - hand[1])
    assert r.change_ci[0] <= r.change <= r.change_ci[1]
    assert (r.change_ci[1] < 0) == start.startswith("Recommended")
    assert r.headline().startswith(start)
    assert r.to_json()["cost_change_vs_default_ci"] == r.change_ci
