"""Real-world input: messy files, wrong models, bad settings. Never a silently wrong number, never a traceback:
a number computed only from inputs its definition allows, or a clean exit 2 naming the culprit."""
import json

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

from conftest import check_user_error, cli, run_report


def logged(tmp_path, n=300, seed=0, **columns):
    """A predictions file: y_true, a score that ranks well, and extra columns."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"y_true": y, "p": np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1), **columns})
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    return frame, path


# ------------------------------------------------------------------------------------------- A. no silent wrong number

@pytest.mark.slow
def test_scores_that_are_not_probabilities_rank_but_give_no_log_loss(tmp_path):
    frame, path = logged(tmp_path)
    frame["raw"] = frame["p"] * 100  # a 0-100 score
    frame["y_pred"] = (frame["raw"] >= 50).astype(int)
    frame.to_csv(path, index=False)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={path}", "data.scores=[raw]"])
    metrics, sections = result.metrics["metrics"], {s["name"]: s for s in result.metrics["sections"]}
    assert metrics["log_loss"] is None and metrics["brier"] is None
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(frame["y_true"], frame["raw"]))
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(frame["y_true"], frame["y_pred"]))
    assert sections["calibration"]["status"] == "skipped" and "not probabilities" in sections["calibration"]["error"]
    assert sections["thresholds"]["status"] == "ok"
    assert any("not probabilities" in n for n in result.metrics["results"]["metrics"]["notes"])


@pytest.mark.slow
def test_labels_from_raw_scores_need_an_explicit_threshold(tmp_path):
    frame, path = logged(tmp_path)
    frame["raw"] = frame["p"] * 100
    frame.drop(columns=["p"]).to_csv(path, index=False)
    base = ["data=predictions", f"data.path={path}", "data.scores=[raw]", "data.prediction=null"]
    check_user_error(cli(base, cwd=tmp_path), "not probabilities", "data.threshold")
    result, _ = run_report(tmp_path, [*base, "data.threshold=40"])
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(frame["y_true"], (frame["raw"] >= 40).astype(int)))


@pytest.mark.slow
def test_multiclass_rows_that_do_not_sum_to_one_give_no_log_loss(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], 200)
    scores = rng.uniform(0, 1, (200, 3)) + (y[:, None] == np.array(["a", "b", "c"]))
    frame = pd.DataFrame({"y_true": y, "y_pred": np.array(["a", "b", "c"])[scores.argmax(1)],
                          "sa": scores[:, 0], "sb": scores[:, 1], "sc": scores[:, 2]})
    frame.to_csv(tmp_path / "m.csv", index=False)
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={tmp_path / 'm.csv'}", "data.scores=[sa,sb,sc]",
                                      "data.score_labels=[a,b,c]"])
    assert result.metrics["metrics"]["log_loss"] is None and result.metrics["metrics"]["brier"] is None
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(frame["y_true"], frame["y_pred"]))


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """Models trained on 0/1 labels, a regressor, and a 3-class LightGBM text model; data labelled no/yes."""
    import joblib
    import lightgbm
    from sklearn.linear_model import LogisticRegression, Ridge

    d = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["a"] > 0).astype(int)
    joblib.dump(LogisticRegression().fit(X, y), d / "zero_one.joblib")
    joblib.dump(Ridge().fit(X, y), d / "ridge.joblib")
    three = np.digitize(X["a"], [-0.5, 0.5])
    lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, three).booster_.save_model(str(d / "three.txt"))
    lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y).booster_.save_model(str(d / "binary.txt"))
    X.assign(y=np.where(y == 1, "yes", "no")).to_csv(d / "yes_no.csv", index=False)
    X.assign(y=y).to_csv(d / "zero_one.csv", index=False)
    return d


@pytest.mark.parametrize("model,data,fragments", [
    ("zero_one.joblib", "yes_no.csv", ["[0, 1]", "['no', 'yes']"]),
    ("ridge.joblib", "zero_one.csv", ["regressor", "data.task=regression"]),
    ("three.txt", "zero_one.csv", ["3 classes", "[0, 1]"]),
])
@pytest.mark.slow
def test_a_model_that_does_not_fit_the_data_is_refused_before_any_work(model_files, model, data, fragments):
    proc = cli(["model=file", f"model.path={model}", "model.trust=true", "data=file", f"data.test_path={data}",
                "data.target=y"], cwd=model_files)
    check_user_error(proc, *fragments)


@pytest.mark.slow
def test_a_lightgbm_text_model_gets_every_section(model_files):
    proc = cli(["model=file", "model.path=binary.txt", "data=file", "data.test_path=zero_one.csv", "data.target=y",
                "report.formats=[json]"], cwd=model_files)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((model_files / "out" / "metrics.json").read_text())
    status = {s["name"]: s["status"] for s in doc["sections"]}
    assert status["feature_importance"] == "ok" and status["saliency"] == "ok"


def test_na_tokens_in_a_numeric_column_become_missing_values(tmp_path):
    from postreport.data import load_dataset
    from conftest import make_cfg

    rng = np.random.default_rng(0)
    x = rng.normal(size=400).round(3).astype(object)
    x[::25], x[1::40] = "?", "n/a"
    frame = pd.DataFrame({"x": x, "y": rng.integers(0, 2, 400)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    data = load_dataset(make_cfg(["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y"]).data, 0)
    assert pd.api.types.is_float_dtype(data.X_test["x"]) and pd.api.types.is_float_dtype(data.X_train["x"])
    assert data.X_train["x"].isna().sum() + data.X_test["x"].isna().sum() == 16 + 10
    assert any("'x'" in n and "'?' 16 times" in n for n in data.notes)


@pytest.mark.slow
def test_how_the_task_was_inferred_is_said_and_a_wrong_forced_task_exits_2(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.integers(0, 30, 300)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                        "report.analyses=[metrics]"], formats=("html",))
    assert result.metrics["task"] == "regression"
    assert "inferred from 30 distinct whole numbers" in (out / "report.html").read_text()
    frame["y"] = frame["y"] % 2
    frame.to_csv(tmp_path / "b.csv", index=False)
    check_user_error(cli(["data=file", "data.path=b.csv", "data.target=y", "data.task=multiclass"], cwd=tmp_path),
                     "data.task=multiclass", "at least 3")


def test_dates_become_their_parts_and_durations_seconds(tmp_path):
    from postreport.data import load_dataset
    from conftest import make_cfg

    n = 200
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01 08:00", periods=n, freq="7h").astype(str),
                          "wait": pd.to_timedelta(rng.integers(1, 100, n), unit="min"), "y": rng.integers(0, 2, n)})
    frame.to_parquet(tmp_path / "d.parquet")
    data = load_dataset(make_cfg(["data=file", f"data.path={tmp_path / 'd.parquet'}", "data.target=y"]).data, 0)
    assert {"when.year", "when.month", "when.day", "when.day_of_week", "when.hour"} <= set(data.features)
    assert "when" not in data.features and data.X_test["wait"].dtype.kind == "f"
    assert data.X_test["wait"].max() <= 99 * 60 and any("durations" in n for n in data.notes)


@pytest.mark.slow
def test_duplicate_column_names_exit_2_naming_them(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a,y\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(50)))
    check_user_error(cli(["data=file", "data.path=d.csv", "data.target=y"], cwd=tmp_path), "more than once", "['a']")


@pytest.mark.slow
def test_names_with_dollars_and_characters_lightgbm_refuses_are_shown_as_written(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    price = rng.normal(size=n)
    frame = pd.DataFrame({"price, USD": price, "ratio:a": rng.normal(size=n), "$\\frac$": rng.normal(size=n),
                          "{json}": rng.normal(size=n), "y": np.where(price > 0, "$0-$100", "over $100")})
    frame.to_csv(tmp_path / "d.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                        "report.analyses=[metrics,confusion_matrix,feature_importance]"],
                             formats=("html", "json"))
    assert result.exit_code == 0, result.metrics["sections"]
    assert result.metrics["metrics"]["roc_auc"] > 0.9
    assert result.metrics["results"]["feature_importance"]["columns"] == ["price, USD", "ratio:a", "$\\frac$", "{json}"]
    import re

    from postreport.report.figure_pool import svg_of

    svgs = [svg_of(m) for m in re.findall(r'src="(data:image/svg\+xml;[^"]+)"', (out / "report.html").read_text())]
    assert any("$0-$100" in svg for svg in svgs) and any("price, USD" in svg for svg in svgs)


# ------------------------------------------------------------------------------------------- B. clean exit 2

@pytest.mark.parametrize("override,fragment", [
    ("bootstrap.level=1.5", "bootstrap.level=1.5"),
    ("bootstrap.seed=-1", "bootstrap.seed=-1"),
    ("bootstrap.resamples=-5", "bootstrap.resamples=-5"),
    ("seed=-1", "seed=-1"),
    ("tuning.timeout=0", "tuning.timeout=0"),
    ("analyses.slices.bins=1", "analyses.slices.bins=1"),
    ("analyses.feature_importance.sample_size=0", "analyses.feature_importance.sample_size=0"),
    ("analyses.feature_importance.repeats=0", "analyses.feature_importance.repeats=0"),
])
@pytest.mark.slow
def test_settings_out_of_range_exit_2_naming_the_key(tmp_path, override, fragment):
    check_user_error(cli(["data=iris", override], cwd=tmp_path, full=True), fragment)


@pytest.mark.slow
def test_bad_logged_predictions_exit_2_or_are_dropped_when_asked(tmp_path):
    frame, path = logged(tmp_path)
    frame["y_pred"] = (frame["p"] >= 0.5).astype(float)
    frame.loc[[3, 7, 11], "y_pred"] = np.nan
    frame.to_csv(path, index=False)
    check_user_error(cli(["data=predictions", "data.path=preds.csv"], cwd=tmp_path), "'y_pred': 3")
    result, _ = run_report(tmp_path, ["data=predictions", f"data.path={path}", "data.missing=drop"])
    assert result.metrics["n_test"] == len(frame) - 3
    frame["p"] = frame["p"].astype(object)
    frame.loc[5, "p"] = "high"
    frame.to_csv(path, index=False)
    check_user_error(cli(["data=predictions", "data.path=preds.csv", "data.scores=[p]", "data.missing=drop"],
                         cwd=tmp_path), "'p'", "'high'")


@pytest.mark.slow
def test_bad_data_files_exit_2(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100)})
    frame.loc[4, "y"] = np.inf
    frame.to_csv(tmp_path / "inf.csv", index=False)
    check_user_error(cli(["data=file", "data.path=inf.csv", "data.target=y"], cwd=tmp_path), "infinite", "'y'")
    check_user_error(cli(["data=file", "data.path=inf.csv", "data.target=x", "data.drop=[x]"], cwd=tmp_path),
                     "data.drop", "'x'")
    pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}).to_csv(tmp_path / "two.csv", index=False)
    check_user_error(cli(["data=file", "data.path=two.csv", "data.target=y"], cwd=tmp_path), "rows")


@pytest.mark.slow
def test_infinite_feature_values_are_missing_values_with_a_note(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    x[::20] = np.inf
    pd.DataFrame({"x": x, "y": rng.integers(0, 2, 200)}).to_csv(tmp_path / "d.csv", index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                        "report.analyses=[metrics]"], formats=("html",))
    assert result.exit_code == 0 and "10 infinite values are treated as missing" in (out / "report.html").read_text()


@pytest.mark.slow
def test_a_malformed_yaml_in_a_config_dir_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "conf" / "report").mkdir(parents=True)
    (tmp_path / "conf" / "report" / "mine.yaml").write_text("title: [unclosed\nformats: json\n")
    proc = cli(["--config-dir", "conf", "report=mine"], cwd=tmp_path)
    check_user_error(proc, "mine.yaml")
    assert len(proc.stderr.strip().splitlines()) <= 3, proc.stderr


@pytest.mark.slow
def test_a_folder_where_a_report_file_goes_exits_2_before_work(tmp_path):
    (tmp_path / "out" / "report.pdf").mkdir(parents=True)
    check_user_error(cli(["data=iris"], cwd=tmp_path), "report.pdf", "folder")
    assert not (tmp_path / "out" / "metrics.json").exists()


# ------------------------------------------------------------------------------------------- C. files: all or nothing

@pytest.mark.slow
def test_a_reused_run_folder_holds_only_this_runs_files(tmp_path):
    run_report(tmp_path, ["data=iris", "report.analyses=[metrics]"], formats=("html", "json"))
    result, out = run_report(tmp_path, ["data=iris", "report.analyses=[metrics]"], formats=("json",))
    assert (out / "metrics.json").exists() and not (out / "report.html").exists()


def test_the_files_of_a_run_are_swapped_in_as_a_set(tmp_path):
    import os
    import signal

    from postreport.run.atomic import signals_held, write_all

    (tmp_path / "a").write_text("old a")
    (tmp_path / "b").write_text("old b")
    with pytest.raises(TypeError):  # the second file cannot be staged: neither is replaced
        write_all({tmp_path / "a": "new a", tmp_path / "b": object()})
    assert (tmp_path / "a").read_text() == "old a" and not list(tmp_path.glob(".*.tmp"))
    # Python's own SIGINT handler, whatever this process inherited (a shell's background job ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):  # a signal during the swap takes effect after it
            with signals_held():
                os.kill(os.getpid(), signal.SIGINT)
                write_all({tmp_path / "a": "new a", tmp_path / "b": "new b"})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "b").read_text() == "new b"


def test_a_sweep_report_lists_only_this_sweeps_jobs_with_relative_links(tmp_path):
    import os
    import time

    from postreport.integrations.sweep import collect

    for name, age in (("0", 3600), ("1", 3600), ("javascript:alert(1);0", 0)):
        job = tmp_path / name
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
        (job / "report.html").write_text("<html></html>")
        stamp = time.time() - age
        os.utime(job / ".hydra" / "overrides.yaml", (stamp, stamp))
    summary = collect(tmp_path, since=time.time() - 60)
    assert [j["job"] for j in summary["jobs"]] == ["javascript:alert(1);0"]
    assert summary["jobs"][0]["report"] == "javascript%3Aalert%281%29%3B0/report.html"


# ------------------------------------------------------------------------------------------- E. security, quiet

@pytest.mark.slow
def test_a_logo_that_is_not_an_image_exits_2(tmp_path):
    (tmp_path / "logo.png").write_text("root:x:0:0:root:/root:/bin/bash\n")
    check_user_error(cli(["data=iris", "report.logo=logo.png"], cwd=tmp_path), "report.logo", "not a PNG")


def test_library_log_lines_are_shortened():
    import logging

    from postreport.run.runner import quiet_libraries

    quiet_libraries()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger = logging.getLogger("weasyprint")
    handler = Keep()
    logger.addHandler(handler)
    try:
        logger.error("Failed to load image at %s", "data:image/svg+xml;base64," + "A" * 50_000)
    finally:
        logger.removeHandler(handler)
    assert len(seen) == 1 and len(seen[0]) < 400 and "characters" in seen[0]


def test_a_large_csv_is_read_block_by_block_into_the_same_frame(tmp_path, monkeypatch):
    """The streaming reader (files above data.STREAM_BYTES) gives the frame the one-shot reader gives: types,
    missing values, tokens and dates tidied the same way."""
    from postreport.data import tables as data_module

    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"x": rng.normal(size=n), "k": rng.choice(["a", "b", "c"], n),
                          "when": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
                          "v": np.where(rng.random(n) < 0.05, "?", rng.integers(0, 9, n).astype(str)),
                          "y": rng.integers(0, 2, n)})
    frame.to_csv(tmp_path / "big.csv", index=False)
    read = lambda: data_module.read_table(str(tmp_path / "big.csv"), "data.path", {}, ["?"], [], ("y",))  # noqa: E731
    whole = read()
    monkeypatch.setattr(data_module, "STREAM_BYTES", 0)  # every file counts as large

    def not_here(*args, **kwargs):
        raise AssertionError("the one-shot reader was used")

    monkeypatch.setattr(pd, "read_csv", not_here)  # the streamed frame comes from the streaming reader
    streamed = read()
    pd.testing.assert_frame_equal(whole, streamed)
    assert whole["v"].isna().sum() == (frame["v"] == "?").sum()


@pytest.mark.slow
def test_the_folders_hydra_record_describes_the_report_beside_it(tmp_path):
    """Hydra writes its record of a run before the run; a killed run (or one stopped on bad input) used to leave
    .hydra/ describing itself beside the earlier report. The record is written to .hydra.next/ and becomes .hydra/
    only with the report files (or in a folder without a report)."""
    from postreport.run.folder import promote_record

    first = cli(["data=iris", "report.analyses=[metrics]", "report.formats=[json]", "seed=1"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    assert "seed=1" in (out / ".hydra" / "overrides.yaml").read_text() and not (out / ".hydra.next").exists()
    bad = cli(["data=iris", "report.analyses=[metrics]", "report.formats=[json]", "seed=2", "data.task=nope"],
              cwd=tmp_path)
    assert bad.returncode == 2
    assert "seed=1" in (out / ".hydra" / "overrides.yaml").read_text()  # the record of the report that is there
    (out / ".hydra.next").mkdir(exist_ok=True)  # as a run killed before its report leaves it
    (out / ".hydra.next" / "overrides.yaml").write_text("- seed=3\n")
    promote_record(out, ".hydra.next", report_written=False)
    assert "seed=1" in (out / ".hydra" / "overrides.yaml").read_text()
    promote_record(out, ".hydra.next", report_written=True)
    assert "seed=3" in (out / ".hydra" / "overrides.yaml").read_text() and not (out / ".hydra.next").exists()
    (tmp_path / "new").mkdir()
    fresh = cli(["data=iris", "data.task=nope"], cwd=tmp_path / "new")  # no report there: Hydra's record, as always
    assert fresh.returncode == 2 and (tmp_path / "new" / "out" / ".hydra" / "overrides.yaml").is_file()
