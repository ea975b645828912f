"""Conformal prediction: coverage within its finite-sample bounds, calibration on rows the model did not fit."""
import math

import numpy as np
import pandas as pd
import pytest

from conftest import run_report
from postreport.analyses.conformal import conformal_quantile, slice_coverage


@pytest.mark.parametrize("hits,n,gap", [(150, 200, True), (172, 200, False), (10, 12, False)])
def test_a_slice_is_under_covered_only_when_its_wilson_interval_lies_below_the_level(hits, n, gap):
    """At 90 %: 150 of 200 covered is clearly short (Wilson upper 0.80); 172 of 200 (0.86) is within noise of 0.9
    (upper 0.90+); 10 of 12 is short on its face but too few rows to tell."""
    from statsmodels.stats.proportion import proportion_confint

    covered = np.arange(n) < hits
    s = slice_coverage("region", "north", covered, 0.9, 1.959963984540054, 30)
    assert s["coverage_ci"] == pytest.approx(list(proportion_confint(hits, n, 0.05, "wilson")))
    assert s["gap"] is gap and s["small"] is (n < 30)


def test_the_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1, 10, dtype=float)  # 9 calibration scores
    assert conformal_quantile(scores, 0.9) == 9.0  # ceil(10 * 0.9) = 9th smallest
    assert conformal_quantile(scores, 0.5) == 5.0  # ceil(10 * 0.5) = 5th
    assert math.isinf(conformal_quantile(scores[:8], 0.9))  # ceil(9 * 0.9) = 9 > 8 rows: unbounded


@pytest.mark.slow
def test_regression_coverage_holds_with_a_model_that_memorises_its_training_rows(tmp_path):
    """A deep random forest's residuals on its own training rows are far too small: intervals calibrated on them
    would cover well under 90%. Calibrated on out-of-fold residuals, coverage is near 90% on every seed."""
    coverages = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(800, 3))
        frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=2 * X[:, 0] + rng.normal(size=800))
        frame.to_csv(tmp_path / f"r{seed}.csv", index=False)
        result, _ = run_report(tmp_path / str(seed), ["data=file", f"data.path={tmp_path / f'r{seed}.csv'}",
                                                      "data.target=y", "model=random_forest",
                                                      "model.params.n_estimators=30", "report.analyses=[conformal]"])
        c = result.metrics["results"]["conformal"]
        assert c["calibration_rows"] == 600 and "out-of-fold" in c["method"]
        coverages.append(c["coverage"])
        assert 0.8 <= c["coverage"] <= 0.98, seed
    assert 0.85 <= np.mean(coverages) <= 0.95


@pytest.mark.slow
def test_prediction_sets_from_logged_predictions_are_cross_conformal(tmp_path):
    rng = np.random.default_rng(1)
    n = 1000
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    proba[np.arange(n), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"y_true": y, "p0": proba[:, 0], "p1": proba[:, 1], "p2": proba[:, 2]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    result, out = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'p.csv'}",
                                        "data.scores=[p0,p1,p2]", "report.analyses=[conformal]",
                                        "analyses.conformal.level=0.8"], formats=("json", "html"))
    c = result.metrics["results"]["conformal"]
    assert c["method"].startswith("cross-conformal on the test rows")
    assert abs(c["coverage"] - 0.8) < 0.05 and 1 <= c["mean_set_size"] <= 3
    assert c["coverage_ci"][0] <= c["coverage"] <= c["coverage_ci"][1]
    assert "Prediction set" in (out / "report.html").read_text()
