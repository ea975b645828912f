"""predictions.parquet, compare.baseline (paired differences, DeLong, McNemar) and quality gates (exit 3, gates.xml,
summary.md), each checked against an independent computation."""
import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sklearn.metrics as skm
from scipy.stats import binom, norm

from conftest import cli, run_report
from postreport.stats.bootstrap import Cells, resample_counts
from postreport.stats.paired import delong, mcnemar


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("base")
    result, out = run_report(tmp, ["report.analyses=[metrics]"], formats=("json",))
    return result, out


def logged(path, n=400, seed=0, worse=0.0, keys=None, flip_truth=()):
    """A predictions file: an id column, y_true, y_pred and the positive class's score; `worse`: the share of rows
    whose prediction is made wrong on purpose."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    score = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)
    pred = (score >= 0.5).astype(int)
    spoil = rng.random(n) < worse
    pred = np.where(spoil, 1 - y, pred)
    score = np.where(spoil, 1 - y * 0.9 - 0.05, score)
    truth = y.copy()
    truth[list(flip_truth)] = 1 - truth[list(flip_truth)]
    frame = pd.DataFrame({"id": keys if keys is not None else [f"r{i:04d}" for i in range(n)], "y_true": truth,
                          "y_pred": pred, "score_1": score, "score_0": 1 - score})
    frame.to_parquet(path) if str(path).endswith(".parquet") else frame.to_csv(path, index=False)
    return frame


def compare_run(tmp_path, current, baseline, extra=(), formats=("json",)):
    return run_report(tmp_path, ["data=predictions", f"data.path={current}", "data.scores=[score_1]", "data.id=id",
                                 "report.analyses=[metrics]", f"compare.baseline={baseline}", "compare.key=id",
                                 *extra], formats=formats)


# ------------------------------------------------------------------------------------------ predictions.parquet

@pytest.mark.slow
def test_every_run_writes_its_predictions_keyed_by_source_row(default_run):
    result, out = default_run
    path = out / "predictions.parquet"
    table = pq.read_table(path).to_pandas()
    meta = json.loads(pq.read_schema(path).metadata[b"postreport"])
    assert path.stat().st_size < 100_000
    assert list(table.columns) == ["row", "y_true", "y_pred", "score_benign", "score_malignant"]
    assert len(table) == result.metrics["n_test"] and table["row"].is_unique
    assert table["row"].between(0, 568).all()  # positions in the 569 rows of breast cancer
    assert meta["key"] == "row" and meta["labels"] == ["benign", "malignant"]
    assert skm.accuracy_score(table["y_true"], table["y_pred"]) == pytest.approx(result.metrics["metrics"]["accuracy"])
    assert np.allclose(table[["score_benign", "score_malignant"]].sum(axis=1), 1)
    from sklearn.datasets import load_breast_cancer

    names = load_breast_cancer().target_names
    truth = names[load_breast_cancer().target[table["row"].to_numpy()]]
    assert (truth == table["y_true"].to_numpy()).all()  # the key is the row of the source data


@pytest.mark.slow
def test_data_id_is_the_key_and_not_a_feature(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"customer": [f"c{i}" for i in range(200)], "x": rng.normal(size=200)})
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                        "data.id=customer", "report.analyses=[metrics,feature_importance]"])
    table = pd.read_parquet(out / "predictions.parquet")
    assert table.columns[0] == "customer" and set(table["customer"]) <= set(frame["customer"])
    assert (frame.set_index("customer").loc[table["customer"], "y"].to_numpy() == table["y_true"].to_numpy()).all()
    assert result.metrics["results"]["feature_importance"]["columns"] == ["x"]
    frame.loc[5, "customer"] = frame.loc[6, "customer"]
    frame.to_csv(tmp_path / "d.csv", index=False)
    bad = cli(["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y", "data.id=customer",
               "data.test_size=0.99"], tmp_path)
    assert bad.returncode == 2 and "data.id='customer' repeats keys" in bad.stderr


# ------------------------------------------------------------------------------------------ comparison

@pytest.mark.slow
def test_a_model_compared_with_itself_differs_by_exactly_zero(tmp_path, default_run):
    _, base = default_run
    result, out = run_report(tmp_path, ["report.analyses=[metrics]", f"compare.baseline={base}"],
                             formats=("json", "html"))
    assert result.exit_code == 0
    c = result.metrics["results"]["comparison"]
    assert c["paired"] and c["matched_rows"] == result.metrics["n_test"] and c["only_baseline"] == 0
    for name, m in c["metrics"].items():
        assert m["diff"] == 0 and m["diff_ci"] == [0, 0] and m["verdict"] == "no clear difference", name
    assert c["mcnemar"]["p"] == 1 and c["delong"]["diff"] == 0
    assert c["slices"] and all(s["diff"] == 0 and s["diff_ci"] in ([0, 0], None) for s in c["slices"])
    assert c["threshold_cost"]["diff"] == 0 and c["threshold_cost"]["diff_ci"] == [0, 0]
    assert c["calibration"]["diff"] == 0 and c["calibration"]["current"] > 0
    sections = [s["name"] for s in result.metrics["sections"]]
    assert sections[0] == "comparison"  # first, though report.analyses does not list it


@pytest.mark.slow
def test_the_paired_interval_is_sklearn_on_the_same_resampled_rows(tmp_path):
    current, baseline = tmp_path / "cur.parquet", tmp_path / "base.parquet"
    cur = logged(current, seed=0)
    base = logged(baseline, seed=0, worse=0.06)
    result, _ = compare_run(tmp_path, current, baseline, ["bootstrap.resamples=200"])
    c = result.metrics["results"]["comparison"]
    y = cur["y_true"].to_numpy()
    rows = Cells(stratum=np.zeros(len(y), dtype=int), count=np.ones(len(y), dtype=int), exact=True)  # all rows
    W = np.concatenate(list(resample_counts(rows, 200, 0)))
    for name, fn, a, b in (("accuracy", skm.accuracy_score, cur["y_pred"], base["y_pred"]),
                           ("f1", skm.f1_score, cur["y_pred"], base["y_pred"]),
                           ("roc_auc", skm.roc_auc_score, cur["score_1"], base["score_1"])):
        d = [fn(y, a, sample_weight=w) - fn(y, b, sample_weight=w) for w in W]
        expected = np.percentile(d, [2.5, 97.5])
        assert c[f"{name}_diff_ci"] == pytest.approx(expected), name
        assert c[f"{name}_diff"] == pytest.approx(fn(y, a) - fn(y, b)), name


@pytest.mark.slow
def test_a_clearly_better_model_is_better_and_a_worse_one_worse(tmp_path):
    current, baseline = tmp_path / "cur.parquet", tmp_path / "base.csv"
    logged(current, n=1000, seed=2)
    logged(baseline, n=1000, seed=2, worse=0.10)  # the baseline errs on 10% more rows
    result, out = compare_run(tmp_path, current, baseline, formats=("json", "markdown"))
    m = result.metrics["results"]["comparison"]["metrics"]
    assert m["accuracy"]["verdict"] == "better" and m["accuracy"]["diff_ci"][0] > 0
    assert m["log_loss"]["verdict"] == "better" and m["log_loss"]["diff_ci"][1] < 0  # lower is better
    assert "| Accuracy |" in (out / "summary.md").read_text() and "better" in (out / "summary.md").read_text()
    slices = result.metrics["results"]["comparison"]["slices"]
    assert any(s["verdict"] == "better" for s in slices) and not any(s["verdict"] == "worse" for s in slices)
    flips = result.metrics["results"]["comparison"]["flipped"]
    assert flips["wrong_to_right"] > 50 and flips["right_to_wrong"] == 0
    swapped, _ = compare_run(tmp_path / "swap", baseline, current)
    assert swapped.metrics["results"]["comparison"]["metrics"]["accuracy"]["verdict"] == "worse"


def delong_slow(y, a, b):
    """DeLong et al. (1988) from its definition: placement values by comparing every positive with every negative."""
    pos, neg = y == 1, y == 0
    out = []
    for s in (a, b):
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = out
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / pos.sum() + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / neg.sum()
    z = (auc_a - auc_b) / math.sqrt(var)
    return auc_a - auc_b, math.sqrt(var), 2 * norm.sf(abs(z))


def test_delong_matches_the_definition_and_mcnemar_the_exact_binomial():
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(int)
    a = np.round(y * 0.6 + rng.random(300), 2)  # rounded: ties
    b = np.round(y * 0.3 + rng.random(300), 2)
    fast = delong(y, a, b)
    diff, se, p = delong_slow(y, a, b)
    assert fast["diff"] == pytest.approx(diff) and fast["se"] == pytest.approx(se) and fast["p"] == pytest.approx(p)
    assert fast["auc_a"] == pytest.approx(skm.roc_auc_score(y, a))
    right_a = np.array([True] * 10 + [False] * 3 + [True] * 20)
    right_b = np.array([False] * 10 + [True] * 3 + [True] * 20)
    b_, c_, p_ = mcnemar(right_a, right_b)
    assert (b_, c_) == (10, 3) and p_ == pytest.approx(2 * binom.cdf(3, 13, 0.5))
    assert p_ == pytest.approx(2 * (1 + 13 + 78 + 286) / 2 ** 13)


@pytest.mark.slow
def test_unmatched_keys_make_an_unpaired_comparison_that_says_so(tmp_path):
    current, baseline = tmp_path / "cur.parquet", tmp_path / "base.parquet"
    cur = logged(current, n=300, seed=4)
    logged(baseline, n=300, seed=5, keys=[f"other{i}" for i in range(300)])
    result, out = compare_run(tmp_path, current, baseline, formats=("json", "html"))
    c = result.metrics["results"]["comparison"]
    assert not c["paired"] and c["matched_rows"] == 0 and c["mcnemar"] is None
    assert c["accuracy_diff_ci"] is not None
    html = (out / "report.html").read_text()
    section = html[html.index('id="analysis-comparison"'):]
    first_note = section[section.index('class="note'):][:400]
    assert "share no row keys" in first_note and "unpaired" in first_note
    other = logged(tmp_path / "other.parquet", n=100, seed=7, keys=[f"extra{i}" for i in range(100)])
    pd.concat([cur.iloc[100:], other]).to_parquet(baseline)  # 200 shared keys
    partial, _ = compare_run(tmp_path / "p", current, baseline)
    p = partial.metrics["results"]["comparison"]
    assert (p["matched_rows"], p["only_current"], p["only_baseline"]) == (200, 100, 100)


@pytest.mark.slow
def test_baselines_that_cannot_be_compared_exit_2_naming_the_culprit(tmp_path):
    current, baseline = tmp_path / "cur.parquet", tmp_path / "base.parquet"
    logged(current, n=200, seed=6)
    logged(baseline, n=200, seed=6, flip_truth=(3, 7))
    common = ["data=predictions", f"data.path={current}", "data.scores=[score_1]", "data.id=id", "compare.key=id",
              "report.analyses=[metrics]"]
    disagree = cli([*common, f"compare.baseline={baseline}"], tmp_path)
    assert disagree.returncode == 2 and "true labels differ" in disagree.stderr and "'r0003'" in disagree.stderr
    (tmp_path / "empty_run").mkdir()
    folder = cli([*common, f"compare.baseline={tmp_path / 'empty_run'}"], tmp_path)
    assert folder.returncode == 2 and "without predictions.parquet" in folder.stderr
    missing = cli([*common, f"compare.baseline={tmp_path / 'nowhere'}"], tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in disagree.stderr + folder.stderr + missing.stderr


@pytest.mark.slow
def test_regression_compares_errors_and_lower_is_better(tmp_path):
    base_result, base = run_report(tmp_path / "a", ["data=diabetes", "model=random_forest", "report.analyses=[metrics]"])
    result, _ = run_report(tmp_path / "b", ["data=diabetes", "report.analyses=[metrics]", f"compare.baseline={base}"])
    c = result.metrics["results"]["comparison"]
    assert c["paired"] and set(c["metrics"]) == {"mae", "rmse", "r2", "mape", "median_ae", "max_error"}
    assert c["mae_diff"] == pytest.approx(result.metrics["metrics"]["mae"] - base_result.metrics["metrics"]["mae"])
    ci, diff = c["rmse_diff_ci"], c["rmse_diff"]
    assert ci[0] <= diff <= ci[1]
    expected = "better" if ci[1] < 0 else "worse" if ci[0] > 0 else "no clear difference"
    assert c["metrics"]["rmse"]["verdict"] == expected


# ------------------------------------------------------------------------------------------ gates

@pytest.mark.slow
def test_gates_pass_fail_and_not_evaluable_with_exit_3_and_ci_files(tmp_path, default_run):
    import junitparser

    _, base = default_run
    gates = ("+gates={roc_auc: {min: 0.5}, recall: {min: 0.999, on: lower}, log_loss: {max: 5, on: upper}, "
             "accuracy_diff: {min: -0.01, on: lower}}")
    result, out = run_report(tmp_path, ["report.analyses=[metrics]", f"compare.baseline={base}", gates],
                             formats=("json", "junit", "markdown", "html"))
    assert result.exit_code == 3
    by_name = {g["name"]: g for g in result.metrics["gates"]}
    assert by_name["roc_auc"]["status"] == "pass" and by_name["roc_auc"]["value"] == result.metrics["metrics"]["roc_auc"]
    recall_ci = result.metrics["results"]["metrics"]["recall_ci"]
    assert by_name["recall"]["status"] == "fail" and by_name["recall"]["value"] == recall_ci[0]
    assert by_name["log_loss"]["status"] == "pass" and by_name["accuracy_diff"]["status"] == "pass"
    suite = next(iter(junitparser.JUnitXml.fromfile(str(out / "gates.xml"))))
    cases = {c.name.split(":")[0]: c for c in suite}
    assert set(cases) == set(by_name) and suite.failures == 1
    assert isinstance(cases["recall"].result[0], junitparser.Failure) and "0.999" in cases["recall"].result[0].message
    summary = (out / "summary.md").read_text()
    assert "## Gates: FAILED" in summary and "| recall |" in summary and "❌ fail" in summary
    html = (out / "report.html").read_text()
    top = html[: html.index("<main")]
    assert 'class="gates failed"' in top and "Quality gates: FAILED" in top
    none, _ = run_report(tmp_path / "ne", ["report.analyses=[metrics]", "bootstrap.resamples=0",
                                           "+gates={f1: {min: 0.1, on: lower}}"])
    assert none.exit_code == 0 and none.metrics["gates"][0]["status"] == "not evaluable"


@pytest.mark.slow
def test_a_failed_gate_wins_over_a_failed_section(tmp_path, monkeypatch):
    from postreport.analyses.confusion import ConfusionMatrixAnalysis

    def broken(self, ctx, settings):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(ConfusionMatrixAnalysis, "compute", broken)
    failed, _ = run_report(tmp_path / "a", ["report.analyses=[metrics,confusion_matrix]"])
    assert failed.exit_code == 1
    both, _ = run_report(tmp_path / "b", ["report.analyses=[metrics,confusion_matrix]",
                                          "+gates={accuracy: {min: 0.9999}}"])
    assert both.exit_code == 3


@pytest.mark.parametrize("gate, message", [
    ("+gates={roc_acu: {min: 0.9}}", "'roc_acu' is not a metric"),
    ("+gates={roc_auc_diff: {min: 0}}", "compare.baseline is not set"),
    ("+gates={roc_auc: {on: lower}}", "gates.roc_auc needs min or max"),
    ("+gates={roc_auc: {min: 0.9, on: middle}}", "gates.roc_auc.on='middle' is not valid; valid: point, lower, upper"),
    ("+gates={rmse: {max: 3}}", "'rmse' is not a binary metric"),
    ("+gates={roc_auc: {minimum: 0.9}}", "gates.roc_auc.minimum is not a gate setting; valid: min, max, on"),
    ("+gates={roc_auc: {min: high}}", "gates.roc_auc.min='high' must be a finite number"),
])
@pytest.mark.slow
def test_bad_gates_exit_2_before_any_work(tmp_path, gate, message):
    proc = cli(["report.analyses=[metrics]", gate], tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.slow
def test_intervals_from_a_sample_of_the_matched_rows_are_scaled_to_all_of_them(tmp_path):
    """m-out-of-n: resampling 400 of 4,000 matched rows and scaling the spread by sqrt(400/4000) gives about the
    width of the interval from all rows, centred on the all-rows difference; the section says so."""
    current, baseline = tmp_path / "cur.parquet", tmp_path / "base.parquet"
    logged(current, n=4000, seed=8)
    logged(baseline, n=4000, seed=8, worse=0.03)
    full, _ = compare_run(tmp_path / "full", current, baseline, ["bootstrap.resamples=400"])
    sampled, out = compare_run(tmp_path / "sampled", current, baseline,
                               ["bootstrap.resamples=400", "bootstrap.max_exact_rows=400"], formats=("json", "html"))
    for name in ("accuracy", "roc_auc", "log_loss"):
        a, b = full.metrics["results"]["comparison"], sampled.metrics["results"]["comparison"]
        assert a[f"{name}_diff"] == b[f"{name}_diff"]
        width_full = a[f"{name}_diff_ci"][1] - a[f"{name}_diff_ci"][0]
        width_sampled = b[f"{name}_diff_ci"][1] - b[f"{name}_diff_ci"][0]
        assert 0.6 < width_sampled / width_full < 1.6, name
        assert b[f"{name}_diff_ci"][0] <= b[f"{name}_diff"] <= b[f"{name}_diff_ci"][1]
    assert "seeded sample of 400 of the 4,000 matched rows" in (out / "report.html").read_text()


def test_a_slice_whose_only_row_of_a_class_flipped_is_not_a_clear_difference():
    """A stratified resample always draws a class's single row once (no spread); slices resample rows unstratified."""
    from types import SimpleNamespace

    from postreport.analyses.comparison import _counted_ci
    from postreport.config import BootstrapConfig

    y = np.array([1] * 35 + [0])
    base = y.copy()
    base[35] = 1  # the baseline gets the only row of class 0 wrong
    enc = lambda pred: SimpleNamespace(y_idx=y, pred_idx=pred, labels=[0, 1], positive_idx=1)  # noqa: E731
    rows = np.arange(36)
    low, high = _counted_ci(enc(y), enc(base), rows, rows, "accuracy", 2, BootstrapConfig(), 0)
    assert low == 0 and high > 1 / 36
