"""Performance over time: the test of a worse period against statsmodels and scipy, period keys from a date
column's parts, and a planted bad day flagged alone in logged predictions."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from postreport.analyses.over_time import OverTimeSettings, period_keys, worse_test


def test_the_worse_period_test_equals_statsmodels_and_scipy():
    from scipy.stats import ttest_ind
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(0)
    period, reference = (rng.random(400) < 0.22).astype(float), (rng.random(900) < 0.15).astype(float)
    difference, p = worse_test(period, reference, lower_better=False)
    z, p_sm = proportions_ztest([period.sum(), reference.sum()], [400, 900], alternative="larger")
    assert p == pytest.approx(p_sm) and difference == pytest.approx(reference.mean() - period.mean())
    a, b = np.abs(rng.normal(0, 1.3, 300)), np.abs(rng.normal(0, 1.0, 500))
    difference, p = worse_test(a, b, lower_better=True)
    assert p == pytest.approx(ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    assert difference == pytest.approx(a.mean() - b.mean())


def test_period_keys_from_a_date_columns_parts():
    stamps = pd.to_datetime(["2026-11-30", "2026-12-01", "2026-12-07", None])
    X = pd.DataFrame({"when.year": stamps.year, "when.month": stamps.month, "when.day": stamps.day}).astype(float)
    data = SimpleNamespace(dates={"when": list(X.columns)}, X_test=X)
    keys = lambda period: period_keys(data, OverTimeSettings(by="when", period=period)).tolist()  # noqa: E731
    assert keys("day")[:3] == ["2026-11-30", "2026-12-01", "2026-12-07"] and pd.isna(keys("day")[3])
    assert keys("week")[:3] == ["2026-W49", "2026-W49", "2026-W50"]
    assert keys("month")[:3] == ["2026-11", "2026-12", "2026-12"]


@pytest.mark.slow
def test_a_planted_bad_day_is_the_only_one_flagged(tmp_path):
    from conftest import run_report

    rng = np.random.default_rng(3)
    days = pd.date_range("2026-11-01", periods=10, freq="D")
    frames = []
    for k, day in enumerate(days):
        n = 3000
        y = rng.integers(0, 2, n)
        right = rng.random(n) < (0.80 if k == 6 else 0.85)
        frames.append(pd.DataFrame({"when": day.strftime("%Y-%m-%d"), "x": rng.normal(0.5 if k == 3 else 0, 1, n),
                                    "y_true": y, "y_pred": np.where(right, y, 1 - y)}))
    pd.concat(frames).to_parquet(tmp_path / "logged.parquet")
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'logged.parquet'}",
                                      "report.analyses=[metrics,over_time]", "+analyses.over_time.by=when"])
    periods = result.metrics["results"]["over_time"]["periods"]
    assert [p["period"] for p in periods] == [d.strftime("%Y-%m-%d") for d in days]
    assert [p["period"] for p in periods if p["flagged"]] == ["2026-11-07"]
    bad = periods[6]
    assert bad["metrics"]["accuracy"] == pytest.approx(bad["metrics"]["accuracy"]) and bad["difference"] < -0.03
    assert all(p["n"] == 3000 for p in periods) and periods[0]["reference"]
    assert periods[3]["drift_share"] == 1.0 and periods[0]["drift_share"] is None  # x moved on day 4 only
    assert sum(p["drift_share"] for p in periods[1:] if p is not periods[3]) <= 2
