"""Explanations against exact identities and independent computations."""
import numpy as np
import pandas as pd
import pytest
from conftest import run_report

from postreport.explain import anatomy as anatomy_module, attributions, gradients, permutation
from postreport.explain.partial_dependence import batched_partial_dependence
from postreport.explain.anatomy import anatomy
from postreport.planning.plan import FLOOR_ROWS


def test_treeshap_plus_expected_value_is_lightgbm_raw_score():
    import lightgbm
    from sklearn.datasets import load_breast_cancer, load_iris

    for loader, task in ((load_breast_cancer, "binary"), (load_iris, "multiclass")):
        X, y = loader(return_X_y=True, as_frame=True)
        model = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(X, y)
        values, base = attributions.tree_shap(anatomy(model), X, task)
        raw = model.predict(X, raw_score=True)
        contrib = np.asarray(model.predict(X, pred_contrib=True))
        if task == "binary":
            np.testing.assert_allclose(values.sum(axis=1) + contrib[:, -1], raw, rtol=1e-9, atol=1e-9)
            assert base == pytest.approx(contrib[:, -1].mean())
        else:
            bias = contrib.reshape(len(X), 3, -1)[:, :, -1]
            np.testing.assert_allclose(values.sum(axis=1) + bias, raw, rtol=1e-9, atol=1e-9)


def test_linear_contributions_are_exact_and_one_hot_columns_are_summed_back():
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": rng.normal(size=200), "colour": pd.Categorical(rng.choice(["r", "g", "b"], 200))})
    y = ((X["size"] > 0) ^ (X["colour"] == "r")).astype(int)
    pre = ColumnTransformer([("num", StandardScaler(), make_column_selector(dtype_exclude="category")),
                             ("cat", OneHotEncoder(sparse_output=False), make_column_selector(dtype_include="category"))],
                            verbose_feature_names_out=False)
    model = Pipeline([("preprocess", pre), ("model", LogisticRegression())]).fit(X, y)
    an = anatomy(model)
    values, base = attributions.linear_contributions(an, X, X, "binary")
    np.testing.assert_allclose(values.sum(axis=1) + base, model.decision_function(X), atol=1e-9)
    sources = an.transformed_sources(list(X.columns))
    assert sources == ["size", "colour", "colour", "colour"]
    per_column = anatomy_module.aggregate(values, sources, list(X.columns), axis=1)
    assert per_column.shape == (200, 2)
    np.testing.assert_allclose(per_column.sum(axis=1), values.sum(axis=1))


def test_sampling_shapley_recovers_known_shapley_values():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(20, 4)), columns=list("abcd"))
    baseline = pd.DataFrame([[0.5, -1.0, 2.0, 0.0]], columns=list("abcd"))  # one background row: exact game
    w = np.array([3.0, -2.0, 0.5, 0.0])

    def linear(frame):
        return (frame.to_numpy() @ w)[:, None]

    values, base = attributions.sampling_shapley(linear, X, baseline, permutations=5, seed=0)
    np.testing.assert_allclose(values, (X.to_numpy() - baseline.to_numpy()) * w, atol=1e-12)
    np.testing.assert_allclose(values.sum(axis=1) + base, linear(X)[:, 0], atol=1e-12)  # efficiency

    def product(frame):  # f = a * b against a zero baseline: each of a, b gets a * b / 2
        return (frame["a"] * frame["b"]).to_numpy()[:, None]

    zero = pd.DataFrame([[0.0] * 4], columns=list("abcd"))
    values, _ = attributions.sampling_shapley(product, X, zero, permutations=400, seed=0)
    half = (X["a"] * X["b"]).to_numpy() / 2
    np.testing.assert_allclose(values[:, 0], half, atol=0.15 * np.abs(half).max())
    np.testing.assert_allclose(values[:, 0] + values[:, 1], 2 * half, atol=1e-12)
    assert np.all(values[:, 2:] == 0)


def test_occlusion_is_zero_outside_the_region_a_model_reads():
    shape = (8, 8)
    region = np.zeros(shape, dtype=bool)
    region[2:4, 5:7] = True

    def predict(images):  # a "model" that only looks at four pixels
        s = 1 / (1 + np.exp(-(images.reshape(len(images), -1)[:, region.ravel()].sum(axis=1) - 8)))
        return np.column_stack([1 - s, s])

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 16, size=(5, 64))
    from postreport.explain import image_saliency

    maps = image_saliency.occlusion(predict, image_saliency.Images(shape, 1, np.zeros(64)), images,
                                    np.ones(5, dtype=int), 1, 1)
    assert np.all(maps[:, ~region] == 0)
    assert np.all(np.abs(maps[:, region]) > 0)


def test_mlp_gradient_matches_finite_differences():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 1)
    mlp = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=300, random_state=0).fit(X, y)
    target = mlp.predict(X[:4])
    grad = gradients._mlp_gradient(mlp, X[:4], target)
    eps = 1e-6
    for j in range(6):
        step = np.zeros(6)
        step[j] = eps
        numeric = (mlp.predict_proba(X[:4] + step)[np.arange(4), target]
                   - mlp.predict_proba(X[:4] - step)[np.arange(4), target]) / (2 * eps)
        np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("budget", ["null", "0.000001"])
def test_permutation_importance_ranks_the_planted_feature_first(tmp_path, budget):
    """Also with a budget too small for any pass: one repeat, each pass on plan.FLOOR_ROWS rows, and it says so."""
    rng = np.random.default_rng(2)
    n = 1200
    frame = pd.DataFrame({f"noise_{i}": rng.normal(size=n) for i in range(4)})
    frame["signal"] = rng.normal(size=n)
    frame["y"] = (frame["signal"] + 0.2 * rng.normal(size=n) > 0).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                        "report.analyses=[feature_importance]",
                                        f"analyses.feature_importance.max_seconds={budget}"], formats=("html", "json"))
    payload = result.metrics["results"]["feature_importance"]
    cut = budget != "null"
    assert payload["sample_size"] == (FLOOR_ROWS if cut else 300)
    assert payload["attribution"]["rows"] == (FLOOR_ROWS if cut else 300)
    assert payload["permutation"]["repeats"] == (1 if cut else 5)
    html = (out / "report.html").read_text()
    assert ("Permutation importance used 50 of the 300 sampled test rows" in html) == cut
    assert ("Permutation importance used 1 of analyses.feature_importance.repeats=5" in html) == cut
    assert ("one shuffle on 50 of 300 test rows (one repeat: no spread to show)" in html) == cut
    assert ("over 5 repeats on 300 of 300 test rows (whiskers" in html) == (not cut)
    perm = dict(zip(payload["columns"], payload["permutation"]["mean"]))
    assert max(perm, key=perm.get) == "signal"
    assert all(perm["signal"] > 5 * abs(v) for k, v in perm.items() if k != "signal")
    shap = dict(zip(payload["columns"], payload["attribution"]["mean_abs"]))
    assert max(shap, key=shap.get) == "signal"


@pytest.mark.slow
def test_importance_of_a_one_hot_column_is_under_its_own_name(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    colour = rng.choice(["red", "green", "blue"], n)
    frame = pd.DataFrame({"colour": colour, "x": rng.normal(size=n),
                          "y": np.where(colour == "red", "a", "b")})
    frame.to_csv(tmp_path / "c.csv", index=False)
    result, _ = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'c.csv'}", "data.target=y",
                                      "model=logistic", "report.analyses=[feature_importance,saliency]"])
    payload = result.metrics["results"]["feature_importance"]
    assert payload["columns"] == ["colour", "x"]
    assert payload["attribution"]["method"].startswith("exact linear")
    native = dict(zip(payload["columns"], payload["native"]["abs_coef"]))
    assert native["colour"] > native["x"]
    saliency = result.metrics["results"]["saliency"]
    assert saliency["kind"] == "tabular" and saliency["features"][0] == "colour"


@pytest.mark.slow
def test_digits_mlp_saliency_and_gradient(tmp_path):
    result, _ = run_report(tmp_path, ["data=digits", "model=mlp", "report.analyses=[saliency]"])
    s = result.metrics["results"]["saliency"]
    assert s["kind"] == "image" and s["shape"] == [8, 8] and s["gradient"].startswith("exact input gradient")
    assert len(s["class_maps"]) == 10 and len(s["examples"]) >= 4
    assert any(e["title"].startswith("wrong") for e in s["examples"])


def test_batched_permutation_importance_equals_shuffling_one_column_at_a_time():
    """The batched computation against the definition: the same shuffles (column by column, repeat by repeat),
    each scored with scikit-learn on its own; a column the model ignores drops by exactly 0."""
    from types import SimpleNamespace

    import sklearn.metrics as skm
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = pd.Series(np.where(X["a"] + 0.5 * X["b"] + rng.normal(scale=0.5, size=300) > 0, "yes", "no"))
    model = LogisticRegression().fit(X[["a", "b"]].assign(c=0.0), y)  # c's coefficient is 0: ignored
    model.coef_[0, 2] = 0.0
    data = SimpleNamespace(task="binary", X_test=X, y_test=y, positive_label="yes")
    settings = SimpleNamespace(scoring=None, repeats=3)
    result = permutation.permutation(model, data, np.arange(300), settings, seed=11)
    truth = (y == "yes").astype(int)
    base = skm.roc_auc_score(truth, model.predict_proba(X)[:, 1])
    shuffles = np.random.default_rng(11)
    expected = np.empty((3, 3))
    for r in range(3):
        for j in range(3):
            copy = X.copy()
            copy.iloc[:, j] = X.iloc[shuffles.permutation(300), j].to_numpy()
            expected[j, r] = base - skm.roc_auc_score(truth, model.predict_proba(copy)[:, 1])
    np.testing.assert_allclose(result["mean"], expected.mean(axis=1))
    np.testing.assert_allclose(result["std"], expected.std(axis=1))
    assert result["mean"][2] == 0 and result["mean"][0] > result["mean"][1] > 0


def test_batched_permutation_keeps_every_columns_dtype_and_shuffles_only_its_own_column():
    """Shuffled copies are assembled from the frame's blocks: integer and categorical columns keep their dtype (a
    pipeline's encoder sees what it was fitted on), and each copy differs from the rows in one column only."""
    from types import SimpleNamespace

    rng = np.random.default_rng(2)
    n = 40
    X = pd.DataFrame({"f": rng.normal(size=n), "i": rng.integers(0, 5, n),
                      "c": pd.Categorical(rng.choice(["u", "v", "w"], n)), "g": rng.normal(size=n)})
    seen = []

    class Probe:
        classes_ = np.array([0, 1])

        def predict(self, frame):
            assert list(frame.dtypes) == list(X.dtypes)
            blocks = frame.to_numpy(dtype=object).reshape(-1, n, 4)
            original = X.to_numpy(dtype=object)
            for block in blocks:
                changed = [j for j in range(4) if not (block[:, j] == original[:, j]).all()]
                assert len(changed) <= 1
                assert all(sorted(map(str, block[:, j])) == sorted(map(str, original[:, j])) for j in range(4))
            seen.append(len(blocks))
            return (frame["f"].to_numpy() > 0).astype(int)

    data = SimpleNamespace(task="binary", X_test=X, y_test=pd.Series((X["f"] > 0).astype(int)), positive_label=1)
    result = permutation.permutation(Probe(), data, np.arange(n), SimpleNamespace(scoring="accuracy", repeats=2), seed=0)
    assert sum(seen) == 1 + 4 * 2  # the rows as they are, then every column twice
    assert result["mean"][0] > 0.2 and np.all(result["mean"][1:] == 0)


def test_importance_stability_is_high_for_one_dominant_feature_and_lower_for_exchangeable_ones():
    from postreport.config import BootstrapConfig

    rng = np.random.default_rng(0)
    n = 400
    dominant = np.column_stack([rng.normal(5, 1, n), rng.normal(0, 0.3, (n, 4))])  # feature 0 dominates
    exchangeable = rng.normal(0, 1, (n, 5))  # five alike
    boot = BootstrapConfig(resamples=300)
    names = list("abcde")
    strong = attributions.stability(dominant, names, boot, 0)
    alike = attributions.stability(exchangeable, names, boot, 0)
    assert strong["features"][0]["feature"] == "a" and strong["features"][0]["rank_ci"] == [1, 1]
    assert strong["features"][0]["top3_share"] == 1.0 and "a" in strong["stable_top"]
    assert alike["top3_same"] < 0.5 < strong["top5_same"]
    imp = strong["features"][0]
    assert imp["importance"] == pytest.approx(np.abs(dominant[:, 0]).mean())
    assert imp["importance_ci"][0] <= imp["importance"] <= imp["importance_ci"][1]


def test_batched_partial_dependence_equals_sklearns():
    import lightgbm
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.inspection import partial_dependence
    from sklearn.pipeline import Pipeline

    from postreport.models.safe_names import SafeNames

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.assign(few=np.arange(len(X)) % 5 * 1.5)  # fewer values than the grid: the values themselves
    binary = Pipeline([("names", SafeNames()), ("model", lightgbm.LGBMClassifier(n_estimators=30, verbose=-1))])
    Xr, yr = load_diabetes(return_X_y=True, as_frame=True)
    regression = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(Xr, yr)
    for model, data, feature, task in ((binary.fit(X, y), X, "mean radius", "binary"),
                                       (binary, X, "few", "binary"), (regression, Xr, "bmi", "regression")):
        ours = batched_partial_dependence(model, data.iloc[:150], feature, 20, task)
        theirs = partial_dependence(model, data.iloc[:150], [feature], kind="both", grid_resolution=20)
        np.testing.assert_allclose(ours["grid_values"][0], theirs["grid_values"][0], rtol=1e-12)
        np.testing.assert_allclose(ours["average"], theirs["average"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ours["individual"], theirs["individual"], rtol=1e-12, atol=1e-15)
    with_missing = X.iloc[:150].assign(**{"mean radius": np.r_[np.nan, X["mean radius"].iloc[1:150]]})
    assert batched_partial_dependence(binary, with_missing, "mean radius", 20, "binary") is None


def test_feature_deletion_tells_true_attributions_from_noise():
    """A logistic model's exact contributions (coefficient x distance from the mean) remove the predicted class's
    support faster than random order; attributions unrelated to the model do not."""
    from sklearn.linear_model import LogisticRegression

    from postreport.explain.image_saliency import feature_deletion

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(400, 12)), columns=[f"x{i}" for i in range(12)])
    y = (X.to_numpy() @ np.r_[np.linspace(3, 0.5, 6), np.zeros(6)] + rng.normal(size=400) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    rows = X.iloc[:120].reset_index(drop=True)
    target = model.predict(rows)
    fill = pd.DataFrame([X.mean()])
    contributions = (rows - X.mean()).to_numpy() * model.coef_[0]
    towards = np.where((target == 1)[:, None], contributions, -contributions)
    exact = feature_deletion(model.predict_proba, rows, fill, np.argsort(-towards, axis=1), target, 0.95, 0, 6)
    assert exact["faithful"] and exact["area"] < exact["random_area"]
    order, by_hand = np.argsort(-towards, axis=1), []  # the area by its definition, row by row, step by step
    for i in range(120):
        row, curve = rows.to_numpy()[i].copy(), []
        for s in range(7):
            if s:
                row[order[i, s - 1]] = X.mean().to_numpy()[order[i, s - 1]]
            curve.append(model.predict_proba(pd.DataFrame(row[None, :], columns=X.columns))[0, target[i]])
        by_hand.append(np.mean((np.array(curve[1:]) + curve[:-1]) / 2))
    assert exact["area"] == pytest.approx(np.mean(by_hand), rel=1e-9)
    noise = feature_deletion(model.predict_proba, rows, fill, np.argsort(rng.random((120, 12)), axis=1), target,
                             0.95, 0, 6)
    assert not noise["faithful"]
