"""Logged predictions at scale (postreport.data.warehouse): DuckDB and Spark aggregate them into cells; the report
from the cells equals the report from the rows in memory (counts exactly, ROC AUC within the bound it states)."""
import json

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from conftest import check_user_error, cli, java_or_skip, run_report

from postreport.stats import bootstrap
from postreport.config import BootstrapConfig

ROWS = 250_000  # bench/bench_warehouse.py runs 10^6 to 10^8
SECTIONS = "report.analyses=[metrics,per_class,confusion_matrix,curves,calibration,thresholds,slices,errors]"
SLICES = ["analyses.slices.by=[region,store]", "analyses.slices.discover=false", "analyses.errors.max_features=1",
          "bootstrap.resamples=400"]


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """250,000 binary logged predictions ('no'/'yes', scores on a 1e-4 grid so that many tie, a predicted-label column
    that is not the 0.5 threshold's), as one Parquet file and as a hive-partitioned folder of 8 files."""
    tmp = tmp_path_factory.mktemp("logged")
    rng = np.random.default_rng(7)
    y = rng.random(ROWS) < 0.2
    p = np.round(1 / (1 + np.exp(-(rng.normal(0, 1.2, ROWS) + 2.0 * y - 1.0))), 4)
    frame = pd.DataFrame({"y_true": np.where(y, "yes", "no"), "p_yes": p,
                          "y_pred": np.where(p >= 0.4, "yes", "no"), "store": rng.integers(0, 5, ROWS),
                          "region": rng.choice(["north", "south", "east", "west", "Zürich 'Süd'"], ROWS,
                                               p=[0.4, 0.3, 0.2, 0.09992, 0.00008])})
    frame.to_parquet(tmp / "one.parquet", index=False)
    for i, rows in enumerate(np.array_split(np.arange(ROWS), 8)):
        folder = tmp / "parts" / f"date=2026-01-0{i // 2 + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        frame.iloc[rows].to_parquet(folder / f"part-{i % 2}.parquet", index=False)
    return tmp, frame


def report(tmp_path, path, engine, *extra, formats=("json",)):
    result, out = run_report(tmp_path, ["data=predictions", f"data.path='{path}'", "data.scores=[p_yes]",
                                        f"data.engine={engine}", "data.positive_label=yes", SECTIONS, *SLICES,
                                        *extra],
                             formats=formats)
    assert result.exit_code == 0
    return result.metrics


def leaves(value, path=""):
    """Every number of a metrics.json subtree by its path."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in leaves(item, f"{path}[{i}]").items()}
    return {path: value} if isinstance(value, (int, float)) and not isinstance(value, bool) else {}


def assert_same(a: dict, b: dict, rel=1e-9):
    """Two metrics.json result trees agree: the same numbers, up to the order floating-point sums were taken in."""
    left, right = leaves(a), leaves(b)
    assert left.keys() == right.keys()
    for key in left:
        assert right[key] == pytest.approx(left[key], rel=rel, abs=1e-12), key


@pytest.fixture(scope="module")
def duck_and_pandas(logged, tmp_path_factory):
    tmp, frame = logged
    duck = report(tmp_path_factory.mktemp("duck"), tmp / "one.parquet", "duckdb", formats=("json", "html"))
    pandas = report(tmp_path_factory.mktemp("pandas"), tmp / "one.parquet", "pandas")
    return duck, pandas


@pytest.mark.slow
def test_duckdb_equals_pandas_on_many_rows(logged, duck_and_pandas):
    _, frame = logged
    duck, pandas = duck_and_pandas
    agg = duck["aggregation"]
    assert agg["engine"] == "DuckDB" and agg["rows_read"] == ROWS and agg["cells"] < ROWS / 10
    assert "aggregation" not in pandas and duck["n_test"] == pandas["n_test"] == ROWS
    m, p = duck["metrics"], pandas["metrics"]
    y, s = (frame["y_true"] == "yes").to_numpy(), frame["p_yes"].to_numpy()
    pred = (frame["y_pred"] == "yes").to_numpy()  # scikit-learn is much faster on booleans than on text labels
    # counting metrics: exact, and what scikit-learn computes on the rows
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc"):
        assert m[name] == pytest.approx(p[name], rel=1e-12), name
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), rel=1e-12)
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, pred), rel=1e-9)
    # log loss and Brier score: sums of each row's own value
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, s), rel=1e-9)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, s), rel=1e-9)
    # ROC AUC: binned, within the bound the report states
    bound = agg["auc_error_bound"]
    assert 0 <= bound < 1e-3
    assert abs(m["roc_auc"] - skm.roc_auc_score(y, s)) <= bound + 1e-12
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(y, s), abs=1e-3)
    for name, interval in ((k[:-3], v) for k, v in duck["results"]["metrics"].items() if k.endswith("_ci")):
        assert interval == pytest.approx(pandas["results"]["metrics"][f"{name}_ci"], abs=3e-3), name
    r, q = duck["results"], pandas["results"]
    assert r["confusion_matrix"] == q["confusion_matrix"]
    assert r["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, pred, labels=[False, True]).tolist()
    for a, b in zip(r["per_class"]["classes"].values(), q["per_class"]["classes"].values()):
        assert (a["support"], a["precision"], a["recall"], a["f1"]) == (b["support"], b["precision"], b["recall"],
                                                                          b["f1"])
    c, d = r["calibration"], q["calibration"]
    assert c["curves"]["positive"]["count"] == d["curves"]["positive"]["count"]
    assert c["ece"] == pytest.approx(d["ece"], abs=1e-9) and c["brier"] == pytest.approx(d["brier"], rel=1e-9)
    assert c["slope"] == pytest.approx(d["slope"], rel=1e-6)
    default, expected = r["thresholds"]["choices"]["default"], q["thresholds"]["choices"]["default"]
    assert default == pytest.approx(expected, rel=1e-12)
    assert r["curves"]["roc"]["positive"]["auc"] == pytest.approx(m["roc_auc"], rel=1e-12)


@pytest.mark.slow
def test_slices_and_error_examples_are_computed_where_the_rows_live(logged, duck_and_pandas):
    _, frame = logged
    duck, pandas = duck_and_pandas
    r, q = duck["results"], pandas["results"]
    # slices: one GROUP BY pass; a text column's slices equal the in-memory ones (intervals too: the same draws)
    by_region = [s for s in r["slices"]["slices"] if s["column"] == "region"]
    assert by_region == [s for s in q["slices"]["slices"] if s["column"] == "region"]
    rare = next(s for s in by_region if s["value"] == "Zürich 'Süd'")
    assert rare["small"] and rare["n"] == int((frame["region"] == "Zürich 'Süd'").sum())
    # an integer column with more values than analyses.slices.bins: quantile bins need the rows, so it is left out
    assert not any(s["column"] == "store" for s in r["slices"]["slices"])
    assert any(s["column"] == "store" for s in q["slices"]["slices"])
    # the most confident wrong predictions: a top-k pass over every row, the same as sorting the rows in memory
    confident = [row["P(predicted)"] for row in r["errors"]["rows"]]
    assert confident == [row["P(predicted)"] for row in q["errors"]["rows"]]
    assert r["errors"]["n_errors"] == q["errors"]["n_errors"] == int((frame["y_true"] != frame["y_pred"]).sum())


@pytest.mark.slow
def test_the_report_states_engine_rows_and_sections_it_cannot_compute(logged, duck_and_pandas, tmp_path):
    duck, _ = duck_and_pandas
    sections = {s["name"]: s for s in duck["sections"]}
    for name in ("metrics", "per_class", "confusion_matrix", "curves", "calibration", "thresholds", "slices",
                 "errors"):
        assert sections[name]["status"] == "ok", sections[name]
    passes = duck["aggregation"]["passes"]
    assert [p["pass"] for p in passes] == ["profile", "cells", "slice columns", "slices", "error examples"]
    assert all(p["rows"] == ROWS for p in passes)
    notes = duck["results"]["slices"]
    assert "weak-segment search needs individual rows" in json.dumps(notes)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={logged[0] / 'one.parquet'}",
                                      "data.scores=[p_yes]", "data.engine=duckdb", "data.positive_label=yes",
                                      "report.analyses=[metrics,fairness,conformal]",
                                      "analyses.fairness.sensitive=[region]"])
    skipped = {s["name"]: s for s in result.metrics["sections"]}
    for name in ("fairness", "conformal"):
        assert skipped[name]["status"] == "skipped" and "aggregated by DuckDB" in skipped[name]["error"], name


@pytest.mark.slow
def test_html_says_how_the_rows_were_read(logged, tmp_path):
    from html.parser import HTMLParser

    tmp, _ = logged
    result, out = run_report(tmp_path, ["data=predictions", f"data.path='{tmp / 'parts'}'", "data.scores=[p_yes]",
                                        "data.engine=duckdb", "data.positive_label=yes", "report.analyses=[metrics]"],
                             formats=("html",))

    class Text(HTMLParser):
        words: list = []

        def handle_data(self, data):
            self.words.append(data)

    parser = Text()
    parser.feed((out / "report.html").read_text())
    text = " ".join(" ".join(parser.words).split())
    assert f"DuckDB read {ROWS:,} rows from 8 file(s) in 2 passes" in text
    assert "no row is sampled" in text and "ROC AUC is binned, within ±" in text
    assert not (out / "predictions.parquet").exists()  # cells are not rows: no per-row file to write


@pytest.mark.slow
def test_a_partitioned_folder_equals_the_same_rows_in_one_file(logged, duck_and_pandas, tmp_path):
    tmp, frame = logged
    duck, _ = duck_and_pandas
    parts = report(tmp_path / "a", tmp / "parts", "duckdb")
    assert parts["aggregation"]["files"] == 8 and parts["aggregation"]["rows_read"] == ROWS
    assert_same(duck["results"], parts["results"])
    two = report(tmp_path / "b", tmp / "parts" / "date=2026-01-0[12]", "duckdb")  # a glob of partition folders
    assert two["aggregation"]["files"] == 4 and two["n_test"] == ROWS // 2


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_equals_duckdb(logged, duck_and_pandas, tmp_path):
    java_or_skip()
    tmp, _ = logged
    duck, _ = duck_and_pandas
    spark = report(tmp_path, tmp / "parts", "spark", "data.spark.master='local[2]'")
    assert spark["aggregation"]["engine"] == "Spark" and spark["aggregation"]["rows_read"] == ROWS
    assert_same(duck["results"], spark["results"])
    from pyspark.sql import SparkSession

    from postreport.data.engines.spark import Spark

    session = SparkSession.builder.getOrCreate()  # the report's session
    assert engine_periods(lambda sql: session.sql(sql).collect()[0][0], Spark) == pandas_periods()


PERIOD_DATES = ["2020-12-31", "2021-01-03", "2021-01-04", "2024-12-30", "2026-12-28", "2027-01-01", "2027-01-04"]


def pandas_periods() -> list:
    from postreport.analyses.over_time import OverTimeSettings, period_keys

    frame = pd.DataFrame({"date": PERIOD_DATES})
    return [period_keys(frame, {}, OverTimeSettings(by="date", period=p)).tolist() for p in ("day", "week", "month")]


def engine_periods(scalar, engine) -> list:
    return [[scalar(f"SELECT {engine.period(engine.literal(d), p)}") for d in PERIOD_DATES]
            for p in ("day", "week", "month")]


def test_duckdb_names_days_iso_weeks_and_months_as_pandas_does():
    import duckdb

    from postreport.data.engines.duckdb import DuckDB

    con = duckdb.connect()
    assert engine_periods(lambda sql: con.execute(sql).fetchone()[0], DuckDB) == pandas_periods()


@pytest.mark.slow
def test_files_whose_schemas_differ_exit_2_naming_file_and_column(tmp_path):

    frame = pd.DataFrame({"y_true": [0, 1] * 50, "p": np.linspace(0, 1, 100)})
    (tmp_path / "preds").mkdir()
    frame.to_parquet(tmp_path / "preds" / "a.parquet", index=False)
    frame.assign(p=frame["p"].astype(str)).to_parquet(tmp_path / "preds" / "b.parquet", index=False)
    base = ["data=predictions", "data.path=preds", "data.scores=[p]", "data.prediction=null"]
    check_user_error(cli(base, cwd=tmp_path), "column 'p' is text in", "b.parquet", "number in")
    frame.drop(columns=["p"]).to_parquet(tmp_path / "preds" / "b.parquet", index=False)
    check_user_error(cli(base, cwd=tmp_path), "b.parquet has no column 'p'")
    frame.assign(extra=1).to_parquet(tmp_path / "preds" / "b.parquet", index=False)
    check_user_error(cli(base + ["data.engine=duckdb"], cwd=tmp_path), "b.parquet has column 'extra'")
    check_user_error(cli(["data=predictions", "data.path=nowhere/*.parquet"], cwd=tmp_path), "matches no file")


@pytest.mark.slow
def test_auto_takes_duckdb_above_the_stated_row_count(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 5000)
    frame = pd.DataFrame({"y_true": y, "p": np.clip(0.3 * y + rng.random(5000) * 0.7, 0, 1)})
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    base = ["data=predictions", f"data.path={tmp_path / 'p.parquet'}", "data.scores=[p]", "data.prediction=null",
            "report.analyses=[metrics]"]
    small, _ = run_report(tmp_path / "a", base)
    large, _ = run_report(tmp_path / "b", [*base, "data.engine_rows=4999"])
    assert "aggregation" not in small.metrics and large.metrics["aggregation"]["engine"] == "DuckDB"
    assert large.metrics["metrics"]["accuracy"] == small.metrics["metrics"]["accuracy"]
    assert abs(large.metrics["metrics"]["roc_auc"] - skm.roc_auc_score(y, frame["p"])) <= \
        large.metrics["aggregation"]["auc_error_bound"] + 1e-12


@pytest.mark.slow
def test_labels_are_sql_literals_not_sql(tmp_path):
    """A label with a quote (and one that reads as SQL) is a value to compare, in DuckDB and in the report."""
    rng = np.random.default_rng(4)
    labels = np.array(["it's", "x') OR TRUE --", "back\\slash"])
    y = labels[rng.integers(0, 3, 3000)]
    pred = np.where(rng.random(3000) < 0.7, y, labels[rng.integers(0, 3, 3000)])
    pd.DataFrame({"y_true": y, "y_pred": pred}).to_csv(tmp_path / "m.csv", index=False)
    base = ["data=predictions", f"data.path={tmp_path / 'm.csv'}", "report.analyses=[metrics,confusion_matrix]"]
    mem, _ = run_report(tmp_path / "b", [*base, "data.engine=pandas"])
    assert mem.metrics["metrics"]["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), rel=1e-12)
    engines = ["duckdb"]
    try:
        java_or_skip()
        engines.append("spark")  # Spark SQL reads backslashes in strings as escapes: its own quoting
    except pytest.skip.Exception:
        pass
    for engine in engines:
        agg, _ = run_report(tmp_path / engine, [*base, f"data.engine={engine}"])
        assert agg.metrics["aggregation"]["cells"] == 9, engine
        assert agg.metrics["results"]["confusion_matrix"] == mem.metrics["results"]["confusion_matrix"], engine
        for name in ("accuracy", "f1", "f1_weighted", "mcc", "balanced_accuracy"):
            assert agg.metrics["metrics"][name] == pytest.approx(mem.metrics["metrics"][name], rel=1e-12), engine


@pytest.mark.slow
def test_what_the_engines_cannot_do_is_an_error_not_a_wrong_number(tmp_path):

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"y_true": rng.normal(size=3000), "y_pred": rng.normal(size=3000)})
    frame.to_parquet(tmp_path / "r.parquet", index=False)
    frame.assign(y_pred=np.where(frame["y_pred"] > 0, np.inf, frame["y_pred"])).to_parquet(tmp_path / "inf.parquet")
    check_user_error(cli(["data=predictions", "data.path=inf.parquet", "data.engine=duckdb"], cwd=tmp_path),
                     "'y_pred' holds", "infinite values")
    check_user_error(cli(["data=predictions", "data.path=r.parquet", "data.engine=duckdb", "data.scores=[y_pred]"],
                         cwd=tmp_path), "data.scores are for classification")
    check_user_error(cli(["data=predictions", "data.path=r.parquet", "data.engine=duckdb",
                          f"compare.baseline={tmp_path / 'r.parquet'}"], cwd=tmp_path),
                     "compare.baseline pairs", "data.engine=pandas")
    binary = pd.DataFrame({"y_true": [0, 1] * 100, "y_pred": [0, 1] * 99 + [None, None]})
    binary.to_parquet(tmp_path / "b.parquet", index=False)
    check_user_error(cli(["data=predictions", "data.path=b.parquet", "data.engine=duckdb"], cwd=tmp_path),
                     "'y_pred': 2", "data.missing=drop")
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'b.parquet'}",
                                      "data.engine=duckdb", "data.missing=drop", "report.analyses=[metrics]"])
    assert result.metrics["n_test"] == 198 and result.metrics["metrics"]["accuracy"] == 1.0
    check_user_error(cli(["data=predictions", "data.path=b.parquet", "data.engine=hive"], cwd=tmp_path),
                     "data.engine='hive'", "auto, pandas, duckdb, spark")
    check_user_error(cli(["data=iris", "data.engine=duckdb"], cwd=tmp_path), "reads logged predictions")


def test_weighted_cells_give_the_rows_numbers():
    """bootstrap on cells with row counts equals the same rows one by one (point estimates), and its intervals
    draw the same distribution (multinomial over cells = rows drawn with replacement)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    score = np.round(np.clip(0.3 * y + rng.random(4000) * 0.7, 0, 1), 2)  # 101 distinct scores: many ties
    pred = (score >= 0.5).astype(int)
    keys, inverse = np.unique(np.column_stack([y, pred, score]), axis=0, return_inverse=True)
    weight = np.bincount(inverse.ravel()).astype(float)
    cy, cpred, cscore = keys[:, 0].astype(int), keys[:, 1].astype(int), keys[:, 2]
    rows = bootstrap.binary_point(y, pred, score)
    cells = bootstrap.binary_point(cy, cpred, cscore, weight=weight)
    assert cells == pytest.approx(rows, rel=1e-12)
    assert rows["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), rel=1e-12)
    settings = BootstrapConfig(resamples=400)
    a = bootstrap.binary(y, pred, score, settings, 1)
    b = bootstrap.binary(cy, cpred, cscore, settings, 1, weight=weight)
    for name in ("accuracy", "f1", "roc_auc", "brier"):
        assert a.interval(name) == pytest.approx(b.interval(name), abs=0.01), name
    assert any("aggregated input" in note for note in b.notes)


@pytest.mark.slow
def test_regression_from_sums_equals_the_rows(tmp_path, monkeypatch):
    """Regression on DuckDB: MAE, RMSE, R², MAPE and max error exact from sums, the median within its stated bound,
    slices from sums per value, the largest residuals from a top-k pass, the pictures from a seeded sample (its size
    lowered from 100,000 so that the rows can be few enough for a quick test and still more than the sample)."""
    from postreport.analyses import residuals as residual_section

    monkeypatch.setattr(residual_section, "AGGREGATED_SAMPLE", 20_000)
    rng = np.random.default_rng(11)
    n = 30_000
    y = 1000 + rng.gamma(2.0, 50.0, n)  # far from 0: R²'s sums of squares must not cancel
    pred = y + rng.standard_t(3, n) * 20
    frame = pd.DataFrame({"y_true": y, "y_pred": pred, "shop": rng.choice(["a", "b", "c"], n)})
    frame.to_parquet(tmp_path / "r.parquet", index=False)
    base = ["data=predictions", f"data.path={tmp_path / 'r.parquet'}", "analyses.slices.by=[shop]",
            "bootstrap.resamples=400",
            "report.analyses=[metrics,slices,errors,residuals]", "analyses.errors.max_features=0"]
    duck, _ = run_report(tmp_path / "a", [*base, "data.engine=duckdb"])
    mem, _ = run_report(tmp_path / "b", [*base, "data.engine=pandas"])
    assert duck.exit_code == mem.exit_code == 0
    m, p = duck.metrics["metrics"], mem.metrics["metrics"]
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-9)
    for name in ("mae", "rmse", "r2", "mape", "max_error"):
        assert m[name] == pytest.approx(p[name], rel=1e-9), name
    bound = duck.metrics["aggregation"]["median_ae_bound"]
    assert abs(m["median_ae"] - skm.median_absolute_error(y, pred)) <= bound + 1e-12 and bound < 1e-2
    for name in ("mae", "rmse", "r2", "median_ae"):
        a, b = duck.metrics["results"]["metrics"][f"{name}_ci"], mem.metrics["results"]["metrics"][f"{name}_ci"]
        width = b[1] - b[0]
        assert a == pytest.approx(b, abs=0.2 * width), name  # the same resampling, of cells rather than rows
    slices = {s["value"]: s for s in duck.metrics["results"]["slices"]["slices"]}
    for s in mem.metrics["results"]["slices"]["slices"]:
        assert slices[s["value"]]["n"] == s["n"]
        assert slices[s["value"]]["mae"] == pytest.approx(s["mae"], rel=1e-9)
        assert slices[s["value"]]["rmse"] == pytest.approx(s["rmse"], rel=1e-9)
    top = [r["Residual"] for r in duck.metrics["results"]["errors"]["rows"]]
    assert top == pytest.approx([r["Residual"] for r in mem.metrics["results"]["errors"]["rows"]], rel=1e-12)
    residuals = duck.metrics["results"]["residuals"]
    assert residuals["rows_sampled"] == 20_000 and residuals["n"] == n  # a seeded sample of the rows
    assert residuals["bias"] == pytest.approx(float(np.mean(pred - y)), rel=1e-9)


@pytest.mark.slow
def test_multiclass_counts_and_losses_from_aggregates(tmp_path):
    """Multiclass on DuckDB: labels from the top score (SQL), counting metrics, log loss and Brier score equal the
    rows'; the sections that need every row's scores say so."""
    rng = np.random.default_rng(12)
    n, labels = 30_000, np.array(["cat", "dog", "emu"])
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[y]
    proba = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 6)
    proba[:, 2] = 1 - proba[:, 0] - proba[:, 1]  # rows that sum to 1 after rounding
    frame = pd.DataFrame({"y_true": labels[y], "p_cat": proba[:, 0], "p_dog": proba[:, 1], "p_emu": proba[:, 2]})
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    base = ["data=predictions", f"data.path={tmp_path / 'm.parquet'}", "data.scores=[p_cat,p_dog,p_emu]",
            "data.prediction=null", "bootstrap.resamples=400"]
    duck, _ = run_report(tmp_path / "a", [*base, "data.engine=duckdb",
                                          "report.analyses=[metrics,confusion_matrix,curves,calibration]"])
    mem, _ = run_report(tmp_path / "b", [*base, "data.engine=pandas", "report.analyses=[metrics,confusion_matrix]"])
    m, p = duck.metrics["metrics"], mem.metrics["metrics"]
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "f1_weighted", "f1_micro", "mcc"):
        assert m[name] == pytest.approx(p[name], rel=1e-12), name
    assert m["log_loss"] == pytest.approx(skm.log_loss(labels[y], proba, labels=labels), rel=1e-9)
    assert m["brier"] == pytest.approx(p["brier"], rel=1e-9)
    assert m["roc_auc"] is None and p["roc_auc"] is not None
    assert duck.metrics["results"]["confusion_matrix"] == mem.metrics["results"]["confusion_matrix"]
    a, b = duck.metrics["results"]["metrics"]["log_loss_ci"], mem.metrics["results"]["metrics"]["log_loss_ci"]
    assert a == pytest.approx(b, abs=0.2 * (b[1] - b[0]))
    sections = {s["name"]: s for s in duck.metrics["sections"]}
    for name in ("curves", "calibration"):
        assert sections[name]["status"] == "skipped" and "aggregated by DuckDB" in sections[name]["error"], name


def test_times_with_a_zone_give_the_same_utc_days_from_text_parquet_and_duckdb(tmp_path):
    """The same instants around a DST change, written as text with offsets (a CSV), as a tz-aware Parquet column
    and read by DuckDB (whose session zone would otherwise be the machine's): one rule for all, UTC days, said in
    the note. They differed: 11 periods flagged on one path against 0 on the other."""
    from types import SimpleNamespace

    from postreport.analyses.over_time import period_keys
    from postreport.data.engines.duckdb import DuckDB
    from postreport.data.sources import resolve
    from postreport.data.tables import tidy

    stamps = pd.date_range("2026-03-28 20:00", periods=12, freq="3h", tz="Europe/Berlin")  # DST on 29 March
    expected = list(stamps.tz_convert("UTC").strftime("%Y-%m-%d"))
    assert expected != list(stamps.strftime("%Y-%m-%d"))  # local days differ: the test can tell the rules apart
    settings = SimpleNamespace(by="when", period="day")
    for frame in (pd.DataFrame({"when": [s.isoformat() for s in stamps]}), pd.DataFrame({"when": stamps})):
        notes = []
        table = tidy(frame.copy(), "data.path", [], notes)
        assert list(period_keys(table, table.attrs["dates"], settings)) == expected
        assert "taken in UTC" in notes[0]
    pd.DataFrame({"when": stamps, "y_true": 1}).to_parquet(tmp_path / "zoned.parquet")
    engine = DuckDB(resolve(str(tmp_path / "zoned.parquet")),
                    SimpleNamespace(memory_limit="1GB", threads=1))
    days = engine.con.execute(f"SELECT {engine.period(engine.ident('when'), 'day')} FROM src").fetchall()
    assert [d[0] for d in days] == expected
