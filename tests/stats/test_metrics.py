"""metrics.json against independent computations: sklearn on an independently made split and model,
and hand-worked small cases."""
import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import label_binarize

from conftest import make_cfg, run_report
from postreport.analyses.confusion import confusion
from postreport.stats.metrics import binary_metrics, regression_metrics


def independent_split(loader, names=True, stratify=True, seed=0):
    bunch = loader(as_frame=True)
    X, y = bunch.data, bunch.target
    if names:
        y = y.map(dict(enumerate(bunch.target_names)))
    return train_test_split(X, y, test_size=0.25, stratify=y if stratify else None, random_state=seed)


@pytest.mark.slow
def test_binary_metrics_equal_sklearn(tmp_path):
    import lightgbm

    result, _ = run_report(tmp_path)
    doc = result.metrics
    X_tr, X_te, y_tr, y_te = independent_split(datasets.load_breast_cancer)
    params = dict(make_cfg().model.params)
    model = lightgbm.LGBMClassifier(**params, random_state=0).fit(X_tr, y_tr)
    pred = model.predict(X_te)
    score = model.predict_proba(X_te)[:, list(model.classes_).index("malignant")]
    pos = (y_te == "malignant").astype(int)
    m = doc["metrics"]
    assert doc["task"] == "binary" and doc["n_train"] == len(y_tr) and doc["n_test"] == len(y_te)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_te, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_te, pred))
    # positive label default: the last label in sorted order ('benign' < 'malignant')
    assert m["precision"] == pytest.approx(skm.precision_score(y_te, pred, pos_label="malignant"))
    assert m["recall"] == pytest.approx(skm.recall_score(y_te, pred, pos_label="malignant"))
    assert m["f1"] == pytest.approx(skm.f1_score(y_te, pred, pos_label="malignant"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(pos, score))
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(pos, score))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_te, model.predict_proba(X_te)))
    assert m["brier"] == pytest.approx(np.mean((pos - score) ** 2))
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y_te, pred))
    cm = doc["results"]["confusion_matrix"]
    assert cm["labels"] == ["benign", "malignant"]
    assert cm["matrix"] == skm.confusion_matrix(y_te, pred, labels=["benign", "malignant"]).tolist()
    assert sum(map(sum, cm["matrix"])) == doc["n_test"]
    assert (cm["tp"], cm["fn"], cm["fp"], cm["tn"]) == (
        int(((pred == "malignant") & (pos == 1)).sum()), int(((pred != "malignant") & (pos == 1)).sum()),
        int(((pred == "malignant") & (pos == 0)).sum()), int(((pred != "malignant") & (pos == 0)).sum()))
    status = {s["name"]: s["status"] for s in doc["sections"]}
    assert status["metrics"] == status["confusion_matrix"] == status["curves"] == "ok"
    assert status["residuals"] == "skipped"
    for name, value in m.items():  # every metric's interval holds its point estimate
        lo, hi = doc["results"]["metrics"][f"{name}_ci"]
        assert lo - 1e-9 <= value <= hi + 1e-9, name


@pytest.mark.slow
def test_multiclass_metrics_equal_sklearn(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    result, _ = run_report(tmp_path, ["data=wine", "model=logistic"])
    m = result.metrics["metrics"]
    X_tr, X_te, y_tr, y_te = independent_split(datasets.load_wine)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, random_state=0)).fit(X_tr, y_tr)
    pred, proba = model.predict(X_te), model.predict_proba(X_te)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_te, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y_te, pred, average="macro"))
    assert m["recall"] == pytest.approx(skm.recall_score(y_te, pred, average="macro"))
    assert m["f1"] == pytest.approx(skm.f1_score(y_te, pred, average="macro"))
    assert m["f1_weighted"] == pytest.approx(skm.f1_score(y_te, pred, average="weighted"))
    assert m["f1_micro"] == pytest.approx(skm.f1_score(y_te, pred, average="micro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y_te, proba, multi_class="ovr"))
    onehot = label_binarize(y_te, classes=model.classes_)
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(onehot, proba, average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_te, proba))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y_te, proba))
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y_te, pred))
    cm = result.metrics["results"]["confusion_matrix"]
    assert cm["matrix"] == skm.confusion_matrix(y_te, pred, labels=list(model.classes_)).tolist()
    assert sum(map(sum, cm["matrix"])) == len(y_te)


@pytest.mark.slow
def test_regression_metrics_equal_sklearn(tmp_path):
    import lightgbm

    result, _ = run_report(tmp_path, ["data=diabetes"])
    doc = result.metrics
    X_tr, X_te, y_tr, y_te = independent_split(datasets.load_diabetes, names=False, stratify=False)
    model = lightgbm.LGBMRegressor(**dict(make_cfg(["data=diabetes"]).model.params), random_state=0).fit(X_tr, y_tr)
    pred = model.predict(X_te)
    m = doc["metrics"]
    assert doc["task"] == "regression"
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y_te, pred))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y_te, pred)))
    assert m["r2"] == pytest.approx(skm.r2_score(y_te, pred))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y_te, pred))
    assert m["median_ae"] == pytest.approx(skm.median_absolute_error(y_te, pred))
    assert m["max_error"] == pytest.approx(skm.max_error(y_te, pred))
    statuses = {s["name"]: s for s in doc["sections"]}
    assert statuses["confusion_matrix"]["status"] == "skipped" and "regression" in statuses["confusion_matrix"]["error"]
    assert result.exit_code == 0


def test_hand_worked_binary_case():
    # 6 rows; positive 'y'. TP=2 (rows 0,1), FN=1 (row 2), FP=1 (row 3), TN=2 (rows 4,5)
    y_true = np.array(["y", "y", "y", "n", "n", "n"], dtype=object)
    y_pred = np.array(["y", "y", "n", "y", "n", "n"], dtype=object)
    proba_y = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.1])
    proba = np.column_stack([1 - proba_y, proba_y])  # classes ['n', 'y']
    r = binary_metrics((y_true == "y").astype(int), (y_pred == "y").astype(int), proba[:, 1], "y")
    v = r.values
    assert v["accuracy"] == pytest.approx(4 / 6)
    assert v["precision"] == pytest.approx(2 / 3) and v["recall"] == pytest.approx(2 / 3)
    assert v["f1"] == pytest.approx(2 / 3)
    # AUC: positives 0.9, 0.8, 0.4 vs negatives 0.7, 0.2, 0.1 -> 8 of 9 pairs ordered correctly
    assert v["roc_auc"] == pytest.approx(8 / 9)
    brier = np.mean((np.array([1, 1, 1, 0, 0, 0]) - proba_y) ** 2)
    assert v["brier"] == pytest.approx(brier)
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (4 - 1) / 9
    assert v["mcc"] == pytest.approx(3 / 9)
    c = confusion(y_true, y_pred, ["n", "y"], positive="y")
    assert c.binary_counts() == {"tp": 2, "fn": 1, "fp": 1, "tn": 2}
    assert c.matrix.tolist() == [[2, 1], [1, 2]]


def test_undefined_metrics_are_null_with_a_note():
    y_true = np.array([1, 1, 1])
    y_pred = np.array([1, 0, 1])
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]])
    r = binary_metrics(y_true, y_pred, proba[:, 1], 1)
    assert r.values["roc_auc"] is None and r.values["average_precision"] is None
    assert any("one class" in n for n in r.notes)
    assert r.values["accuracy"] == pytest.approx(2 / 3)
    # no predicted positives: precision undefined (null), not 0 and not a crash
    r = binary_metrics(np.array([0, 1]), np.array([0, 0]), None, 1)
    assert r.values["precision"] is None and r.values["roc_auc"] is None
    assert any("no probabilities" in n for n in r.notes)
    reg = regression_metrics(np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.0, 2.5]))
    assert reg.values["mape"] is None and reg.values["mae"] == pytest.approx(1 / 3)


def test_multiclass_confusions_rank_the_largest_off_diagonal_cells():
    y_true = np.array(list("aaaabbbccc"))
    y_pred = np.array(list("abbbbbbcca"))
    c = confusion(y_true, y_pred, ["a", "b", "c"], top=2)
    assert c.matrix.tolist() == [[1, 3, 0], [0, 3, 0], [1, 0, 2]]
    assert c.top_confusions[0] == ("a", "b", 3, 0.75)
    assert c.top_confusions[1] == ("c", "a", 1, pytest.approx(1 / 3))
    payload = c.to_json()
    assert payload["support"] == {"a": 4, "b": 3, "c": 3}


def honest(y, pred, counts):
    from postreport.stats import bootstrap
    from postreport.config import BootstrapConfig

    result = binary_metrics(y, pred, None, 1).with_intervals(
        bootstrap.binary(y, pred, None, BootstrapConfig(resamples=200), 0, stratified=False))
    return result.honest_for_small_classes(counts, float(np.sum(y == pred)), len(y), tp=float(np.sum(y * pred)),
                                           predicted=float(pred.sum()), positives=float(y.sum()))


@pytest.mark.parametrize("smaller,note,small", [(5, False, True), (18, True, False), (40, False, False)])
def test_intervals_at_few_rows_of_a_class_are_said_to_be_approximate(smaller, note, small):
    """Under 10 rows of a class: Wilson intervals (unreliable flags); 10 to 29: a note that the bootstrap's intervals
    are approximate (92 % measured at 18 rows); 30 or more: nothing said."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(smaller), np.zeros(100)].astype(int)
    pred = np.where(rng.random(len(y)) < 0.8, y, 1 - y)
    result = honest(y, pred, {0: 100, 1: smaller})
    said = [n for n in result.notes if "approximate" in n]
    assert bool(said) == note and bool(result.small_classes) == small
    if note:
        assert f"1: {smaller}" in said[0] and "fewer than 30" in said[0]


@pytest.mark.parametrize("wrong,wilson,unreliable", [(1, True, True), (2, True, True), (4, True, False),
                                                     (30, False, False)])
def test_proportions_near_all_or_none_get_wilson_intervals(wrong, wilson, unreliable):
    """45 positives and 55 negatives, `wrong` positives missed: with fewer than 10 missed, recall's percentile
    interval is too narrow (44 of 45: [1, 1] in a third of resamples' worlds) and Wilson's is used, equal to
    statsmodels'; with fewer than 3 errors in all, F1's bootstrap interval is marked unreliable."""
    from statsmodels.stats.proportion import proportion_confint

    y = np.r_[np.ones(45), np.zeros(55)].astype(int)
    pred = y.copy()
    pred[:wrong] = 0
    result = honest(y, pred, {0: 55, 1: 45})
    assert (result.ci_method.get("recall") == "wilson") == wilson
    if wilson:
        assert result.ci["recall"] == pytest.approx(list(proportion_confint(45 - wrong, 45, 0.05, "wilson")))
        assert result.to_json()["ci_method"]["recall"] == "wilson"
    assert ("f1" in result.unreliable) == unreliable and "accuracy" not in result.unreliable
    assert not result.small_classes


def test_a_predicted_label_the_data_lacks_averages_over_the_datas_labels_in_point_and_interval():
    """8 % of predictions are 'zzz', a label no test row has: the macro precision, recall and F1 and their bootstrap
    intervals both average over the data's labels (scikit-learn's with labels=the data's), those rows count as wrong
    (accuracy), a note says so, and each point lies inside its interval (it lay 0.2 above it)."""
    from types import SimpleNamespace

    from postreport.stats.bootstrap import BootstrapSettings
    from postreport.stats.encoding import encode
    from postreport.stats.metrics import intervals, point_metrics

    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    y = rng.choice(labels, 1000)
    pred = np.where(rng.random(1000) < 0.1, rng.choice(labels, 1000), y).astype(object)
    pred[rng.random(1000) < 0.08] = "zzz"
    data = SimpleNamespace(task="multiclass", labels=labels, positive_label=None)
    preds = SimpleNamespace(y_true=y, y_pred=pred, proba=None, classes=labels, probabilities=True, weight=None,
                            loss=None, sq=None, cells=None)
    enc = encode(data, preds)
    result = point_metrics(data, preds, enc).with_intervals(
        intervals("multiclass", preds, enc, BootstrapSettings(resamples=300), 0))
    for name in ("precision", "recall", "f1"):
        expected = getattr(skm, f"{name}_score")(y, pred, labels=labels, average="macro", zero_division=0.0)
        assert result.values[name] == pytest.approx(expected)
        low, high = result.ci[name]
        assert low <= result.values[name] <= high, name
    assert result.values["accuracy"] == pytest.approx(np.mean(y == pred))
    assert any("'zzz'" in n and "count as wrong" in n for n in result.notes)


def test_a_binary_prediction_of_a_third_label_is_refused_naming_it():
    """Binary metrics count a prediction as the positive class or not: a third label on a negative row would count
    as right (accuracy 0.90 printed for 0.86), so it is an error naming the label; multiclass gets the note."""
    from postreport.data.labels import check_predicted_labels
    from postreport.errors import UserError

    with pytest.raises(UserError, match=r"include \['zzz'\], neither of the two true labels"):
        check_predicted_labels(["a", "b"], ["a", "b", "zzz"], "y_true", "y_pred", "binary")
    assert "'zzz'" in check_predicted_labels(["a", "b", "c"], ["a", "zzz"], "y_true", "y_pred", "multiclass")


def test_rounded_probabilities_are_renormalised_and_any_scores_get_the_one_vs_rest_auc():
    """Probabilities rounded to 4 decimals (rows sum to 1 +- 1e-4) are divided by their sums, with a note; the
    one-vs-rest AUC ranks scores that are not probabilities (logits) as scikit-learn's per-column AUC does."""
    from postreport.data.decide import are_probabilities, renormalised
    from postreport.stats.ranking import ovr_macro_auc

    rng = np.random.default_rng(1)
    p = rng.dirichlet([1, 1, 1], 500)
    rounded = np.round(p, 4)
    assert are_probabilities(rounded) and not np.allclose(rounded.sum(axis=1), 1)
    notes = []
    fixed = renormalised(rounded, notes)
    np.testing.assert_allclose(fixed.sum(axis=1), 1, atol=1e-12)
    assert "divided by its sum" in notes[0]
    assert renormalised(fixed, notes) is fixed and len(notes) == 1
    y = np.array([rng.choice(3, p=row) for row in p])
    logits = np.log(p) + 3.0 * rng.random((500, 1))
    expected = np.mean([skm.roc_auc_score(y == k, logits[:, k]) for k in range(3)])
    assert ovr_macro_auc(y, logits) == pytest.approx(expected)


def test_an_interval_that_misses_its_own_estimate_is_dropped_with_a_note():
    """Macro average precision over 200 classes of ~6 rows: its resamples all lay above the estimate (0.128 outside
    [0.134, 0.167], found by the suite's invariant); no interval is printed then, with the reason."""
    from postreport.stats import bootstrap
    from postreport.stats.metrics import MetricsResult

    samples = {"average_precision": np.linspace(0.134, 0.167, 200), "accuracy": np.linspace(0.1, 0.2, 200)}
    result = MetricsResult("multiclass", {"average_precision": 0.128, "accuracy": 0.15}, "macro").with_intervals(
        bootstrap.Intervals(samples, 0.95, 200))
    assert result.ci["average_precision"] is None and result.ci["accuracy"] is not None
    assert any("No interval for Average precision" in n for n in result.notes)
