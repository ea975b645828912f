"""No silent wrong number from real files: which score column is which class, label kinds and spellings, macro
averages with never-predicted classes, intervals of small classes, CSV dialects, row keys, dates named as the file
names them, baselines that cannot be lost or mixed up, the output folder, long labels, the console."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from conftest import cli, java_or_skip, make_cfg, run_report
from postreport.data import labels as label_checks
from postreport.data import load_dataset
from postreport.errors import UserError

LABELS = ["cat", "dog", "bird"]  # not in sorted order: a mapping by sorted position gets every row wrong


def three_classes(n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(LABELS, n)
    P = rng.dirichlet([1, 1, 1], n) * 0.4
    P[np.arange(n), [LABELS.index(v) for v in y]] += 0.6  # a perfect ranking, probabilities summing to 1
    return y, P


def load(tmp_path, frame, *overrides, name="preds.parquet"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return load_dataset(make_cfg(["data=predictions", f"data.path={path}", *overrides]).data, 0)


# ------------------------------------------------------------------------------- A1: score columns and classes

@pytest.mark.parametrize("column, label, names", [
    ("p_cat", "cat", True), ("cat_prob", "cat", True), ("score-cat", "cat", True), ("cat", "cat", True),
    ("p0", 0, True), ("score_10", 10, True), ("p_bobcat", "cat", False), ("p10", 0, False), ("catprob", "cat", False),
])
def test_a_score_column_names_a_class_only_at_a_boundary(column, label, names):
    assert label_checks._label_matches(column, label) is names


def test_score_columns_are_put_in_label_order_by_name_or_as_stated():
    labels = sorted(LABELS)  # bird, cat, dog
    ordered, note = label_checks.score_columns_by_class(["p_cat", "p_dog", "p_bird"], None, labels, "multiclass", None)
    assert ordered == ["p_bird", "p_cat", "p_dog"] and "'p_cat' is 'cat'" in note
    ordered, _ = label_checks.score_columns_by_class(["s1", "s2", "s3"], ["cat", "dog", "bird"], labels,
                                                     "multiclass", None)
    assert ordered == ["s3", "s1", "s2"]
    with pytest.raises(UserError, match="data.score_labels"):  # no name settles it: never a guess by position
        label_checks.score_columns_by_class(["s1", "s2", "s3"], None, labels, "multiclass", None)
    with pytest.raises(UserError, match="repeats"):
        label_checks.score_columns_by_class(["s1", "s2", "s3"], ["cat", "cat", "dog"], labels, "multiclass", None)
    with pytest.raises(UserError, match="positive class is 'yes'"):
        label_checks.score_columns_by_class(["p_no"], None, ["no", "yes"], "binary", "yes")


def test_the_api_honours_the_order_of_its_labels(tmp_path):
    import postreport

    y, P = three_classes()
    result = postreport.from_predictions(y, scores=P, labels=LABELS, output_dir=tmp_path / "api",
                                         overrides=["report.formats=[json]", "report.analyses=[metrics]"])
    m = result.metrics["metrics"]
    assert m["accuracy"] == 1.0 and m["roc_auc"] == 1.0
    # (scikit-learn's log_loss reads P's columns in sorted label order whatever `labels` says: the same trap)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log(P[np.arange(len(y)), [LABELS.index(v) for v in y]])))


def test_score_columns_named_after_their_classes_are_read_by_name(tmp_path):
    y, P = three_classes()
    frame = pd.DataFrame({"y_true": y, "p_cat": P[:, 0], "p_dog": P[:, 1], "p_bird": P[:, 2]})
    data = load(tmp_path, frame, "data.scores=[p_cat,p_dog,p_bird]", "data.prediction=null", name="p.csv")
    assert data.logged.score_columns == ["p_bird", "p_cat", "p_dog"]  # the data's (sorted) label order
    assert any("'p_bird' is 'bird'" in n for n in data.notes)
    frame = frame.rename(columns={"p_cat": "s1", "p_dog": "s2", "p_bird": "s3"})
    with pytest.raises(UserError, match="data.score_labels"):
        load(tmp_path, frame, "data.scores=[s1,s2,s3]", "data.prediction=null")
    data = load(tmp_path, frame, "data.scores=[s1,s2,s3]", "data.score_labels=[cat,dog,bird]",
                "data.prediction=null")
    assert data.logged.score_columns == ["s3", "s1", "s2"]


# ------------------------------------------------------------------------------- A2, A3: label kinds and spellings

def test_predicted_labels_of_another_kind_are_refused_before_any_work(tmp_path):
    frame = pd.DataFrame({"y_true": ["yes", "no"] * 50, "y_pred": [1, 0] * 50})
    with pytest.raises(UserError, match=r"share no value with the true labels.*\['no', 'yes'\]"):
        load(tmp_path, frame)
    frame["y_pred"] = ["yes", "no"] * 49 + ["maybe", "no"]
    with pytest.raises(UserError, match=r"include \['maybe'\], neither of the two true labels"):
        load(tmp_path, frame)  # binary: 'maybe' on a 'no' row would count as a right negative
    frame["y_true"] = ["yes", "no", "unsure", "no"] * 25
    frame["y_pred"] = ["yes", "no", "unsure", "no"] * 24 + ["maybe", "no", "unsure", "no"]
    data = load(tmp_path, frame)  # multiclass: a label only the model predicted counts as wrong, with a note
    assert any("'maybe'" in n and "never occur" in n for n in data.notes)


def test_labels_that_differ_by_spaces_or_case_stop_the_run_or_are_merged(tmp_path):
    frame = pd.DataFrame({"y_true": ["yes", "no", "yes ", "no"] * 25, "y_pred": ["yes", "no", "Yes", "no"] * 25})
    with pytest.raises(UserError, match="'yes' / 'yes '"):
        load(tmp_path, frame)
    data = load(tmp_path, frame, "data.strip_labels=true")
    assert data.task == "binary" and data.labels == ["no", "yes"]
    assert any("merged" in n and "into 'yes'" in n for n in data.notes)


# ------------------------------------------------------------------------------- A4, A5: macro averages, small classes

def test_macro_averages_count_never_predicted_classes_as_zero_as_sklearn():
    from postreport.stats import bootstrap
    from postreport.stats.metrics import multiclass_metrics

    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 400)
    pred = np.where(y < 3, y, rng.integers(0, 3, 400))  # classes 3 and 4 are never predicted
    result = multiclass_metrics(y, pred, None, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert result.values[name] == pytest.approx(fn(y, pred, average="macro", zero_division=0))
    assert any("never predicted (3, 4)" in n for n in result.notes)
    # the bootstrap's resamples use the same definition: its mean sits at the point estimate
    settings = type("S", (), {"resamples": 400, "level": 0.95, "seed": 0, "max_exact_rows": 10 ** 6})()
    boot = bootstrap.multiclass(y, pred, 5, None, settings, 0)
    assert np.mean(boot.samples["precision"]) == pytest.approx(result.values["precision"], abs=0.01)


@pytest.mark.slow
def test_a_class_of_few_rows_gets_wilson_intervals_and_unreliable_marks(tmp_path):
    from scipy.stats import binomtest

    def proportion_confint(k, n, method):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method=method)
        return ci.low, ci.high

    rng = np.random.default_rng(0)
    n = 3000
    y = np.zeros(n, dtype=int)
    y[:4] = 1
    score = np.where(y == 1, 0.9, rng.uniform(0, 0.45, n))
    score[4] = 0.95  # one false positive
    frame = pd.DataFrame({"y_true": y, "p_1": score})
    path = tmp_path / "few.parquet"
    frame.to_parquet(path)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={path}", "data.scores=[p_1]",
                                      "data.prediction=null", "report.analyses=[metrics,per_class]"])
    m = result.metrics["results"]["metrics"]
    assert m["recall_ci"] == pytest.approx(list(proportion_confint(4, 4, method="wilson")))
    assert m["precision_ci"] == pytest.approx(list(proportion_confint(4, 5, method="wilson")))
    assert m["recall_ci"][0] < 0.6  # the bootstrap said [1, 1]
    assert {"roc_auc", "f1"} <= set(m["ci_unreliable"]) and m["small_classes"] == {"1": 4}
    one = result.metrics["results"]["per_class"]["classes"]["1"]
    assert one["ci_method"] == "wilson" and one["recall_ci"] == pytest.approx(m["recall_ci"])


# ------------------------------------------------------------------------------- C11, C12, C16, C17: files

def dialect_files(tmp_path):
    """One frame of logged predictions written as Excel's CSV (BOM), as `;` + decimal comma + Windows-1252, and as
    `|` + Windows-1252; the frame's labels and scores."""
    rng = np.random.default_rng(0)
    n = 300
    y = rng.choice(["non", "oui"], n)
    p = np.clip(np.where(y == "oui", 0.7, 0.3) + rng.normal(0, 0.15, n), 0, 1).round(4)
    frame = pd.DataFrame({"y_true": y, "p_oui": p, "région": rng.choice(["Île", "Sud"], n)})
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    (tmp_path / "semi.csv").write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    (tmp_path / "pipe.csv").write_bytes(frame.to_csv(index=False, sep="|").encode("cp1252"))
    return y, p


def assert_dialects_read_alike(tmp_path, cases):
    y, p = dialect_files(tmp_path)
    for name, engine in cases:
        result, _ = run_report(tmp_path / f"{name}-{engine}", [
            "data=predictions", f"data.path={tmp_path / name}", "data.scores=[p_oui]", "data.prediction=null",
            f"data.engine={engine}", "report.analyses=[metrics]", "bootstrap.resamples=0"])
        values = result.metrics["metrics"]
        assert values["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "oui", p), abs=1e-4)  # DuckDB's is binned
        assert values["accuracy"] == pytest.approx(np.mean((p >= 0.5) == (y == "oui")))


@pytest.mark.slow
def test_csv_dialects_are_read_on_pandas_and_duckdb(tmp_path):
    assert_dialects_read_alike(tmp_path, [("excel.csv", "pandas"), ("semi.csv", "pandas"), ("semi.csv", "duckdb"),
                                          ("pipe.csv", "duckdb")])
    with pytest.raises(UserError, match="data.encoding"):  # a wrong encoding is named, not a traceback
        load_dataset(make_cfg(["data=predictions", f"data.path={tmp_path / 'semi.csv'}", "data.encoding=ascii",
                               "data.scores=[p_oui]"]).data, 0)


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_csv_dialects_are_read_on_spark(tmp_path):
    java_or_skip()
    assert_dialects_read_alike(tmp_path, [("pipe.csv", "spark")])  # Spark reads no decimal commas


def test_csv_regression_on_duckdb_is_typed_and_inferred_as_pandas(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.normal(10, 2, 500)
    pd.DataFrame({"y_true": y, "y_pred": y + rng.normal(0, 1, 500)}).to_csv(tmp_path / "r.csv", index=False)
    tasks = {}
    for engine in ("pandas", "duckdb"):
        data = load_dataset(make_cfg(["data=predictions", f"data.path={tmp_path / 'r.csv'}",
                                      f"data.engine={engine}"]).data, 0)
        tasks[engine] = data.task
        if data.warehouse is not None:
            data.warehouse.close()
    assert tasks == {"pandas": "regression", "duckdb": "regression"}


def test_a_parquet_text_score_column_is_refused_on_every_engine(tmp_path):
    frame = pd.DataFrame({"y_true": [0, 1] * 50, "p": ["0.2", "0.8"] * 50})
    for engine in ("pandas", "duckdb"):
        with pytest.raises(UserError, match="'p' must hold numbers"):
            load(tmp_path, frame, "data.scores=[p]", f"data.engine={engine}")


def test_ids_keep_their_text_and_are_unique_in_training_rows_too(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame({"id": [f"{i:03d}" for i in range(n)], "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})
    frame.loc[1, "id"] = "1"  # "001" would be 1 as a number: "000", "1", "002", ... are n distinct keys as text
    frame.to_csv(tmp_path / "ids.csv", index=False)
    data = load_dataset(make_cfg(["data=file", f"data.path={tmp_path / 'ids.csv'}", "data.target=y",
                                  "data.id=id"]).data, 0)
    assert set(data.test_keys) <= set(frame["id"]) and all(isinstance(k, str) for k in data.test_keys)
    frame.loc[2, "id"] = "000"  # repeated among the training rows only
    frame.iloc[:45].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[45:].to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(UserError, match="repeats keys in the training rows"):
        load_dataset(make_cfg(["data=file", f"data.path={tmp_path / 'train.csv'}",
                               f"data.test_path={tmp_path / 'test.csv'}", "data.target=y", "data.id=id"]).data, 0)


def test_a_date_column_is_named_as_the_file_names_it(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n).astype(str), "t": rng.normal(size=n),
                  "weather": rng.choice(["rain", "sun"], n)}).to_csv(tmp_path / "w.csv", index=False)
    base = ["data=file", f"data.path={tmp_path / 'w.csv'}", "data.target=weather"]
    data = load_dataset(make_cfg([*base, "data.drop=[date]"]).data, 0)
    assert data.features == ["t"]
    data = load_dataset(make_cfg(base).data, 0)
    assert data.file_columns(["date"], "analyses.slices.by") == ["date.year", "date.month", "date.day",
                                                                 "date.day_of_week"]


# ------------------------------------------------------------------------------- B: baselines and the output folder

@pytest.fixture(scope="module")
def prod_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prod")
    result, out = run_report(folder, ["data=wine", "model=logistic", "report.analyses=[metrics]"])
    return result, out


@pytest.mark.slow
def test_a_stale_predictions_file_is_removed_and_never_compared(prod_run, tmp_path):
    import shutil

    import hashlib

    result, out = prod_run
    document = json.loads((out / "metrics.json").read_text())
    assert document["predictions_sha256"] == hashlib.sha256((out / "predictions.parquet").read_bytes()).hexdigest()
    mixed = tmp_path / "mixed"
    shutil.copytree(out, mixed)
    other, _ = run_report(tmp_path / "other", ["data=wine", "model=random_forest", "report.analyses=[metrics]"])
    shutil.copy(other.files["predictions"], mixed / "predictions.parquet")  # an earlier run's file beside metrics.json
    with pytest.raises(UserError, match="does not belong to the run"):
        run_report(tmp_path / "cmp", ["data=wine", "model=logistic", f"compare.baseline={mixed}",
                                      "report.analyses=[metrics]"])
    with pytest.raises(UserError, match="analyses.drift.reference.*does not belong to the run"):  # nor drifted from
        run_report(tmp_path / "drift", ["data=wine", "model=logistic", f"analyses.drift.reference={mixed}",
                                        "report.analyses=[drift]"])


@pytest.mark.slow
def test_the_baseline_cannot_be_the_runs_own_folder(prod_run, tmp_path):
    _, out = prod_run
    from postreport.run.runner import check_outputs

    before = (out / "predictions.parquet").read_bytes()
    with pytest.raises(UserError, match="own output folder"):
        check_outputs(out, str(out))
    assert (out / "predictions.parquet").read_bytes() == before


def test_a_second_run_into_a_busy_folder_is_refused_and_killed_runs_leave_nothing(tmp_path):
    from postreport.run.folder import LOCK, claim

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".report.html.abc.tmp").write_text("half")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r); from postreport.run.folder import claim; "
        "c = claim(__import__('pathlib').Path(%r), ['report.html']); print('held', flush=True); time.sleep(60)")
        % (str(Path(__file__).parents[2]), str(folder))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not (folder / ".report.html.abc.tmp").exists()  # the killed run's staging file is gone
        with pytest.raises(UserError, match=f"another postreport run \\(pid {holder.pid}\\)"):
            claim(folder, [])
    finally:
        holder.kill()
        holder.wait()
    claim(folder, []).release()  # the lock died with its process
    assert not (folder / LOCK).exists()


def test_an_unwritable_output_folder_is_one_line(tmp_path):
    from postreport.run.folder import unwritable

    blocker = tmp_path / "file"
    blocker.write_text("x")
    message = unwritable([f"hydra.run.dir={blocker}/run"])
    assert message and "is not a folder" in message and "hydra.run.dir" in message
    assert unwritable([f"hydra.run.dir={tmp_path}/new/run"]) is None
    from conftest import CLI

    done = subprocess.run([*CLI, f"hydra.run.dir={blocker}/run", "data=iris"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"postreport: error: {message}"]


@pytest.mark.slow
def test_the_figure_worker_dies_with_its_parent(tmp_path):
    script = ("import os, sys, time\n"
              "from postreport.report import figure_pool\n"
              "figure_pool.available_cores = lambda: 2  # a worker, whatever cores this test may use\n"
              "pool = figure_pool.FigurePool(enabled=True)\n"
              "pool.executor.submit(os.getpid).result()\n"
              "print(list(pool.executor._processes)[0], flush=True)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the figure worker outlived its parent")


# ------------------------------------------------------------------------------- C13, C14, C15: pages and console

@pytest.mark.slow
def test_model_card_escapes_labels(tmp_path):
    pytest.importorskip("huggingface_hub")
    y = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>"] * 60
    frame = pd.DataFrame({"y_true": y, "y_pred": y})
    frame.to_parquet(tmp_path / "p.parquet")
    result, out = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'p.parquet'}",
                                        "report.analyses=[metrics]"], formats=("json", "model_card"))
    card = (out / "MODEL_CARD.md").read_text()
    body = card.split("---", 2)[2]
    assert "<script>" not in body and "<img" not in body and "&lt;script>" in body


@pytest.mark.slow
def test_the_console_ends_with_one_line_and_says_skipped(tmp_path):
    done = cli(["data=iris", "report.analyses=[metrics,residuals]", "report.formats=[json]"], tmp_path)
    assert done.returncode == 0
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("postreport: report written (exit 0); Accuracy ") and "metrics.json" in last
    log = (tmp_path / "out" / "postreport.log").read_text()
    assert "step analysis: residuals: skipped (" in log


def test_predictions_of_500_classes_are_one_frame_without_warnings():
    import warnings
    from types import SimpleNamespace

    from postreport.run.baseline import predictions_table

    labels = [f"class {k}" for k in range(500)]
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(500), 50)
    data = SimpleNamespace(key_name="row", test_keys=np.arange(50), task="multiclass", labels=labels,
                           positive_label=None)
    pred = SimpleNamespace(y_true=np.asarray(labels)[:50], y_pred=np.asarray(labels)[proba.argmax(1)], proba=proba,
                           classes=labels, probabilities=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' PerformanceWarning for a fragmented frame is an error here
        table, meta = predictions_table(data, pred)
    assert table.shape == (50, 503) and np.allclose(table["score_class 7"], proba[:, 7])


def test_a_2000_character_label_keeps_the_numbers_on_the_pdf_page(tmp_path):
    """... and the PDF is made in seconds: a cell that may break anywhere made WeasyPrint lay its text out once per
    character (2,000 characters: 5 s, 10,000: over 3 minutes); the PDF's table text carries break opportunities."""
    import pypdf

    import postreport

    rng = np.random.default_rng(0)
    long = "A" * 60 + " long label " + "B" * 1930
    labels = ["cat", long, "dog"]
    y = rng.choice(labels, 150)
    result = postreport.from_predictions(y, y_pred=y, output_dir=tmp_path / "long", overrides=[
        "report.formats=[pdf,json]", "report.analyses=[per_class]", "bootstrap.resamples=0"])
    reader = pypdf.PdfReader(result.files["pdf"])
    support = str(int((y == long).sum()))
    found = []
    for page in reader.pages:
        width = float(page.mediabox.width)

        def visit(text, cm, tm, font, size, found=found, width=width):
            if text.strip().startswith(support + " 1.000"):  # the per-class row: support, precision, recall, F1
                x = tm[4] * cm[0] + cm[4]  # the row's numbers' left edge in page units; about 4 units a character
                found.append(0 <= x and x + 4 * len(text.strip()) < width)

        page.extract_text(visitor_text=visit)
    assert found and all(found)  # the long class's support is printed, inside the page


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".tsv.gz", ".jsonl", ".feather"])
def test_compressed_csv_json_lines_and_feather_read_as_the_plain_csv(tmp_path, suffix):
    """Files users expect to read ('unsupported file type .gz' before): the same frame as the plain CSV, in a data
    file and as logged predictions (a folder of them, too); Parquet struct and list columns are left out with a
    note naming them (each row became one text category)."""
    from postreport.data.sources import resolve
    from postreport.data.tables import read_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50).round(6), "b": rng.choice(["x", "y"], 50),
                          "y_true": rng.integers(0, 2, 50)})
    frame.to_csv(tmp_path / "plain.csv", index=False)
    (tmp_path / "logged").mkdir()
    path = tmp_path / "logged" / f"data{suffix}"
    if suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".feather":
        frame.to_feather(path)
    else:
        frame.to_csv(path, index=False, sep="\t" if suffix.startswith(".tsv") else ",")
    expected = read_table(str(tmp_path / "plain.csv"), "data.path", {})
    got = read_table(str(path), "data.path", {})
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    source = resolve(str(tmp_path / "logged"), "data.path")  # a folder of them
    assert source.files == [path] and set(source.columns) >= {"a", "b", "y_true"}


def test_nested_parquet_columns_are_left_out_with_a_note(tmp_path):
    from postreport.data.tables import read_table

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "tags": [["p"], ["q", "r"], []],
                          "where": [{"x": 1}, {"x": 2}, {"x": 3}], "y_true": [0, 1, 0]})
    frame.to_parquet(tmp_path / "nested.parquet")
    notes = []
    table = read_table(str(tmp_path / "nested.parquet"), "data.path", {}, notes=notes)
    assert list(table.columns) == ["a", "y_true"]
    assert "structs, lists or maps were left out" in notes[0] and "tags, where" in notes[0]
    with pytest.raises(UserError, match=r"unsupported file type '.txt.gz'; valid: .parquet.*\.csv\.gz"):
        read_table(str(tmp_path / "x.txt.gz"), "data.path", {})
