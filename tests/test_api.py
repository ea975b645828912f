"""The Python API: the same configs, run and RunResult as the command line."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import postreport
from postreport.errors import UserError


@pytest.mark.slow
def test_generate_runs_the_packaged_configs_and_returns_the_run_result(tmp_path):
    result = postreport.generate(["data=iris", "tuning=none", "ensemble=none", "report.analyses=[metrics]",
                                  "report.formats=[json,html]"], output_dir=tmp_path / "out")
    assert isinstance(result, postreport.RunResult) and result.exit_code == 0
    assert result.files["json"].is_file() and result.metrics["task"] == "multiclass"
    shown = result._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "&lt;html" in shown.lower()
    with pytest.raises(UserError, match="nonexistent"):
        postreport.generate(["data=nonexistent"], output_dir=tmp_path / "bad")


def test_generate_finds_configs_in_a_folder_of_ones_own(tmp_path):
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "shallow.yaml").write_text(
        "name: shallow\n_target_: sklearn.tree.DecisionTreeClassifier\npreprocessing: trees\nparams: {max_depth: 2}\n")
    result = postreport.generate(["model=shallow", "tuning=none", "ensemble=none", "report.analyses=[metrics]",
                                  "report.formats=[json]"], output_dir=tmp_path / "out", config_dir=tmp_path / "conf")
    assert result.exit_code == 0 and result.metrics["model"]["name"] == "shallow"
    (tmp_path / "conf" / "model" / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="broken.yaml, line"):
        postreport.generate(["model=shallow"], output_dir=tmp_path / "o2", config_dir=tmp_path / "conf")


def test_from_predictions_takes_arrays_and_frames(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet(np.ones(3), 400)
    proba[np.arange(400), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    labels = ["cat", "dog", "o'hare"]  # any label text, quotes included
    names = np.asarray(labels)
    frame = pd.DataFrame({"region": rng.choice(["north", "south"], 400)})
    result = postreport.from_predictions(names[y], scores=proba, labels=labels, frame=frame,
                                         output_dir=tmp_path / "out",
                                         overrides=["report.analyses=[metrics,slices]", "report.formats=[json]"])
    m = result.metrics["metrics"]
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["accuracy"] == pytest.approx(np.mean(proba.argmax(axis=1) == y))
    assert any(r["column"] == "region" for r in result.metrics["results"]["slices"]["slices"])
    with pytest.raises(UserError, match="labels"):
        postreport.from_predictions(names[y], scores=proba, output_dir=tmp_path / "bad")


@pytest.mark.slow
def test_model_card_in_hugging_face_format_parses_back_with_the_runs_numbers(tmp_path, monkeypatch):
    from huggingface_hub import ModelCard

    from conftest import run_report

    result, out = run_report(tmp_path, ["report.analyses=[metrics,calibration,slices]",
                                        "card.intended_use=Triage of biopsy reports by a clinician",
                                        "card.license=mit", "+gates={roc_auc: {min: 0.9}}"],
                             formats=("json", "model_card"))
    card = ModelCard((out / "MODEL_CARD.md").read_text())
    assert card.data.model_name == "lightgbm" and card.data.license == "mit" and "breast_cancer" in card.data.datasets
    scores = {e.metric_type: e.metric_value for e in card.data.eval_results}
    for name, value in result.metrics["metrics"].items():
        if value is not None:
            assert scores[name] == pytest.approx(value)
    assert all(e.dataset_split == "test" for e in card.data.eval_results)
    text = card.text
    for heading in ("## Model details and provenance", "## Training and evaluation data", "## Results",
                    "## Slices, fairness and limitations", "## Quality gates", "## Intended use",
                    "## Out-of-scope use"):
        assert heading in text
    assert "Triage of biopsy reports" in text and "To be written" in text  # out-of-scope use not given
    assert "pass: roc_auc" in text and "Calibration:" in text
    import postreport.report.render_card as render_card

    monkeypatch.setattr(render_card, "available", lambda: False)
    with pytest.raises(UserError, match=r"pip install 'postreport\[model_card\]'"):
        run_report(tmp_path / "no", ["report.analyses=[metrics]"], formats=("model_card",))


@pytest.mark.slow
def test_the_example_notebook_evaluates_and_compares_a_pipeline_and_shows_the_report_inline(tmp_path, monkeypatch):
    """postreport-examples' notebook, executed by a real Jupyter kernel (nbclient): a pipeline fitted in the notebook,
    its report inline (an iframe), its accuracy equal to scikit-learn's, a comparison saved to a folder."""
    import json
    import re
    import sys

    from postreport.integrations.examples import NOTEBOOK

    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (no Jupyter kernel to run the notebook)")
    spec = tmp_path / "jupyter" / "kernels" / "postreport-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                                           "{connection_file}"], "display_name": "test",
                                                  "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="postreport-test", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    shown = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any(page.startswith("<iframe srcdoc=") for page in shown)
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    ours, theirs = re.search(r"accuracy ([0-9.]+) .*; scikit-learn ([0-9.]+)", printed).groups()
    assert ours == theirs
    assert "logistic minus boosted trees" in printed and "5-fold accuracy" in printed
    assert (tmp_path / "reports" / "churn-comparison" / "report.html").is_file()


def test_from_predictions_takes_other_frames_by_name_and_predict_proba_and_refuses_what_is_ambiguous(tmp_path):
    """A pyarrow table (to_pandas) or any frame of the interchange protocol keeps its column names (polars' lost
    them: slices named '0', '1'); scikit-learn's binary predict_proba (n, 2) with labels=[0, 1] is taken by the
    positive class's column; a frame column named `score` (which would be replaced by the scores silently) and
    arrays of the wrong length are errors naming them."""
    import pyarrow as pa

    from postreport.api import as_pandas

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p1 = np.clip(0.5 * y + rng.uniform(0, 0.6, 300), 0, 1)
    table = pa.table({"region": rng.choice(["north", "south"], 300), "age": rng.integers(20, 60, 300)})

    class Interchange:  # only the dataframe interchange protocol, as polars and others offer it
        def __dataframe__(self, *args, **kwargs):
            return table.__dataframe__(*args, **kwargs)

    assert list(as_pandas(Interchange()).columns) == ["region", "age"]
    result = postreport.from_predictions(y, scores=np.column_stack([1 - p1, p1]), labels=[0, 1], frame=table,
                                         output_dir=tmp_path / "out",
                                         overrides=["report.analyses=[metrics,slices]", "report.formats=[json]"])
    assert result.metrics["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert {r["column"] for r in result.metrics["results"]["slices"]["slices"]} >= {"region"}
    with pytest.raises(UserError, match=r"columns named \['score'\]"):
        postreport.from_predictions(y, scores=p1, frame=pd.DataFrame({"score": p1}), output_dir=tmp_path / "b1")
    with pytest.raises(UserError, match="scores has 299 rows and y_true 300"):
        postreport.from_predictions(y, scores=p1[:-1], output_dir=tmp_path / "b2")
    with pytest.raises(UserError, match="y_pred has 301 rows and y_true 300"):
        postreport.from_predictions(y, y_pred=np.append(y, 1), output_dir=tmp_path / "b3")


@pytest.mark.slow
def test_generate_from_two_threads_at_once(tmp_path):
    """Hydra's composition is a process global ("GlobalHydra is already initialized" for the second thread):
    generate composes under a lock, so two threads each get their report, the same numbers as one alone."""
    import threading

    results, errors = {}, []

    def one(k):
        try:
            results[k] = postreport.generate(["data=iris", "tuning=none", "ensemble=none", "report.formats=[json]",
                                              "bootstrap.resamples=50"], output_dir=tmp_path / str(k))
        except Exception as exc:  # noqa: BLE001 - the test reports what a thread raised
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and [results[k].exit_code for k in (0, 1)] == [0, 0]
    assert results[0].metrics["metrics"] == results[1].metrics["metrics"]


# ------------------------------------------------------------------------------------- evaluate: a fitted estimator

def churn_table(rng, n=800):
    """A real-looking table: numbers with missing values, text categories (one with missing), a text label."""
    table = pd.DataFrame({"age": rng.normal(40, 10, n).round(), "income": rng.lognormal(10, 1, n),
                          "city": rng.choice(["Paris", "Lyon", "Nice", None], n),
                          "plan": rng.choice(["basic", "pro"], n)})
    table.loc[rng.random(n) < 0.05, "age"] = np.nan
    logit = (table["age"].fillna(40) - 40) / 10 + (table["plan"] == "pro") + (table["city"] == "Nice") * 0.8
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "churn", "stay"), name="outcome")
    return table, y


def churn_pipeline(X, y):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
                             ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                                   OneHotEncoder(handle_unknown="ignore")), ["city", "plan"])])
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X, y)


QUICK = ["report.analyses=[checks,metrics,per_class,confusion_matrix]", "report.formats=[json]"]


@pytest.mark.slow
def test_evaluate_a_pipeline_on_a_table_with_text_categories_gives_sklearns_numbers(tmp_path):
    import tempfile
    from pathlib import Path

    X, y = churn_table(np.random.default_rng(0))
    model = churn_pipeline(X.iloc[:600], y.iloc[:600])
    X_test, y_test = X.iloc[600:], y.iloc[600:]
    result = postreport.evaluate(model, X_test, y_test, X_train=X.iloc[:600], y_train=y.iloc[:600],
                                 overrides=["report.analyses=[checks,metrics,per_class,confusion_matrix]",
                                            "report.formats=[json,pdf,html]"])
    assert Path(result.output_dir).name.startswith("postreport-evaluate-") and not Path(result.output_dir).exists()
    assert Path(result.output_dir).parent == Path(tempfile.gettempdir())  # a temporary folder, removed
    assert result.exit_code == 0 and result.files == {} and result.pdf.startswith(b"%PDF")
    assert "<html" in result.html.lower() and result._repr_html_().startswith("<iframe")
    predicted = model.predict(X_test)
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y_test, predicted))
    assert result.metrics["metrics"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_test == "stay", model.predict_proba(X_test)[:, list(model.classes_).index("stay")]))
    per_class = result.metrics["results"]["per_class"]["classes"]
    precision, recall, _, support = skm.precision_recall_fscore_support(y_test, predicted, labels=["churn", "stay"])
    for k, label in enumerate(["churn", "stay"]):  # the labels by their names
        assert per_class[label]["precision"] == pytest.approx(precision[k])
        assert per_class[label]["recall"] == pytest.approx(recall[k]) and per_class[label]["support"] == support[k]
    assert "train_test_overlap" in result.metrics["results"]["checks"]["ran"]  # the training rows were read
    written = result.save(tmp_path / "saved")
    assert written["pdf"].read_bytes() == result.pdf and (tmp_path / "saved" / "metrics.json").is_file()


@pytest.mark.slow
def test_evaluate_equals_the_command_line_on_the_same_model_file_and_rows(tmp_path):
    import skops.io as sio

    X, y = churn_table(np.random.default_rng(1))
    model = churn_pipeline(X.iloc[:600], y.iloc[:600])
    train, test = X.iloc[:600].assign(outcome=y.iloc[:600]), X.iloc[600:].assign(outcome=y.iloc[600:])
    train.to_parquet(tmp_path / "train.parquet")
    test.to_parquet(tmp_path / "test.parquet")
    sio.dump(model, tmp_path / "model.skops")
    sections = "report.analyses=[checks,metrics,per_class,confusion_matrix,calibration,drift]"
    cli = postreport.generate(["data=file", f"data.path={tmp_path / 'train.parquet'}",
                               f"data.test_path={tmp_path / 'test.parquet'}", "data.target=outcome", "model=file",
                               f"model.path={tmp_path / 'model.skops'}", "model.trust=true", sections,
                               "report.formats=[json]", "report.timings=false"], output_dir=tmp_path / "cli")
    memory = postreport.evaluate(model, X.iloc[600:], y.iloc[600:], X_train=X.iloc[:600], y_train=y.iloc[:600],
                                 overrides=[sections, "report.formats=[json]", "report.timings=false"])
    assert memory.metrics["metrics"] == cli.metrics["metrics"]
    assert memory.metrics["results"] == cli.metrics["results"]
    import io

    rows = pd.read_parquet(io.BytesIO(memory.content("predictions")))  # its metadata names the sources: not compared
    pd.testing.assert_frame_equal(rows, pd.read_parquet(tmp_path / "cli" / "predictions.parquet"))


@pytest.mark.slow
def test_evaluate_takes_the_classes_from_the_estimator_and_numpy_columns_from_its_fit(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(2)
    X = rng.normal(size=(900, 4))
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 1)]
    model = HistGradientBoostingClassifier(max_iter=20).fit(X[:600], y[:600])
    keep = y[600:] != "c"  # the test rows miss a class the model knows
    result = postreport.evaluate(model, X[600:][keep], y[600:][keep], overrides=QUICK)
    assert result.metrics["task"] == "multiclass"
    assert result.metrics["results"]["confusion_matrix"]["labels"] == ["a", "b", "c"]
    predicted = model.predict(X[600:][keep])
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y[600:][keep], predicted))
    assert result.metrics["results"]["per_class"]["classes"]["c"]["support"] == 0


def test_evaluate_names_what_is_wrong_with_its_input():
    from sklearn.linear_model import LogisticRegression

    X, y = churn_table(np.random.default_rng(3), 200)
    with pytest.raises(UserError, match="not fitted"):
        postreport.evaluate(LogisticRegression(), X.select_dtypes("number").fillna(0), y, overrides=QUICK)
    model = churn_pipeline(X, y)
    with pytest.raises(UserError, match="y_test has 199 rows and X_test 200"):
        postreport.evaluate(model, X, y.iloc[:199], overrides=QUICK)
    with pytest.raises(UserError, match=r"'maybe'.*unknown to the model"):
        postreport.evaluate(model, X, y.where(y != "stay", "maybe"), overrides=QUICK)
    with pytest.raises(UserError, match=r"needs columns the data lacks: \['plan'\]"):
        postreport.evaluate(model, X.drop(columns="plan"), y, overrides=QUICK)
    with pytest.raises(UserError, match="both X_train and y_train"):
        postreport.evaluate(model, X, y, X_train=X, overrides=QUICK)


@pytest.mark.slow
def test_compare_gives_the_paired_differences_of_two_runs_compared_through_compare_baseline(tmp_path):
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    X, y = churn_table(np.random.default_rng(4), 1200)
    logistic = churn_pipeline(X.iloc[:800], y.iloc[:800])
    trees = Pipeline([("pre", logistic.named_steps["pre"]),
                      ("clf", HistGradientBoostingClassifier(max_iter=30))]).fit(X.iloc[:800], y.iloc[:800])
    quiet = ["report.formats=[json]", "report.timings=false"]
    both = postreport.compare({"logistic": logistic, "boosted trees": trees}, X.iloc[800:], y.iloc[800:],
                              overrides=["report.analyses=[metrics,comparison,leaderboard]", *quiet])
    X.iloc[800:].assign(outcome=y.iloc[800:]).to_parquet(tmp_path / "test.parquet")
    for name, model in (("logistic", logistic), ("trees", trees)):
        sio.dump(model, tmp_path / f"{name}.skops")
    data = ["data=file", f"data.test_path={tmp_path / 'test.parquet'}", "data.target=outcome", "model=file",
            "model.trust=true", *quiet]
    postreport.generate([*data, f"model.path={tmp_path / 'trees.skops'}", "report.analyses=[metrics]"],
                        output_dir=tmp_path / "trees")
    cli = postreport.generate([*data, f"model.path={tmp_path / 'logistic.skops'}",
                               f"compare.baseline={tmp_path / 'trees'}", "report.analyses=[metrics,comparison]"],
                              output_dir=tmp_path / "logistic")
    ours, theirs = both.metrics["results"]["comparison"], cli.metrics["results"]["comparison"]
    assert ours["baseline"] == "boosted trees" and theirs["baseline"] == "trees"
    assert {k: v for k, v in ours.items() if k != "baseline"} == {k: v for k, v in theirs.items() if k != "baseline"}
    board = both.metrics["results"]["leaderboard"]["candidates"]
    assert [(c["name"], c["role"]) for c in board] == [("logistic", "configured"), ("boosted trees", "compared")]
    predicted = trees.predict(X.iloc[800:])
    assert board[1]["accuracy"] == pytest.approx(skm.accuracy_score(y.iloc[800:], predicted))
    paired = both.metrics["results"]["leaderboard"]["comparisons"][0]["p_bootstrap"]
    assert 2 / 1001 <= paired <= 1  # a bootstrap p-value counts the resampled statistic: never 0 (1,000 resamples)
    files = postreport.generate([*data, f"model.path={tmp_path / 'logistic.skops'}",  # the same from the CLI
                                 f"compare.models=[{tmp_path / 'trees.skops'}]",
                                 "report.analyses=[metrics,comparison]"], output_dir=tmp_path / "files")
    assert files.metrics["results"]["comparison"] == theirs


# --------------------------------------------------------------------------------------- evaluate: cross-validation

@pytest.mark.slow
def test_cross_validation_gives_cross_validates_fold_scores_and_corrected_intervals():
    from scipy.stats import t
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import make_scorer, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.pipeline import Pipeline

    X, y = churn_table(np.random.default_rng(5), 1000)
    logistic = churn_pipeline(X, y)
    trees = Pipeline([("pre", clone(logistic.named_steps["pre"])),
                      ("clf", HistGradientBoostingClassifier(max_iter=20, random_state=0))])
    split = StratifiedKFold(5, shuffle=True, random_state=0)
    result = postreport.compare({"logistic": clone(logistic), "trees": trees}, X, y, cv=split,
                                overrides=["report.analyses=[metrics,confusion_matrix]", "report.formats=[json]"])
    cv = result.metrics["results"]["cross_validation"]
    scoring = {"accuracy": "accuracy", "roc_auc": "roc_auc", "log_loss": "neg_log_loss",
               "f1": make_scorer(f1_score, pos_label="stay")}  # the positive class: the last label
    theirs = {name: cross_validate(model, X, y, cv=split, scoring=scoring)
              for name, model in (("logistic", logistic), ("trees", trees))}
    for name in ("logistic", "trees"):
        folds = cv["models"][name]["folds"]
        for metric in scoring:
            sign = -1 if metric == "log_loss" else 1
            assert [f["metrics"][metric] for f in folds] == pytest.approx(sign * theirs[name][f"test_{metric}"])
        values = theirs[name]["test_accuracy"]
        se = np.sqrt((1 / 5 + 200 / 800) * values.var(ddof=1))  # Nadeau-Bengio: 200 test, 800 training rows a fold
        low, high = t.interval(0.95, 4, loc=values.mean(), scale=se)
        assert cv["models"][name]["summary"]["accuracy"]["ci"] == pytest.approx([low, min(high, 1.0)])
    pair = next(p for p in cv["pairs"] if p["metric"] == "accuracy")
    diffs = theirs["logistic"]["test_accuracy"] - theirs["trees"]["test_accuracy"]
    stat = diffs.mean() / np.sqrt((1 / 5 + 200 / 800) * diffs.var(ddof=1))
    assert (pair["a"], pair["b"]) == ("logistic", "trees") and pair["p"] == pytest.approx(2 * t.sf(abs(stat), 4))
    # the other sections read every row's out-of-fold prediction
    oof = np.empty(len(y), dtype=object)
    for train, test in split.split(X, y):
        oof[test] = clone(logistic).fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y, oof.astype(str)))
    assert result.metrics["n_test"] == len(y)


@pytest.mark.slow
def test_cross_validation_keeps_groups_apart_and_runs_from_the_command_line(tmp_path):
    from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_validate

    from postreport.models.build import make_estimator

    X, y = churn_table(np.random.default_rng(6), 600)
    groups = np.repeat(np.arange(60), 10)
    grouped = postreport.evaluate(churn_pipeline(X, y), X, y, cv=GroupKFold(4), groups=groups, overrides=QUICK)
    folds = grouped.metrics["results"]["cross_validation"]["models"]["LogisticRegression"]["folds"]
    theirs = cross_validate(churn_pipeline(X, y), X, y, cv=GroupKFold(4), groups=groups)["test_score"]
    assert [f["metrics"]["accuracy"] for f in folds] == pytest.approx(theirs)
    cli = postreport.generate(["data=wine", "cv=5", "report.analyses=[metrics]", "report.formats=[json]"],
                              output_dir=tmp_path / "wine")
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True)
    estimator = make_estimator(cli_cfg_model("lightgbm"), "multiclass", 0)[0]
    theirs = cross_validate(estimator, wine.data, wine.target, cv=StratifiedKFold(5, shuffle=True, random_state=0))
    folds = cli.metrics["results"]["cross_validation"]["models"]["lightgbm"]["folds"]
    assert [f["metrics"]["accuracy"] for f in folds] == pytest.approx(theirs["test_score"])
    assert cli.metrics["n_test"] == len(wine.target)


def cli_cfg_model(name: str):
    """The packaged model config `name`, as a run composes it."""
    from hydra import compose, initialize_config_dir

    from postreport.config import register_schemas
    from postreport.resources import resource_dir

    register_schemas()
    with initialize_config_dir(version_base="1.3", config_dir=str(resource_dir("conf")), job_name="t"):
        return compose("config", overrides=[f"model={name}"]).model


def test_cross_validation_names_what_is_wrong_with_its_input():
    from sklearn.model_selection import GroupKFold

    X, y = churn_table(np.random.default_rng(7), 200)
    model = churn_pipeline(X, y)
    with pytest.raises(UserError, match="X_train and y_train are for a report on a held-out test set"):
        postreport.evaluate(model, X, y, X_train=X, y_train=y, cv=5, overrides=QUICK)
    with pytest.raises(UserError, match="groups= goes with a splitter"):
        postreport.evaluate(model, X, y, cv=5, groups=np.arange(200), overrides=QUICK)
    with pytest.raises(UserError, match="cv=1 must be a number of folds, 2 or more"):
        postreport.evaluate(model, X, y, cv=1, overrides=QUICK)
    with pytest.raises(UserError, match="GroupKFold.*cannot split"):
        postreport.evaluate(model, X, y, cv=GroupKFold(4), overrides=QUICK)  # no groups given


@pytest.mark.slow
def test_evaluate_takes_regressors_lightgbm_on_categories_and_calibrated_classifiers():
    from lightgbm import LGBMClassifier
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    diabetes = load_diabetes(as_frame=True)
    X, y = diabetes.data, diabetes.target
    regressor = HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(X.iloc[:300], y.iloc[:300])
    result = postreport.evaluate(regressor, X.iloc[300:], y.iloc[300:], overrides=QUICK)
    assert result.metrics["task"] == "regression"
    assert result.metrics["metrics"]["r2"] == pytest.approx(skm.r2_score(y.iloc[300:], regressor.predict(X.iloc[300:])))

    table, labels = churn_table(np.random.default_rng(8), 900)
    table = table.astype({"city": "category", "plan": "category"})  # LightGBM's own categorical columns
    boosted = LGBMClassifier(n_estimators=30, verbose=-1).fit(table.iloc[:600], labels.iloc[:600])
    result = postreport.evaluate(boosted, table.iloc[600:], labels.iloc[600:], overrides=QUICK)
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(labels.iloc[600:], boosted.predict(table.iloc[600:])))

    numbers = table[["age", "income"]].fillna(40)
    calibrated = CalibratedClassifierCV(LogisticRegression(), cv=3).fit(numbers.iloc[:600], labels.iloc[:600])
    result = postreport.evaluate(calibrated, numbers.iloc[600:], labels.iloc[600:], overrides=QUICK)
    stay = calibrated.predict_proba(numbers.iloc[600:])[:, list(calibrated.classes_).index("stay")]
    assert result.metrics["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(labels.iloc[600:] == "stay", stay))


@pytest.mark.slow
def test_tuning_searches_clones_of_the_given_estimator_in_its_classs_space_or_says_why_not():
    from omegaconf import OmegaConf
    from sklearn.neighbors import KNeighborsClassifier

    from postreport.resources import resource_dir

    X, y = churn_table(np.random.default_rng(9), 900)
    model = churn_pipeline(X.iloc[:600], y.iloc[:600])
    sections = ["report.analyses=[metrics,tuning,leaderboard]", "report.formats=[json]", "tuning.n_trials=4"]
    tuned = postreport.evaluate(model, X.iloc[600:], y.iloc[600:], X_train=X.iloc[:600], y_train=y.iloc[:600],
                                overrides=sections)
    search = tuned.metrics["results"]["tuning"]
    space = OmegaConf.load(Path(resource_dir("conf")) / "model" / "logistic.yaml").search_space
    assert set(search["best_params"]) == set(space) == {"C"}
    assert space.C.low <= search["best_params"]["C"] <= space.C.high
    assert sorted(c["role"] for c in tuned.metrics["results"]["leaderboard"]["candidates"]) == ["configured", "tuned"]
    numbers = X[["age", "income"]].fillna(40)
    knn = KNeighborsClassifier().fit(numbers.iloc[:600], y.iloc[:600])
    plain = postreport.evaluate(knn, numbers.iloc[600:], y.iloc[600:], X_train=numbers.iloc[:600],
                                y_train=y.iloc[:600], overrides=sections)
    skipped = {s["name"]: s["error"] for s in plain.metrics["sections"]}
    assert "needs a search space" in skipped["tuning"] and "model.search_space" in skipped["tuning"]
    given = postreport.evaluate(knn, numbers.iloc[600:], y.iloc[600:], X_train=numbers.iloc[:600],
                                y_train=y.iloc[:600],
                                overrides=[*sections, "+model.search_space.n_neighbors={type: int, low: 3, high: 40}"])
    assert 3 <= given.metrics["results"]["tuning"]["best_params"]["n_neighbors"] <= 40


@pytest.mark.slow
def test_ensembles_take_the_given_estimator_as_a_member_and_as_a_base():
    X, y = churn_table(np.random.default_rng(10), 900)
    model = churn_pipeline(X.iloc[:600], y.iloc[:600])
    result = postreport.evaluate(model, X.iloc[600:], y.iloc[600:], X_train=X.iloc[:600], y_train=y.iloc[:600],
                                 overrides=["ensemble=small", "ensemble.members=[model,random_forest]",
                                            "ensemble.methods=[soft_voting,stacking,bagging]",
                                            "ensemble.bagging.base=model", "report.analyses=[metrics,leaderboard]",
                                            "report.formats=[json]"])
    board = {c["name"]: c for c in result.metrics["results"]["leaderboard"]["candidates"]}
    assert board["LogisticRegression"]["role"] == "member"
    assert {"soft_voting (LogisticRegression+random_forest)", "stacking (LogisticRegression+random_forest)",
            "bagging (LogisticRegression ×10)"} <= set(board)
    given = model.predict(X.iloc[600:])  # the member is the given estimator as it was fitted, not a refit
    assert board["LogisticRegression"]["accuracy"] == pytest.approx(skm.accuracy_score(y.iloc[600:], given))



@pytest.mark.slow
def test_a_time_series_split_reports_on_the_rows_its_folds_test_and_a_repeated_splitter_is_refused():
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedKFold, TimeSeriesSplit, cross_validate

    X, y = churn_table(np.random.default_rng(11), 500)
    model = churn_pipeline(X, y)
    result = postreport.evaluate(clone(model), X, y, cv=TimeSeriesSplit(4), overrides=QUICK)
    folds = result.metrics["results"]["cross_validation"]["models"]["LogisticRegression"]["folds"]
    assert [f["metrics"]["accuracy"] for f in folds] == pytest.approx(
        cross_validate(model, X, y, cv=TimeSeriesSplit(4))["test_score"])
    tested = np.concatenate([test for _, test in TimeSeriesSplit(4).split(X)])
    assert result.metrics["n_test"] == len(tested) == 400  # the first 100 rows only ever train
    oof = np.empty(len(y), dtype=object)
    for train, test in TimeSeriesSplit(4).split(X):
        oof[test] = clone(model).fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(y.iloc[tested], oof[tested].astype(str)))
    with pytest.raises(UserError, match="more than one test fold"):
        postreport.evaluate(clone(model), X, y, cv=RepeatedKFold(n_splits=3, n_repeats=2), overrides=QUICK)
