"""Data loading (task inference, positive label, categoricals) and models from files, checked directly."""
import numpy as np
import pandas as pd
import pytest

from conftest import make_cfg, run_report
from postreport.data import load_dataset
from postreport.errors import UserError
from postreport.models.build import build_candidate
from postreport.run.predictions import predict


def write(tmp_path, frame, name="d.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False) if name.endswith(".csv") else frame.to_parquet(path)
    return str(path)


def dataset(tmp_path, frame, *overrides, name="d.csv"):
    cfg = make_cfg(["data=file", f"data.path={write(tmp_path, frame, name)}", *overrides])
    return load_dataset(cfg.data, cfg.seed)


@pytest.mark.parametrize("values,task", [
    (["x", "y"] * 50, "binary"),
    ([True, False] * 50, "binary"),
    ([0, 1, 2, 3] * 25, "multiclass"),
    (list(np.linspace(0, 1, 100)), "regression"),
    (list(range(100)), "regression"),
])
def test_task_is_inferred_from_the_target(tmp_path, values, task):
    frame = pd.DataFrame({"f": np.arange(100.0), "y": values})
    assert dataset(tmp_path, frame, "data.target=y").task == task


def test_task_can_be_forced_and_a_bad_task_is_refused(tmp_path):
    frame = pd.DataFrame({"f": np.arange(100.0), "y": [0, 1, 2, 3] * 25})
    assert dataset(tmp_path, frame, "data.target=y", "data.task=regression").task == "regression"
    with pytest.raises(UserError, match="data.task='ordinal'.*binary, multiclass, regression"):
        dataset(tmp_path, frame, "data.target=y", "data.task=ordinal")


def test_positive_label_default_and_override(tmp_path):
    frame = pd.DataFrame({"f": np.arange(100.0), "y": ["no", "yes"] * 50})
    assert dataset(tmp_path, frame, "data.target=y").positive_label == "yes"  # last in sorted order
    assert dataset(tmp_path, frame, "data.target=y", "data.positive_label=no").positive_label == "no"
    with pytest.raises(UserError, match="maybe.*'no', 'yes'"):
        dataset(tmp_path, frame, "data.target=y", "data.positive_label=maybe")
    ints = pd.DataFrame({"f": np.arange(100.0), "y": [0, 1] * 50})
    assert dataset(tmp_path, ints, "data.target=y").positive_label == 1


def test_text_columns_become_shared_categoricals_and_rows_without_target_are_dropped(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"colour": rng.choice(["red", "blue", None], 200), "n": rng.normal(size=200),
                          "y": rng.choice(["a", "b"], 200)})
    frame.loc[:4, "y"] = None
    data = dataset(tmp_path, frame, "data.target=y")
    assert data.categorical == ["colour"]
    assert list(data.X_train["colour"].cat.categories) == list(data.X_test["colour"].cat.categories) == ["blue", "red"]
    assert data.n_train + data.n_test == 195 and any("5 rows" in n for n in data.notes)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lightgbm", "random_forest", "logistic", "hist_gradient_boosting", "mlp"])
def test_every_model_fits_categoricals_and_missing_values(tmp_path, model):
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "blue", "green"], n)
    x = rng.normal(size=n)
    x[::10] = np.nan
    y = np.where((colour == "red") | (np.nan_to_num(x) > 1), "hit", "miss")
    frame = pd.DataFrame({"colour": colour, "x": x, "y": y})
    frame.loc[::13, "colour"] = None
    result, _ = run_report(tmp_path, ["data=file", f"data.path={write(tmp_path, frame)}", "data.target=y",
                                      f"model={model}", "analyses.feature_importance.repeats=2",
                                      "analyses.feature_importance.shap_rows=30"])
    assert result.exit_code == 0
    assert result.metrics["metrics"]["accuracy"] > 0.7


def test_lightgbm_text_model_predicts_like_the_booster(tmp_path):
    import lightgbm

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a b", "c", "d"])
    y = (X["a b"] + X["c"] > 0).astype(int)
    booster = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, y), 20)
    booster.save_model(str(tmp_path / "m.txt"))
    test = X.iloc[200:].assign(y=y.iloc[200:], unused=1.0)
    cfg = make_cfg(["model=file", f"model.path={tmp_path / 'm.txt'}", "data=file",
                    f"data.test_path={write(tmp_path, test, 't.parquet')}", "data.target=y"])
    data = load_dataset(cfg.data, 0)
    candidate = build_candidate(cfg.model, data, 0)
    pred = predict(candidate, data)
    expected = booster.predict(X.iloc[200:])
    np.testing.assert_allclose(pred.scores_for(1), expected)
    np.testing.assert_array_equal(pred.y_pred, (expected >= 0.5).astype(int))
    assert any("unused" in n for n in candidate.notes)  # the extra column is left out, with a note
    assert data.n_train == 0


def test_regression_model_file_refused_for_classification(tmp_path):
    import lightgbm

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "b"])
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, X["a"] * 2), 5)
    booster.save_model(str(tmp_path / "r.txt"))
    test = X.assign(y=(X["a"] > 0).astype(int))
    cfg = make_cfg(["model=file", f"model.path={tmp_path / 'r.txt'}", "data=file",
                    f"data.test_path={write(tmp_path, test)}", "data.target=y"])
    with pytest.raises(UserError, match="regression model"):
        build_candidate(cfg.model, load_dataset(cfg.data, 0), 0)


@pytest.mark.slow
def test_a_model_that_does_not_converge_says_so_in_the_report(tmp_path):
    result, out = run_report(tmp_path, ["data=wine", "model=mlp", "model.params.max_iter=3",
                                        "report.analyses=[metrics]"], formats=("html", "json"))
    assert "did not converge" in (out / "report.html").read_text()


def test_a_lightgbm_estimator_fitted_on_names_with_spaces_loads_from_skops(tmp_path):
    """LightGBM stores breast cancer's 'mean radius' as 'mean_radius': its scikit-learn estimator saved with skops
    was refused (exit 2, 'needs columns the data lacks') though the columns are the same; now they are matched as
    LightGBM rewrites them, with a note, and it predicts as the original on the data's own columns."""
    from types import SimpleNamespace

    import lightgbm
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer

    from postreport.models.build import load_candidate

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X[:400], y[:400])
    sio.dump(model, tmp_path / "lgb.skops")
    data = SimpleNamespace(task="binary", labels=[0, 1], X_test=X[400:].reset_index(drop=True), X_train=None,
                           features=list(X.columns), target="target")
    candidate = load_candidate(SimpleNamespace(path=str(tmp_path / "lgb.skops"), trust=True), data)
    assert any("spaces written as '_'" in n for n in candidate.notes)
    assert list(data.X_test.columns) == list(X.columns)
    np.testing.assert_allclose(candidate.estimator.predict_proba(data.X_test), model.predict_proba(X[400:]))


def test_labels_from_the_probabilities_pass_equal_the_models_own_predict():
    """Predict once: for the models whose predict is classes_[argmax(predict_proba)] in their own code, the labels
    come from the probabilities' pass (a 200-class LightGBM: 6 s a pass on 1,250 rows), equal to predict() itself;
    any other model is asked for both."""
    from types import SimpleNamespace

    import lightgbm
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from postreport.run.predictions import predict, predicts_top_class

    X, y = make_classification(400, 8, n_informative=5, n_classes=4, random_state=1)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    names = np.array(["a", "b", "c", "d"])[y]
    data = SimpleNamespace(task="multiclass", labels=["a", "b", "c", "d"], X_test=X, y_test=pd.Series(names),
                           logged=None)
    for model, top in ((lightgbm.LGBMClassifier(n_estimators=15, verbose=-1), True),
                       (RandomForestClassifier(20, random_state=0), True),
                       (HistGradientBoostingClassifier(max_iter=15), True), (LogisticRegression(max_iter=500), False)):
        model.fit(X, names)
        assert predicts_top_class(model) == top
        got = predict(SimpleNamespace(estimator=model, notes=[]), data)
        assert (got.y_pred == model.predict(X)).all() and got.y_pred.dtype == model.predict(X).dtype
