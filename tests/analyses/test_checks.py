"""The checks of the experiment (postreport.analyses.checks): for each check a case built to have exactly its fault,
where it must fire, and its clean twin, where it must not; the evidence against an independent computation (pandas'
merge and duplicated, scikit-learn's DummyClassifier and trees, value_counts); the bundled datasets raise no warning
about their data or split; the gate fails a leaky run with exit 3 and the finding in gates.xml."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.dummy import DummyClassifier
from sklearn.tree import DecisionTreeClassifier

from conftest import check_user_error, cli, run_report
from postreport.analyses.checks import (FALSE_ALARMS, FEW_TEST_ROWS, WARNING, ChecksAnalysis as C, ChecksSettings,
                                        codes, false_alarms, one_column_scores)
from postreport.config import BootstrapConfig
from postreport.errors import UserError

CFG = SimpleNamespace(bootstrap=BootstrapConfig())


def run_of(**data):
    """A run's context as the checks read it: the data, the config, and the run's cache of shared work."""
    return SimpleNamespace(data=SimpleNamespace(**data), cfg=CFG, shared=lambda key, compute: compute())


def frame(rng, n, columns=4):
    return pd.DataFrame(rng.normal(size=(n, columns)).round(3), columns=[f"x{i}" for i in range(columns)])


def test_train_test_overlap_counts_the_test_rows_found_among_the_training_rows():
    rng = np.random.default_rng(0)
    train, fresh = frame(rng, 700), frame(rng, 210)
    test = pd.concat([fresh, train.sample(90, random_state=1)], ignore_index=True)  # 30 % copied
    looked, finding = C._train_test_overlap(run_of(X_train=train, X_test=test, key_name="row", test_keys=None))
    expected = len(test.merge(train.drop_duplicates(), how="inner"))  # pandas' own join on every column
    assert finding is not None and finding.evidence["rows"] == expected == 90
    assert finding.evidence["share_ci"][0] < 0.3 < finding.evidence["share_ci"][1]
    _, clean = C._train_test_overlap(run_of(X_train=train, X_test=fresh, key_name="row", test_keys=None))
    assert clean is None


def test_duplicate_test_rows_and_conflicting_training_labels_match_pandas():
    rng = np.random.default_rng(1)
    test = frame(rng, 200)
    test = pd.concat([test, test.iloc[:20]], ignore_index=True)
    _, finding = C._duplicate_rows(run_of(X_test=test, logged=None))
    assert finding.evidence["rows"] == int(test.duplicated().sum()) == 20 and finding.severity == WARNING
    assert C._duplicate_rows(run_of(X_test=test.iloc[:200], logged=None))[1] is None

    train = frame(rng, 500)
    y = pd.Series(rng.integers(0, 2, 500))
    twins = pd.concat([train, train.iloc[:15]], ignore_index=True)
    labels = pd.concat([y, 1 - y.iloc[:15]], ignore_index=True)  # the twins carry the other label
    _, finding = C._conflicting_labels(run_of(X_train=twins, X_test=twins, y_train=labels))
    both = pd.concat([twins, labels.rename("y")], axis=1)
    expected = int(both.groupby(list(twins.columns))["y"].transform("nunique").gt(1).sum())
    assert finding.evidence["rows"] == expected == 30 and finding.severity == WARNING
    same = pd.concat([y, y.iloc[:15]], ignore_index=True)  # twins with the same label: nothing to say
    assert C._conflicting_labels(run_of(X_train=twins, X_test=twins, y_train=same))[1] is None


def test_a_two_percent_class_is_an_imbalance_and_a_five_row_class_is_underrepresented():
    rng = np.random.default_rng(2)
    y = pd.Series(np.where(rng.random(2000) < 0.02, "rare", "common"))
    data = SimpleNamespace(task="binary", y_train=y.iloc[:1500], y_test=y.iloc[1500:], weights=None)
    _, finding = C._class_imbalance(SimpleNamespace(data=data))
    assert finding is not None and finding.evidence["shares"]["rare"] == pytest.approx(
        y.value_counts(normalize=True)["rare"])
    even = pd.Series(np.arange(3000) % 30).astype(str)  # 30 even classes hold 3.3 % each: no imbalance
    assert C._class_imbalance(SimpleNamespace(data=SimpleNamespace(
        task="multiclass", y_train=even.iloc[:2000], y_test=even.iloc[2000:], weights=None)))[1] is None
    balanced = pd.Series(np.where(rng.random(2000) < 0.3, "a", "b"))
    assert C._class_imbalance(SimpleNamespace(data=SimpleNamespace(
        task="binary", y_train=balanced.iloc[:1500], y_test=balanced.iloc[1500:], weights=None)))[1] is None

    labels = ["a", "b", "c"]
    y_idx = np.r_[np.zeros(100, int), np.ones(100, int), np.full(5, 2)]
    ctx = SimpleNamespace(data=SimpleNamespace(task="multiclass", labels=labels), cfg=CFG,
                          encoded=SimpleNamespace(y_idx=y_idx, weight=None))
    _, finding = C._underrepresented_classes(ctx)
    assert [c["class"] for c in finding.evidence["classes"]] == ["c"] and finding.evidence["classes"][0][
        "test_rows"] == 5
    ctx.encoded.y_idx = np.r_[y_idx[:200], np.full(FEW_TEST_ROWS, 2)]
    assert C._underrepresented_classes(ctx)[1] is None


def test_a_search_that_ends_at_its_ranges_edge_is_said_and_constant_columns_are_useless():
    param = lambda name, low, high, log: SimpleNamespace(name=name, low=low, high=high, log=log)  # noqa: E731
    outcome = SimpleNamespace(params=[param("num_leaves", 7, 63, True), param("learning_rate", 0.01, 0.3, True)],
                              best_params={"num_leaves": 63, "learning_rate": 0.05})
    _, finding = C._search_edge(SimpleNamespace(tuning=outcome))
    assert [e["parameter"] for e in finding.evidence["parameters"]] == ["num_leaves"]
    outcome.best_params["num_leaves"] = 21
    assert C._search_edge(SimpleNamespace(tuning=outcome))[1] is None

    train = frame(np.random.default_rng(3), 50).assign(flat=1.0)
    _, finding = C._useless_features(SimpleNamespace(data=SimpleNamespace(X_train=train)))
    assert finding.evidence["columns"] == ["flat"] and finding.evidence["constant"] == ["flat"]


def test_miscalibrated_probabilities_are_said_from_the_calibration_sections_slope():
    from postreport.analyses.checks import ChecksResult

    for slope_ci, fires in (([0.31, 0.79], True), ([0.8, 1.2], False), ([1.05, 1.6], True)):
        result = ChecksResult(ran=[("scores_not_probabilities", "whether the scores are probabilities")])
        C().review(result, {"calibration": SimpleNamespace(slope=sum(slope_ci) / 2, slope_ci=slope_ci,
                                                          main="positive")}, None)
        assert [f.id for f in result.findings] == (["scores_not_probabilities"] if fires else [])
        assert f"[{slope_ci[0]:.3f}, {slope_ci[1]:.3f}]" in dict(result.ran)["scores_not_probabilities"]
        if fires:
            f = result.findings[0]
            assert f.severity == "info" and ("extreme" if slope_ci[1] < 1 else "cautious") in f.title
    result = ChecksResult(ran=[("scores_not_probabilities", "whether")])
    C().review(result, {}, None)  # no calibration section: said, nothing found
    assert result.findings == [] and "no calibration slope" in dict(result.ran)["scores_not_probabilities"]


def test_one_column_scores_are_scikit_learns_trees_and_text_columns_count():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"x": rng.normal(size=400), "label_text": np.where(rng.random(400) < 0.5, "yes", "no")})
    y = (X["label_text"] == "yes").astype(int).to_numpy().astype(str)
    coded = codes(X)
    scores = one_column_scores(coded[:300], y[:300], coded[300:], y[300:], False, 4, 0)
    tree = DecisionTreeClassifier(max_leaf_nodes=4, random_state=0).fit(coded[:300, [0]], y[:300])
    assert scores[0] == pytest.approx(np.mean(tree.predict(coded[300:, [0]]) == y[300:]))
    assert scores[1] == 1.0  # the text column spells the label


def test_ignoring_an_unknown_check_names_the_valid_ones():
    with pytest.raises(UserError, match="target_leakage"):
        ChecksSettings(ignore=["target_leak"])


# ------------------------------------------------------------------------------------------ end to end (slow)

def leaky_files(folder, rng):
    """A column equal to the label with 1 % flipped (and its clean twin without it); labels shuffled against the
    features (and the real ones)."""
    n = 1500
    X = frame(rng, n, 5)
    y = (X["x0"] + rng.normal(size=n) > 0).astype(int)
    leaky = X.assign(recorded_after=np.where(rng.random(n) < 0.01, 1 - y, y) + rng.normal(0, 0.05, n), y=y)
    paths = {}
    for name, table in (("leaky", leaky), ("clean", X.assign(y=y)),
                        ("shuffled", X.assign(y=rng.permutation(y.to_numpy())))):
        paths[name] = folder / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    return paths


def checks_of(tmp_path, path, extra=()):
    result, out = run_report(tmp_path, ["data=file", f"data.path={path}", "data.target=y",
                                        "report.analyses=[checks]", *extra])
    return result, result.metrics["results"]["checks"], out


@pytest.mark.slow
def test_generated_faults_fire_with_evidence_and_their_clean_twins_do_not(tmp_path):
    paths = leaky_files(tmp_path, np.random.default_rng(5))
    _, leaky, _ = checks_of(tmp_path / "l", paths["leaky"])
    leak = next(f for f in leaky["findings"] if f["id"] == "target_leakage")
    assert leak["evidence"]["column"] == "recorded_after" and leak["severity"] == WARNING
    assert leak["evidence"]["score_ci"][0] <= 0.99 <= leak["evidence"]["score_ci"][1] + 0.005  # 1 % flipped
    _, clean, _ = checks_of(tmp_path / "c", paths["clean"])
    assert not [f for f in clean["findings"] if f["severity"] == WARNING] and "target_leakage" in clean["ran"]

    result, shuffled, out = checks_of(tmp_path / "s", paths["shuffled"])
    base = next(f for f in shuffled["findings"] if f["id"] == "not_better_than_baseline")
    rows = pd.read_parquet(out / "predictions.parquet")
    table = pd.read_csv(paths["shuffled"])
    train = table.drop(index=rows["row"].to_numpy())
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(train), 1)), train["y"])
    assert base["evidence"]["metric"] == "roc_auc"
    assert base["evidence"]["dummy"] == skm.roc_auc_score(rows["y_true"], dummy.predict_proba(
        np.zeros((len(rows), 1)))[:, 1]) == 0.5
    score = [c for c in rows.columns if c.startswith("score")][-1]
    assert base["evidence"]["model"] == pytest.approx(skm.roc_auc_score(rows["y_true"], rows[score]))
    assert base["evidence"]["difference_ci"][0] <= 0
    assert "not_better_than_baseline" not in {f["id"] for f in clean["findings"]}
    assert "underfitting" in clean["ran"] and "underfitting" not in {f["id"] for f in clean["findings"]}
    _, stiff, _ = checks_of(tmp_path / "u", paths["clean"], ["model.params.n_estimators=1",
                                                              "model.params.learning_rate=0.0001"])
    under = next(f for f in stiff["findings"] if f["id"] == "underfitting")["evidence"]
    assert under["train_ci"][0] <= under["dummy"] and 0.5 < under["dummy"] < 0.6  # y = x0 + noise > 0: about half



@pytest.mark.slow
def test_columns_whose_shuffles_cost_nothing_are_useless_and_the_informative_ones_are_not(tmp_path):
    from scipy.stats import t

    paths = leaky_files(tmp_path, np.random.default_rng(6))  # clean: y = x0 + noise > 0; x1..x4 pure noise
    result, checks, _ = checks_of(tmp_path / "p", paths["clean"], ["report.analyses=[checks,feature_importance]"])
    perm = result.metrics["results"]["feature_importance"]["permutation"]
    repeats = perm["repeats"]
    for mean, std, ci in zip(perm["mean"], perm["std"], perm["ci"]):  # numpy's std over the repeats (ddof 0)
        assert ci == pytest.approx(t.interval(0.95, repeats - 1, loc=mean, scale=std / np.sqrt(repeats - 1)))
    found = next(f for f in checks["findings"] if f["id"] == "useless_features")["evidence"]
    columns = result.metrics["results"]["feature_importance"]["columns"]
    idle = [c for c, ci in zip(columns, perm["ci"]) if ci[0] <= 0]
    assert [i["column"] for i in found["no_permutation_effect"]] == idle == found["columns"]
    assert "x0" not in idle and len(idle) >= 2 and found["constant"] == []


@pytest.mark.slow
def test_a_dated_table_split_at_random_overlaps_in_time_and_a_split_at_a_date_does_not(tmp_path):
    rng = np.random.default_rng(7)
    n = 1200
    table = frame(rng, n, 3).assign(when=pd.date_range("2025-01-01", periods=n, freq="6h").strftime("%Y-%m-%d %H:%M"))
    table["y"] = (table["x0"] + rng.normal(size=n) > 0).astype(int)
    table.to_csv(tmp_path / "all.csv", index=False)
    table.iloc[:900].to_csv(tmp_path / "before.csv", index=False)
    table.iloc[900:].to_csv(tmp_path / "after.csv", index=False)
    _, mixed, out = checks_of(tmp_path / "r", tmp_path / "all.csv")
    found = next(f for f in mixed["findings"] if f["id"] == "time_overlap")
    test_rows = table.iloc[pd.read_parquet(out / "predictions.parquet")["row"].to_numpy()]
    train_days = pd.to_datetime(table.drop(index=test_rows.index)["when"]).dt.normalize()
    inside = pd.to_datetime(test_rows["when"]).dt.normalize().between(train_days.min(), train_days.max()).mean()
    assert found["evidence"]["share"] == pytest.approx(inside) and inside > 0.9
    _, split, _ = checks_of(tmp_path / "t", tmp_path / "before.csv", [f"data.test_path={tmp_path / 'after.csv'}"])
    assert "time_overlap" in split["ran"] and "time_overlap" not in {f["id"] for f in split["findings"]}


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["breast_cancer", "wine", "digits", "diabetes"])
def test_the_bundled_datasets_raise_no_warning_about_their_data_or_split(tmp_path, dataset):
    result, _ = run_report(tmp_path, [f"data={dataset}", "report.analyses=[checks,metrics]"])
    checks = result.metrics["results"]["checks"]
    about_the_model = {"overfitting", "underfitting"}  # true of a model, not an alarm about the data or the split
    assert [f["id"] for f in checks["findings"] if f["severity"] == WARNING and f["id"] not in about_the_model] == []
    fit = {f["id"]: f["evidence"] for f in checks["findings"]}.get("overfitting")
    if dataset == "diabetes":  # LightGBM's defaults: R² near 0.9 on the training rows, 0.2 on the test rows
        assert fit["train"] > 0.85 and fit["test"] == pytest.approx(result.metrics["metrics"]["r2"])
        assert fit["gap"] == pytest.approx(fit["train"] - fit["test"]) and fit["gap_ci"][0] > fit["tolerance"]
    else:
        assert fit is None
    split = {"train_test_overlap", "duplicate_rows", "conflicting_labels", "not_better_than_baseline"}
    assert split | ({"target_leakage"} if dataset != "digits" else set()) <= set(checks["ran"])
    measured = {c["case"]: c for c in json.loads(FALSE_ALARMS.read_text())["cases"]}[f"data={dataset}"]
    assert measured["warnings"] == [f["id"] for f in checks["findings"] if f["severity"] == WARNING]  # the report's
    # table of false alarms is what a run finds (bench/bench_checks.py --write measures it again)


def test_the_reports_table_of_false_alarms_shows_none_and_every_fault_found():
    measured = json.loads(FALSE_ALARMS.read_text())["cases"]
    assert {"data=breast_cancer", "data=wine", "data=digits", "data=diabetes"} <= {c["case"] for c in measured}
    for c in measured:
        if c["clean"]:
            assert set(c["warnings"]) <= set(c["expected"]), c["case"]  # a warning on clean data: a false alarm
        else:
            assert c["warnings"] and not c["expected"], c["case"]  # each fault raises its warning
    table = false_alarms()
    assert [r[0] for r in table.rows] == [c["case"] for c in measured] and "bench/bench_checks.py" in table.caption


@pytest.mark.slow
def test_the_gate_fails_a_leaky_run_with_exit_3_and_the_finding_in_gates_xml(tmp_path):
    paths = leaky_files(tmp_path, np.random.default_rng(6))
    done = cli(["data=file", f"data.path={paths['leaky']}", "data.target=y", "report.analyses=[checks,metrics]",
                "report.formats=[json,junit]", "+gates={checks_warnings: {max: 0}}"], tmp_path)
    assert done.returncode == 3, done.stderr
    assert "check target_leakage: column 'recorded_after'" in (tmp_path / "out" / "postreport.log").read_text()
    xml = (tmp_path / "out" / "gates.xml").read_text()
    assert "checks_warnings" in xml and "failure" in xml
    silenced = cli(["data=file", f"data.path={paths['leaky']}", "data.target=y", "report.analyses=[checks]",
                    "report.formats=[json]", "+gates={checks_warnings: {max: 0}}",
                    "analyses.checks.ignore=[target_leakage]"], tmp_path)
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert silenced.returncode == 0, silenced.stderr
    assert doc["results"]["checks"]["ignored"] == ["target_leakage"]
    check_user_error(cli(["analyses.checks.ignore=[leak]", "report.formats=[json]"], tmp_path), "analyses.checks")


@pytest.mark.slow
def test_logged_predictions_run_the_class_checks_alike_in_memory_and_on_duckdb(tmp_path):
    """No training rows: the checks that need them say so; a 2 % class is found from the rows and from DuckDB's
    cells alike, with the shares of value_counts."""
    rng = np.random.default_rng(8)
    y = np.where(rng.random(3000) < 0.02, 1, 0)
    logged = pd.DataFrame({"y_true": y, "score": np.clip(0.4 * y + rng.uniform(0, 0.6, 3000), 0, 1),
                           "region": rng.choice(["n", "s"], 3000)})
    logged.to_parquet(tmp_path / "logged.parquet")
    seen = {}
    for engine in ("pandas", "duckdb"):
        result, _ = run_report(tmp_path / engine, ["data=predictions", f"data.path={tmp_path / 'logged.parquet'}",
                                                   "data.scores=[score]", f"data.engine={engine}",
                                                   "report.analyses=[checks]"])
        checks = result.metrics["results"]["checks"]
        seen[engine] = checks
        assert {s["id"] for s in checks["skipped"]} >= {"target_leakage", "train_test_overlap", "duplicate_rows"}
        shares = next(f for f in checks["findings"] if f["id"] == "class_imbalance")["evidence"]["shares"]
        assert shares["1"] == pytest.approx(logged["y_true"].value_counts(normalize=True)[1])
    assert seen["pandas"]["ran"] == seen["duckdb"]["ran"]


@pytest.mark.slow
def test_an_identifier_the_models_own_importance_ranks_high_is_shown_not_to_matter(tmp_path):
    rng = np.random.default_rng(9)
    n = 2000
    table = pd.DataFrame(np.round(rng.normal(size=(n, 4)) * 2), columns=[f"x{i}" for i in range(4)])  # few values
    table["y"] = (table["x0"] + table["x1"] + rng.normal(size=n) * 2 > 0).astype(int)
    table.to_csv(tmp_path / "clean.csv", index=False)
    table.assign(customer_id=rng.permutation(n)).to_csv(tmp_path / "ids.csv", index=False)
    _, ids, _ = checks_of(tmp_path / "i", tmp_path / "ids.csv")
    found = next(f for f in ids["findings"] if f["id"] == "importance_bias")["evidence"]["columns"]
    assert [c["column"] for c in found] == ["customer_id"] and found[0]["native_rank"] <= 3
    assert found[0]["levels"] == pd.read_csv(tmp_path / "ids.csv")["customer_id"].nunique() * 3 // 4  # training rows
    assert found[0]["permutation_drop_ci"][0] <= 0
    _, clean, _ = checks_of(tmp_path / "c", tmp_path / "clean.csv")
    assert "importance_bias" in clean["ran"] and "importance_bias" not in {f["id"] for f in clean["findings"]}
