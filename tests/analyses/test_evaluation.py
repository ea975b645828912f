"""Curves, calibration, thresholds, per-class, slices, errors, residuals and logged predictions, each
against an independent computation (scikit-learn, scipy, numpy brute force, or a hand-worked case)."""

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from scipy.stats import ks_2samp
from sklearn.calibration import calibration_curve

from conftest import cli, run_report
from postreport.stats.calibration import bin_edges, reliability
from postreport.analyses.curves import binary_curves, multiclass_curves
from postreport.analyses.per_class import per_class
from postreport.analyses.thresholds import Cost, ThresholdSettings, analyse
from postreport.errors import UserError


def scores(n, seed=0, prevalence=0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    s = 1 / (1 + np.exp(-(2 * (y - 0.5) * 1.5 + rng.normal(0, 1, n))))
    return y, s


def test_binary_curves_equal_sklearn_and_are_capped():
    y, s = scores(300)
    r = binary_curves(y, s, (s >= 0.5).astype(int), cap=1000)
    fpr, tpr, _ = skm.roc_curve(y, s)
    np.testing.assert_allclose(r.roc["positive"].x, fpr)
    np.testing.assert_allclose(r.roc["positive"].y, tpr)
    assert r.roc["positive"].area == pytest.approx(skm.roc_auc_score(y, s))
    assert r.pr["positive"].area == pytest.approx(skm.average_precision_score(y, s))
    assert r.operating_point["tpr"] == pytest.approx(skm.recall_score(y, s >= 0.5))
    y, s = scores(50000, seed=1)
    big = binary_curves(y, s, (s >= 0.5).astype(int), cap=1000)
    assert len(big.roc["positive"].x) <= 1000 and len(big.pr["positive"].x) <= 1000
    assert big.roc["positive"].x[0] == 0 and big.roc["positive"].x[-1] == 1
    assert big.roc["positive"].area == pytest.approx(skm.roc_auc_score(y, s))


def test_multiclass_curves_per_class_and_averages_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet(np.ones(3), 400)
    proba[np.arange(400), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    r = multiclass_curves(y, proba, ["a", "b", "c"], cap=1000)
    for k, name in enumerate("abc"):
        assert r.roc[name].area == pytest.approx(skm.roc_auc_score(y == k, proba[:, k]))
        assert r.pr[name].area == pytest.approx(skm.average_precision_score(y == k, proba[:, k]))
    onehot = np.eye(3)[y]
    assert r.roc["micro average"].area == pytest.approx(skm.roc_auc_score(onehot, proba, average="micro"))
    assert r.roc["macro average"].area == pytest.approx(skm.roc_auc_score(onehot, proba, average="macro"))
    assert r.pr["micro average"].area == pytest.approx(skm.average_precision_score(onehot, proba, average="micro"))


def test_reliability_equals_sklearn_calibration_curve_and_hand_worked_ece():
    y, s = scores(500)
    r = reliability(s, y.astype(float), bin_edges(s, 10, "uniform"))
    frac, mean = calibration_curve(y, s, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(r.fraction_positive, frac)
    np.testing.assert_allclose(r.mean_predicted, mean)
    # hand-worked: bin [0.1, 0.2): scores .1 .1, outcomes 0 1 -> gap |.5 - .1| = .4 over 2 rows;
    # bin [0.9, 1.0]: scores .9 .9, outcomes 1 1 -> gap .1 over 2 rows; ECE = (2*.4 + 2*.1) / 4 = .25
    hand = reliability(np.array([0.1, 0.1, 0.9, 0.9]), np.array([0, 1, 1, 1.0]), bin_edges(None, 10, "uniform"))
    assert hand.ece == pytest.approx(0.25)


def test_thresholds_against_brute_force_and_scipy():
    y, s = scores(400, seed=3)
    s = s.round(3)  # ties
    r = analyse(y, s, Cost(fp=1, fn=5), 0.5, 1000)
    candidates = np.unique(s)
    f1 = [skm.f1_score(y, s >= t) for t in candidates]
    cost = [(np.sum((s >= t) & (y == 0)) * 1 + np.sum((s < t) & (y == 1)) * 5) / len(y) for t in candidates]
    assert r.choice("best F1").f1 == pytest.approx(max(f1))
    assert r.choice("best F1").threshold == pytest.approx(candidates[int(np.argmax(f1))])
    assert r.choice("lowest expected cost").cost == pytest.approx(min(min(cost), np.sum(y) * 5 / len(y)))
    assert r.ks == pytest.approx(ks_2samp(s[y == 1], s[y == 0]).statistic)
    default = r.choice("default")
    assert default.recall == pytest.approx(skm.recall_score(y, s >= 0.5))
    assert default.precision == pytest.approx(skm.precision_score(y, s >= 0.5))
    # cumulative gain: at 30% targeted the share of positives found equals a direct count
    k = int(np.searchsorted(r.gain["share_targeted"], 0.3))
    share, found = r.gain["share_targeted"][k], r.gain["share_found"][k]
    top = np.sort(s)[::-1][int(round(share * len(s))) - 1]
    assert found == pytest.approx(np.sum((s >= top) & (y == 1)) / y.sum())


def test_negative_cost_is_refused():
    with pytest.raises(UserError, match="cost.fp"):
        ThresholdSettings(cost=Cost(fp=-1, fn=1))


def test_per_class_equals_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    rows = per_class(y, p, ["a", "b", "c", "d"])
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, p, labels=[0, 1, 2, 3])
    for k, row in enumerate(rows):
        assert row.values["precision"] == pytest.approx(precision[k])
        assert row.values["recall"] == pytest.approx(recall[k])
        assert row.values["f1"] == pytest.approx(f1[k])
        assert row.support == support[k]


@pytest.fixture(scope="module")
def penguin_like(tmp_path_factory):
    d = tmp_path_factory.mktemp("slices")
    rng = np.random.default_rng(4)
    n = 600
    island = rng.choice(["Biscoe", "Dream", "Torgersen"], n, p=[0.5, 0.45, 0.05])
    x = rng.normal(size=n)
    noise = np.where(island == "Dream", 2.0, 0.3)  # the model must struggle on Dream
    y = np.where(x + rng.normal(0, noise) > 0, "yes", "no")
    pd.DataFrame({"island": island, "x": x, "weight": rng.normal(50, 5, n), "y": y}).to_csv(d / "p.csv", index=False)
    return d


@pytest.mark.slow
def test_slices_equal_sklearn_per_slice_and_find_the_weak_one(tmp_path, penguin_like):
    result, _ = run_report(tmp_path, ["data=file", f"data.path={penguin_like / 'p.csv'}", "data.target=y",
                                      "model=logistic", "analyses.slices.by=[island,weight]",
                                      "report.analyses=[metrics,slices,errors]"])
    payload = result.metrics["results"]["slices"]
    assert payload["worst"] == {"column": "island", "value": "Dream", "clearly_weaker": True}
    rows = {(r["column"], r["value"]): r for r in payload["slices"]}
    small = rows[("island", "Torgersen")]
    assert small["small"] == (small["n"] < 30)
    assert sum(r["n"] for r in payload["slices"] if r["column"] == "weight") == result.metrics["n_test"]
    assert len([r for r in payload["slices"] if r["column"] == "weight"]) == 4
    for r in payload["slices"]:
        if r["accuracy_ci"]:
            assert r["accuracy_ci"][0] <= r["accuracy"] <= r["accuracy_ci"][1]
    errors = result.metrics["results"]["errors"]
    confidences = [row["P(predicted)"] for row in errors["rows"]]
    assert confidences == sorted(confidences, reverse=True) and all(c >= 0.5 for c in confidences)
    assert errors["n_errors"] == round((1 - result.metrics["metrics"]["accuracy"]) * result.metrics["n_test"])


@pytest.mark.slow
def test_slice_column_that_does_not_exist_exits_2(penguin_like):
    proc = cli(["data=file", "data.path=p.csv", "data.target=y", "analyses.slices.by=[colour]"], cwd=penguin_like)
    assert proc.returncode == 2 and "colour" in proc.stderr and "island" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_regression_diagnostics_and_largest_residuals(tmp_path):
    result, _ = run_report(tmp_path, ["data=diabetes", "model=random_forest", "model.params.n_estimators=50"])
    doc = result.metrics
    res = doc["results"]["residuals"]
    assert sum(d["rows"] for d in res["by_decile"]) == doc["n_test"] == sum(res["histogram"]["counts"])
    rows = doc["results"]["errors"]["rows"]
    residuals = [abs(r["Residual"]) for r in rows]
    assert residuals == sorted(residuals, reverse=True)
    assert residuals[0] == pytest.approx(doc["metrics"]["max_error"])
    for name in ("mae", "rmse", "r2"):
        lo, hi = doc["results"]["metrics"][f"{name}_ci"]
        assert lo <= doc["metrics"][name] <= hi


def logged(tmp_path, frame, name="preds.parquet"):
    frame.to_parquet(tmp_path / name) if name.endswith(".parquet") else frame.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


@pytest.mark.slow
def test_logged_binary_predictions_without_a_model(tmp_path):
    y, s = scores(2000, seed=5)
    frame = pd.DataFrame({"label": np.where(y == 1, "churn", "stay"), "p": s, "region": "north"})
    path = logged(tmp_path, frame)
    result, out = run_report(tmp_path, ["data=predictions", f"data.path={path}", "data.target=label",
                                        "data.scores=[p]", "data.prediction=null", "data.positive_label=churn"],
                             formats=("json", "html"))
    m = result.metrics["metrics"]
    assert result.metrics["n_train"] == 0 and result.metrics["task"] == "binary"
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, s >= 0.5))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, s))
    thresholds = result.metrics["results"]["thresholds"]
    assert 0 < thresholds["best_f1_threshold"] < 1
    html = (out / "report.html").read_text()
    assert "Executive summary" in html and "Calibration:" in html
    change_ci = thresholds["cost_change_vs_default_ci"]  # the verdict follows the paired interval of the gain
    if thresholds["choices"]["lowest expected cost"]["cost"] < thresholds["choices"]["default"]["cost"]:
        said = "Recommended threshold" if change_ci[1] < 0 else "is not clearly worse"
        assert said in html


@pytest.mark.slow
def test_logged_multiclass_scores_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)
    proba = rng.dirichlet(np.ones(3), 500)
    proba[np.arange(500), y] += 0.4
    proba /= proba.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"y_true": y, "y_pred": proba.argmax(axis=1), "s0": proba[:, 0], "s1": proba[:, 1],
                          "s2": proba[:, 2]})
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={logged(tmp_path, frame, 'm.csv')}",
                                      "data.scores=[s0,s1,s2]"])
    m = result.metrics["metrics"]
    assert result.metrics["task"] == "multiclass"
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["roc_auc_ovo"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovo"))  # Hand & Till
    low, high = result.metrics["results"]["metrics"]["roc_auc_ovo_ci"]
    assert low < m["roc_auc_ovo"] < high
    assert m["f1"] == pytest.approx(skm.f1_score(y, proba.argmax(axis=1), average="macro"))
    target = rng.normal(size=300) * 10
    frame = pd.DataFrame({"y_true": target, "y_pred": target + rng.normal(size=300)})
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={logged(tmp_path, frame, 'r.csv')}"])
    assert result.metrics["task"] == "regression"
    assert result.metrics["metrics"]["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(target, frame.y_pred)))


@pytest.mark.parametrize("args,fragment", [
    (["data.scores=[p_missing]"], "p_missing"),
    (["data.target=label"], "label"),
    (["data.prediction=guess"], "guess"),
    (["data.scores=[a,b]"], "data.scores"),
])
@pytest.mark.slow
def test_predictions_file_without_the_named_columns_exits_2(tmp_path, args, fragment):
    y, s = scores(100)
    frame = pd.DataFrame({"y_true": y, "y_pred": (s > 0.5).astype(int), "a": s, "b": 1 - s})
    logged(tmp_path, frame, "preds.csv")
    proc = cli(["data=predictions", "data.path=preds.csv", *args], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_cost_matrix_with_negative_entries_exits_2(tmp_path):
    proc = cli(["data=iris", "analyses.thresholds.cost.fn=-3"], cwd=tmp_path)
    assert proc.returncode == 2 and "cost.fn" in proc.stderr
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.slow
def test_calibration_payload_matches_sklearn_brier(tmp_path):
    result, _ = run_report(tmp_path, ["data=wine", "model=logistic", "report.analyses=[metrics,calibration]"])
    cal, metrics = result.metrics["results"]["calibration"], result.metrics["metrics"]
    assert cal["brier"] == pytest.approx(metrics["brier"])
    assert set(cal["curves"]) == {"top label", "class_0", "class_1", "class_2"}
    assert cal["ece_ci"][0] <= cal["ece"] <= cal["ece_ci"][1]


@pytest.mark.slow
def test_thresholds_are_chosen_on_out_of_fold_scores_and_judged_on_the_test_rows(tmp_path):
    """The lowest-cost threshold equals a brute-force search over the configured model's out-of-fold scores
    (the same folds), and its cost is the test rows' cost at that threshold."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from postreport.data import load_dataset
    from postreport.models.build import make_estimator
    from conftest import make_cfg

    overrides = ["report.analyses=[thresholds]", "analyses.thresholds.cost.fn=5"]
    result, out = run_report(tmp_path, overrides)
    t = result.metrics["results"]["thresholds"]
    assert t["selection"] == "out-of-fold"
    cfg = make_cfg(overrides)
    data = load_dataset(cfg.data, 0)
    estimator, _, _ = make_estimator(cfg.model, data.task, 0)
    proba = cross_val_predict(estimator, data.X_train, data.y_train, method="predict_proba",
                              cv=StratifiedKFold(5, shuffle=True, random_state=0))[:, 1]
    y = (data.y_train == data.positive_label).to_numpy()
    costs = {c: np.sum((proba >= c) & ~y) * 1 + np.sum((proba < c) & y) * 5 for c in np.unique(proba)}
    best = min(costs, key=lambda c: (costs[c], -c))
    assert t["min_cost_threshold"] == pytest.approx(best)
    preds = pd.read_parquet(out / "predictions.parquet")
    yt = (preds["y_true"] == data.positive_label).to_numpy()
    flagged = preds[f"score_{data.positive_label}"].to_numpy() >= best
    expected = (np.sum(flagged & ~yt) + 5 * np.sum(~flagged & yt)) / len(yt)
    assert t["choices"]["lowest expected cost"]["cost"] == pytest.approx(expected)
    low, high = t["cost_ci"]["lowest expected cost"]
    assert low <= expected <= high and t["threshold_ci"]["lowest expected cost"][0] <= best


@pytest.mark.slow
def test_without_training_data_thresholds_are_cross_fitted_on_test_halves(tmp_path):
    rng = np.random.default_rng(4)
    y = (rng.random(600) < 0.4).astype(int)
    score = np.clip(0.35 * y + rng.random(600) * 0.65, 0, 1)
    frame = pd.DataFrame({"y_true": y, "p": score})
    frame.to_csv(tmp_path / "p.csv", index=False)
    result, out = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'p.csv'}", "data.scores=[p]",
                                        "report.analyses=[thresholds]"], formats=("json", "html"))
    t = result.metrics["results"]["thresholds"]
    assert t["selection"] == "cross-fitted" and 0 < t["min_cost_threshold"] < 1
    assert "cross-fitted on the test rows" in (out / "report.html").read_text()


@pytest.mark.slow
def test_calibration_slope_intercept_wilson_and_recalibration(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from postreport.stats.calibration import logistic_recalibration
    from postreport.stats.proportions import wilson

    low, high = wilson(3, 10, 1.959964)  # Wilson (1927) for 3 of 10: [0.1078, 0.6032]
    assert (round(low, 4), round(high, 4)) == (0.1078, 0.6032)
    rng = np.random.default_rng(0)
    score = rng.beta(2, 2, 2000)
    logit = np.log(score / (1 - score))
    outcome = (rng.random(2000) < 1 / (1 + np.exp(-(0.3 + 0.6 * logit)))).astype(float)
    (a, b), _ = logistic_recalibration(score, outcome)
    ref = LogisticRegression(penalty=None, tol=1e-10, max_iter=1000).fit(logit[:, None], outcome)
    assert a == pytest.approx(ref.intercept_[0], abs=1e-5) and b == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    result, _ = run_report(tmp_path, ["report.analyses=[metrics,calibration]"])
    c = result.metrics["results"]["calibration"]
    assert c["slope_ci"][0] < c["slope"] < c["slope_ci"][1] and "10 uniform bins" in c["ece_variant"]
    assert c["ece_debiased"] < c["ece"]
    platt = c["recalibration"]["methods"]["platt"]["brier"]
    assert platt["before"] == pytest.approx(result.metrics["metrics"]["brier"])
    assert c["recalibration"]["fitted_on"].startswith("out-of-fold scores of 426 training rows")
    for (lo, hi), f in zip(c["bins_wilson_ci"], c["curves"]["positive"]["fraction_positive"]):
        assert lo <= f <= hi
