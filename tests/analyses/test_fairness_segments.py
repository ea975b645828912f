"""Fairness per group (against fairlearn's MetricFrame) and weak-segment discovery with false-discovery control."""
import numpy as np
import pandas as pd
import pytest

from conftest import cli, run_report
from postreport.stats.segments import discover


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fair")
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "group": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                          "sex": rng.choice(["f", "m"], n)})
    frame.loc[:39, "group"] = "tiny"  # about 10 test rows: too few to judge
    shift = np.where(frame["group"] == "b", 0.8, 0.0)
    frame["y"] = (frame["x1"] + 0.5 * frame["x2"] + shift + rng.normal(scale=0.8, size=n) > 0.5).astype(int)
    frame.to_csv(tmp / "people.csv", index=False)
    return tmp, frame


@pytest.mark.slow
def test_per_group_rates_equal_fairlearns_metricframe(people, tmp_path):
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    folder, frame = people
    result, out = run_report(tmp_path, ["data=file", f"data.path={folder / 'people.csv'}", "data.target=y",
                                        "report.analyses=[metrics,fairness]",
                                        "analyses.fairness.sensitive=[group,sex]"], formats=("json", "html"))
    assert result.exit_code == 0
    payload = result.metrics["results"]["fairness"]
    preds = pd.read_parquet(out / "predictions.parquet")
    y, p = preds["y_true"].to_numpy(), preds["y_pred"].to_numpy()
    group = frame.loc[preds["row"], "group"].to_numpy()
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": recall_score, "fpr": false_positive_rate,
                              "precision": precision_score, "accuracy": accuracy_score},
                     y_true=y, y_pred=p, sensitive_features=group)
    rows = {g["value"]: g for g in payload["groups"] if g["column"] == "group"}
    for value, expected in mf.by_group.iterrows():
        for metric in ("selection_rate", "tpr", "fpr", "precision", "accuracy"):
            assert rows[value][metric] == pytest.approx(expected[metric]), (value, metric)
        assert rows[value]["n"] == int((group == value).sum())
    tiny = rows["tiny"]
    assert tiny["small"] and not rows["a"]["small"]
    judged = group != "tiny"  # summaries leave out the groups too small to judge
    summary = payload["summary"]["group"]
    args = dict(y_true=y[judged], y_pred=p[judged], sensitive_features=group[judged])
    assert summary["demographic_parity_difference"] == pytest.approx(demographic_parity_difference(**args))
    assert summary["demographic_parity_ratio"] == pytest.approx(demographic_parity_ratio(**args))
    assert summary["equalized_odds_difference"] == pytest.approx(equalized_odds_difference(**args))
    low, high = summary["equalized_odds_difference_ci"]
    assert low <= summary["equalized_odds_difference"] <= high
    low, high = summary["demographic_parity_ratio_ci"]  # the rule is judged on the ratio's interval
    assert payload["four_fifths_rule"]["group"] == (True if low >= 0.8 else False if high < 0.8 else None)
    assert "group × sex" in payload["summary"] and any(g["value"] == "b & f" for g in payload["groups"])
    assert rows["b"]["tpr_ci"][0] <= rows["b"]["tpr"] <= rows["b"]["tpr_ci"][1]
    html = (out / "report.html").read_text()
    assert "too small to judge" in html and "four-fifths rule" in html


@pytest.mark.slow
def test_fairness_from_logged_predictions_and_clear_errors(people, tmp_path):
    _, frame = people
    logged = frame.assign(y_true=frame["y"], y_pred=(frame["x1"] > 0.5).astype(int)).drop(columns=["y"])
    logged.to_csv(tmp_path / "logged.csv", index=False)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'logged.csv'}",
                                      "report.analyses=[fairness]", "analyses.fairness.sensitive=[sex]"])
    groups = {g["value"]: g for g in result.metrics["results"]["fairness"]["groups"]}
    f = logged[logged["sex"] == "f"]
    assert groups["f"]["selection_rate"] == pytest.approx(f["y_pred"].mean())
    bad = cli(["data=predictions", f"data.path={tmp_path / 'logged.csv'}", "report.analyses=[fairness]",
               "analyses.fairness.sensitive=[gender]"], tmp_path)
    assert bad.returncode == 2 and "['gender']" in bad.stderr and "'sex'" in bad.stderr
    skipped, _ = run_report(tmp_path / "s", ["report.analyses=[fairness]"])
    assert skipped.metrics["sections"][0]["status"] == "skipped"


@pytest.mark.slow
def test_a_planted_weak_segment_is_flagged_first_with_both_conditions(tmp_path):
    rng = np.random.default_rng(1)
    n = 12000
    frame = pd.DataFrame({"a": rng.random(n), "b": rng.choice(["x", "y", "z"], n), "c": rng.normal(size=n),
                          "d": rng.choice(["p", "q"], n)})
    signal = frame["c"] + 0.5 * (frame["d"] == "p")
    y = (signal > 0.2).astype(int)
    noisy = (frame["a"] > 0.7) & (frame["b"] == "x")
    flip = noisy & (rng.random(n) < 0.4)
    frame["y"] = np.where(flip, 1 - y, y)
    frame.to_csv(tmp_path / "planted.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'planted.csv'}", "data.target=y",
                                        "report.analyses=[slices]"], formats=("json", "html"))
    payload = result.metrics["results"]["slices"]
    top = payload["segments"][0]
    assert top["flagged"] and {c["column"] for c in top["conditions"]} == {"a", "b"}
    assert {c["value"] for c in top["conditions"]} >= {"= x"}
    assert payload["segments_searched"] > 50 and top["q_value"] < 0.01
    assert "Weakest segment: a" in (out / "report.html").read_text()


def test_segments_of_unrelated_columns_are_flagged_at_the_nominal_rate_or_less():
    """Under the null (losses unrelated to every column) BH at q = 0.1 flags anything in at most about 10% of runs."""
    runs_with_a_flag = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = 2000
        frame = pd.DataFrame({"u": rng.random(n), "v": rng.choice(list("abcd"), n), "w": rng.normal(size=n),
                              "m": np.where(rng.random(n) < 0.1, np.nan, rng.random(n))})
        loss = -np.log(np.clip(rng.beta(5, 2, n), 1e-9, 1))
        segments, searched, _ = discover(frame, loss, 30, 0.1)
        assert searched > 30
        runs_with_a_flag += any(s.flagged for s in segments)
    assert runs_with_a_flag <= 8  # nominal 4 of 40; binomial slack


def test_small_segments_are_not_tested_and_missing_values_are_a_value():
    rng = np.random.default_rng(3)
    n = 1000
    frame = pd.DataFrame({"k": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
                          "rare": np.where(np.arange(n) < 10, "r", "common")})
    loss = np.where(frame["k"].isna(), 2.0, 0.5) + rng.normal(scale=0.1, size=n)
    segments, _, _ = discover(frame, loss, 30, 0.1)
    assert segments[0].flagged and segments[0].conditions == [("k", "= (missing)")]
    assert not any(c == ("rare", "= r") for s in segments for c in s.conditions)  # 10 rows < min_size


@pytest.mark.slow
def test_gates_on_fairness_differences(people, tmp_path):
    folder, _ = people
    common = ["data=file", f"data.path={folder / 'people.csv'}", "data.target=y", "report.analyses=[metrics,fairness]",
              "analyses.fairness.sensitive=[group,sex]"]
    result, _ = run_report(tmp_path, [*common, "+gates={equalized_odds_difference: {max: 0.0001}, "
                                                "demographic_parity_ratio: {min: 0.0, on: lower}}"])
    gates = {g["name"]: g for g in result.metrics["gates"]}
    summary = result.metrics["results"]["fairness"]["summary"]
    worst = max(s["equalized_odds_difference"] for s in summary.values())
    assert gates["equalized_odds_difference"]["status"] == "fail" and gates["equalized_odds_difference"]["value"] == worst
    assert gates["demographic_parity_ratio"]["status"] == "pass" and result.exit_code == 3
    bad = cli(["report.analyses=[metrics]", "+gates={equalized_odds_difference: {max: 0.1}}"], tmp_path)
    assert bad.returncode == 2 and "analyses.fairness.sensitive is not set" in bad.stderr


@pytest.mark.slow
def test_a_slice_whose_only_row_of_a_class_is_wrong_gets_an_interval_with_spread(tmp_path):
    """Slices resample their rows without fixing each class's count: a stratified resample would draw a class's
    single row exactly once every time, and the slice's accuracy would have no spread at all."""
    n = 200
    y = np.ones(n, dtype=int)
    y[100:] = np.arange(100) % 2
    pred = y.copy()
    y[0], pred[0] = 0, 1  # slice "a" (rows 0-99): its only negative row, predicted wrong
    frame = pd.DataFrame({"y_true": y, "y_pred": pred, "g": ["a"] * 100 + ["b"] * 100})
    frame.to_csv(tmp_path / "p.csv", index=False)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'p.csv'}", "report.analyses=[slices]",
                                      "analyses.slices.by=[g]", "analyses.slices.discover=false"])
    slice_a = next(s for s in result.metrics["results"]["slices"]["slices"] if s["value"] == "a")
    low, high = slice_a["accuracy_ci"]
    assert slice_a["accuracy"] == 0.99 and low < 0.99 and high == 1.0
