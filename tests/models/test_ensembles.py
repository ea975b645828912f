"""Ensembles and the leaderboard, against hand-worked cases and scikit-learn's own ensemble classes."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from conftest import cli, make_cfg, run_report
from postreport.stats.paired import holm, mcnemar
from postreport.models.ensembles import PrefitHardVoting, PrefitStacking, PrefitVoting


def test_mcnemar_matches_a_hand_worked_table():
    # 8 rows only A right, 2 rows only B right, 90 rows where both agree: exact p = 2 * P(X <= 2 | 10, 1/2)
    right_a = np.array([True] * 8 + [False] * 2 + [True] * 60 + [False] * 30)
    right_b = np.array([False] * 8 + [True] * 2 + [True] * 60 + [False] * 30)
    b, c, p = mcnemar(right_a, right_b)
    assert (b, c) == (8, 2)
    assert p == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert p == pytest.approx(2 * binom.cdf(2, 10, 0.5))
    assert mcnemar(right_a, right_a)[2] == 1.0


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])


def test_soft_voting_is_the_mean_of_member_probabilities_and_matches_sklearn():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    members = [DecisionTreeClassifier(max_depth=3, random_state=0), GaussianNB(),
               LogisticRegression(max_iter=5000)]
    fitted = [m.fit(X, y) for m in members]
    vote = PrefitVoting(fitted, None, soft=True, task="binary")
    mean = np.mean([m.predict_proba(X) for m in fitted], axis=0)
    np.testing.assert_allclose(vote.predict_proba(X), mean)
    sk = VotingClassifier([(str(i), m) for i, m in enumerate(members)], voting="soft").fit(X, y)
    np.testing.assert_allclose(vote.predict_proba(X), sk.predict_proba(X), atol=1e-12)
    weighted = PrefitVoting(fitted, [2, 1, 1], soft=True, task="binary")
    np.testing.assert_allclose(weighted.predict_proba(X), (2 * fitted[0].predict_proba(X) + fitted[1].predict_proba(X)
                                                           + fitted[2].predict_proba(X)) / 4)
    hard = PrefitHardVoting(fitted, None, task="binary")
    skh = VotingClassifier([(str(i), m) for i, m in enumerate(members)], voting="hard").fit(X, y)
    np.testing.assert_array_equal(hard.predict(X), skh.predict(X))
    assert not hasattr(hard, "predict_proba") and not hasattr(skh, "predict_proba")


@pytest.mark.slow
def test_stacking_learns_from_out_of_fold_predictions(tmp_path):
    """A 1-nearest-neighbour member memorises the training set: perfect in-sample, mediocre out of fold.
    Trained on out-of-fold predictions, the meta-model must not hand it the decision."""
    rng = np.random.default_rng(0)
    n = 600
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.8, n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(y=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "memoriser.yaml").write_text("name: memoriser\n_target_: sklearn.neighbors.KNeighborsClassifier\n"
                                         "preprocessing: linear\nparams: {n_neighbors: 1}\n")
    proc = cli(["--config-dir", str(tmp_path / "conf"), "data=file", "data.path=d.csv", "data.target=y",
                "model=logistic", "ensemble.members=[memoriser,logistic]", "ensemble.methods=[stacking]",
                "report.analyses=[metrics,leaderboard]", "report.formats=[json]"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    rows = {c["name"]: c for c in doc["results"]["leaderboard"]["candidates"]}
    stacking = rows["stacking (memoriser+logistic)"]
    assert rows["logistic"]["roc_auc"] > rows["memoriser"]["roc_auc"] + 0.05
    assert stacking["roc_auc"] >= rows["logistic"]["roc_auc"] - 0.01  # not dragged down to the memoriser
    # the same meta-model trained on in-sample member outputs trusts the memoriser completely
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(1).fit(X, y)
    lr = LogisticRegression().fit(X, y)
    inside = np.column_stack([knn.predict_proba(X)[:, 1], lr.predict_proba(X)[:, 1]])
    naive = LogisticRegression().fit(inside, y)
    assert naive.coef_[0, 0] > naive.coef_[0, 1]


def test_stacking_class_with_passthrough_predicts_with_the_final_estimator():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    y = (X["a"] > 0).astype(int)
    member = LogisticRegression().fit(X, y)
    final = LogisticRegression()
    stack = PrefitStacking([member], final, "binary", ["a"], {"a": 0.0})
    final.fit(stack.features(PrefitStacking.member_outputs([member], X, "binary"), X), y)
    assert stack.predict_proba(X).shape == (100, 2) and list(stack.classes_) == [0, 1]


@pytest.mark.slow
def test_all_ensemble_methods_on_the_leaderboard(tmp_path):
    result, _ = run_report(tmp_path, ["ensemble=all", "ensemble.bagging.n_estimators=3",
                                      "ensemble.boosting.n_estimators=5", "model.params.n_estimators=50",
                                      "report.analyses=[leaderboard]"])
    board = result.metrics["results"]["leaderboard"]
    names = {c["name"] for c in board["candidates"]}
    assert {"lightgbm", "random_forest", "logistic"} <= names
    assert any(n.startswith("soft_voting") for n in names) and any(n.startswith("hard_voting") for n in names)
    assert any(n.startswith("stacking") for n in names) and any(n.startswith("bagging") for n in names)
    assert any(n.startswith("AdaBoost") for n in names) and "gradient boosting (sklearn)" in names
    assert len(board["comparisons"]) == len(names) - 1
    for c in board["candidates"]:
        if c["roc_auc_ci"]:
            assert c["roc_auc_ci"][0] <= c["roc_auc"] <= c["roc_auc_ci"][1]
    assert board["diversity"]["members"] == ["lightgbm", "random_forest", "logistic"]
    assert len(board["ensembles"]) >= 4


@pytest.mark.slow
def test_regression_ensembles(tmp_path):
    result, _ = run_report(tmp_path, ["data=diabetes", "ensemble.members=[lightgbm,random_forest]",
                                      "ensemble.methods=[voting,stacking]", "model.params.n_estimators=50",
                                      "report.analyses=[leaderboard]"])
    board = result.metrics["results"]["leaderboard"]
    assert board["ranking_metric"] == "rmse"
    rmses = [c["rmse"] for c in board["candidates"]]
    assert rmses == sorted(rmses)


@pytest.mark.parametrize("override,fragments", [
    ("ensemble.members=[lightgbm,xgboost]", ["xgboost", "random_forest"]),
    ("ensemble.methods=[soft_voting,blending]", ["blending", "stacking"]),
])
@pytest.mark.slow
def test_unknown_member_or_method_exits_2_listing_the_valid_ones(tmp_path, override, fragments):
    proc = cli([override], cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr


def test_ensemble_configs_compose():
    for name in ("none", "small", "all"):
        cfg = make_cfg([f"ensemble={name}"])
        assert cfg.ensemble.enabled == (name != "none")


@pytest.mark.slow
def test_stacking_on_a_large_training_set_learns_from_a_sample_and_says_so(tmp_path):
    result, out = run_report(tmp_path, ["ensemble=small", "ensemble.stacking.max_rows=100",
                                        "report.analyses=[metrics,leaderboard]"], formats=("html", "json"))
    assert result.exit_code == 0
    names = [c["name"] for c in result.metrics["results"]["leaderboard"]["candidates"]]
    assert any(n.startswith("stacking") for n in names)
    assert "seeded sample of 100 of the 426 training rows (as planned: ensemble.stacking.max_rows" in (
        out / "report.html").read_text()


@pytest.mark.slow
def test_stacking_whose_folds_are_planned_past_its_budget_is_left_out_and_says_why(tmp_path):
    result, out = run_report(tmp_path, ["ensemble=small", "ensemble.stacking.max_seconds=0.0001",
                                        "report.analyses=[metrics,leaderboard]"], formats=("html", "json"))
    assert result.exit_code == 0
    names = [c["name"] for c in result.metrics["results"]["leaderboard"]["candidates"]]
    assert not any(n.startswith("stacking") for n in names) and any(n.startswith("soft_voting") for n in names)
    assert "Stacking was left out: its 5 out-of-fold fits of each member are planned at" in (
        out / "report.html").read_text()
    bad = cli(["ensemble=small", "ensemble.stacking.max_seconds=0"], tmp_path)
    assert bad.returncode == 2 and "ensemble.stacking.max_seconds=0 must be positive" in bad.stderr


@pytest.mark.slow
def test_members_fitted_here_learn_from_a_sample_beyond_ensemble_max_rows(tmp_path):
    result, out = run_report(tmp_path, ["ensemble=small", "ensemble.max_rows=120", "ensemble.stacking.max_rows=null",
                                        "report.analyses=[metrics,leaderboard]"], formats=("html", "json"))
    assert result.exit_code == 0
    html = (out / "report.html").read_text()
    assert "seeded sample of 120 of the 426 training rows (ensemble.max_rows)" in html
    names = [c["name"] for c in result.metrics["results"]["leaderboard"]["candidates"]]
    assert "logistic" in names and any(n.startswith("stacking") for n in names)


def test_ensembles_read_their_members_test_predictions_instead_of_predicting_again():
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from postreport.models.ensembles import members_predicted, members_seconds
    from postreport.models.build import Candidate
    from postreport.run.predictions import Predictions

    X, y = load_wine(return_X_y=True, as_frame=True)
    calls = []

    class Counted(DecisionTreeClassifier):
        def predict_proba(self, X):
            calls.append(len(X))
            return super().predict_proba(X)

    members = [Counted(max_depth=2, random_state=0).fit(X, y), LogisticRegression(max_iter=5000).fit(X, y)]
    final = LogisticRegression(max_iter=5000)
    stack = PrefitStacking(members, final, "multiclass", None, None)
    final.fit(PrefitStacking.member_outputs(members, X, "multiclass"), y)
    vote = PrefitVoting(members, [2, 1], soft=True, task="multiclass")
    expected = {"vote": (vote.predict_proba(X), vote.predict(X)), "stack": (stack.predict_proba(X), stack.predict(X))}
    first = Candidate("tree", members[0], "here", "tree", predictions=Predictions(
        y.to_numpy(), members[0].predict(X), members[0].predict_proba(X), [0, 1, 2], 0.25))
    second = Candidate("logistic", members[1], "here", "logistic", predictions=Predictions(
        y.to_numpy(), members[1].predict(X), members[1].predict_proba(X), [0, 1, 2], 0.5))
    for name, model in (("vote", vote), ("stack", stack)):
        ensemble = Candidate(name, model, "here", name)
        calls.clear()
        with members_predicted(ensemble, [first, second, ensemble], X):
            np.testing.assert_allclose(model.predict_proba(X), expected[name][0], rtol=0, atol=0)
            np.testing.assert_array_equal(model.predict(X), expected[name][1])
            assert calls == []  # the tree's known predictions were read
            model.predict_proba(X.iloc[:5])  # other rows: predicted
            assert calls == [5]
        assert model.members[0] is members[0] and model.members[1] is members[1]  # restored
        assert members_seconds(ensemble, [first, second, ensemble]) == pytest.approx(0.75)
    assert members_seconds(first, [first, second]) == 0.0


def test_a_clones_threads_are_set_where_none_would_mean_every_core_or_was_given():
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from postreport.models.tuning import set_threads

    pipe = set_threads(make_pipeline(LogisticRegression(), LGBMClassifier()), 2)
    assert pipe.get_params()["logisticregression__n_jobs"] is None  # scikit-learn's None: one core; it would warn
    assert pipe.get_params()["lgbmclassifier__n_jobs"] == 2  # LightGBM's None: every core
    assert set_threads(RandomForestClassifier(n_jobs=-1), 1).n_jobs == 1
