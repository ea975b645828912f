"""The console command as a user runs it: exit codes, one clear message, nothing half-written."""
import json
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import HERE, check_user_error, cli, installed_plugin
from sklearn.datasets import load_iris


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A CSV with a string target, string categoricals and missing values; models saved in several formats."""
    d = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(1)
    n = 240
    kind = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame({
        "size": np.where(kind == "a", 1.0, np.where(kind == "b", 2.0, 3.0)) + rng.normal(0, 0.4, n),
        "colour": rng.choice(["red", "green", None], n),
        "id": np.arange(n),
        "kind": kind,
    })
    frame.loc[::17, "size"] = np.nan
    frame.to_csv(d / "data.csv", index=False)
    frame.iloc[180:].to_parquet(d / "test.parquet")
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X = frame.iloc[:180][["size"]]
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, frame.iloc[:180]["kind"])
    import joblib
    import skops.io as sio

    sio.dump(model, d / "model.skops")
    joblib.dump(model, d / "model.joblib")
    (d / "broken.skops").write_bytes(b"this is not a zip file")
    return d


@pytest.mark.slow
def test_csv_with_categoricals_and_missing_values(files):
    proc = cli(["data=file", "data.path=data.csv", "data.target=kind", "data.drop=[id]"], cwd=files)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((files / "out" / "metrics.json").read_text())
    assert doc["task"] == "multiclass" and doc["n_train"] + doc["n_test"] == 240
    assert (files / "out" / "report.pdf").exists() and (files / "out" / "report.html").exists()


@pytest.mark.slow
def test_model_from_skops_file_needs_no_training_data(files):
    proc = cli(["model=file", "model.path=model.skops", "data=file", "data.test_path=test.parquet",
                "data.target=kind", "report.formats=[json]"], cwd=files)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((files / "out" / "metrics.json").read_text())
    assert doc["n_train"] == 0 and doc["n_test"] == 60
    assert doc["results"]["metrics"]["accuracy"] > 0.5


@pytest.mark.parametrize("args,fragments", [
    (["data=file", "data.path=data.csv", "data.target=knid"], ["'knid'", "'kind'", "'colour'"]),
    (["data=file", "data.path=missing.csv", "data.target=kind"], ["missing.csv", "not found"]),
    (["data=file", "data.path=data.csv", "data.target=kind", "data.drop=[nope]"], ["nope", "data.drop"]),
    (["data=file", "data.path=data.csv"], ["data.target", "'kind'"]),
    (["model=nonesuch"], ["nonesuch", "lightgbm"]),
    (["report.analyses=[metrics,nonesuch]"], ["nonesuch", "confusion_matrix"]),
    (["data.tagret=kind"], ["tagret"]),
    (["model=file", "model.path=model.joblib", "data=file", "data.test_path=test.parquet", "data.target=kind"],
     ["model.trust=true", "pickle"]),
    (["model=file", "model.path=broken.skops", "data=file", "data.test_path=test.parquet", "data.target=kind"],
     ["broken.skops", "cannot load"]),
    (["model=file", "model.path=model.skops", "data=file", "data.test_path=test.parquet", "data.target=kind",
      "data.drop=[size]"], ["'size'", "lacks"]),
    (["data=diabetes", "model=logistic"], ["classifier only"]),
])
@pytest.mark.slow
def test_bad_input_exits_2_naming_the_culprit(files, args, fragments):
    out = files / "out"
    for f in out.glob("report.*"):
        f.unlink()
    proc = cli(args, cwd=files)
    check_user_error(proc, *fragments)
    assert not (out / "report.html").exists() and not (out / "report.pdf").exists()


@pytest.mark.slow
def test_trusted_pickle_loads(files):
    proc = cli(["model=file", "model.path=model.joblib", "model.trust=true", "data=file",
                "data.test_path=test.parquet", "data.target=kind", "report.formats=[json]"], cwd=files)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The example package of tests/example_plugin as pip installs it (its own pyproject.toml's entry points)."""
    return installed_plugin(HERE / "example_plugin", tmp_path_factory.mktemp("plugin"))


@pytest.mark.slow
def test_third_party_analysis_from_yaml(plugin, tmp_path):
    """The README's example plugin: its settings are in the config, its section, payload and headline in the
    report; its check refuses a bad setting with exit 2."""
    proc = cli(["data=iris", "report.analyses=[metrics,class_rates]", "analyses.class_rates.min_share=0.5",
                "report.formats=[html,json]"], cwd=tmp_path, env={"PYTHONPATH": str(plugin)})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    payload = doc["results"]["class_rates"]
    y = pd.Series(load_iris().target_names[load_iris().target])
    assert payload["labels"] == sorted(y.unique())
    assert sum(payload["true_share"]) == pytest.approx(1) and sum(payload["predicted_share"]) == pytest.approx(1)
    assert payload["rarely_predicted"] == payload["labels"]  # every class is under half of the predictions
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Class rates" in html and "Rarely predicted classes (under 50%)" in html
    proc = cli(["data=iris", "report.analyses=[class_rates]", "analyses.class_rates.min_share=2"], cwd=tmp_path,
               env={"PYTHONPATH": str(plugin)})
    check_user_error(proc, "analyses.class_rates.min_share=2")
    proc = cli(["data=iris", "report.analyses=[class_rates]", "analyses.class_rates.min_shar=0.1"], cwd=tmp_path,
               env={"PYTHONPATH": str(plugin)})
    check_user_error(proc, "min_shar")


@pytest.mark.slow
def test_multirun_two_jobs_each_write_their_files(tmp_path):
    proc = cli(["-m", "model=lightgbm,logistic", "data=iris", "report.formats=[html,json]",
                "report.analyses=[metrics,confusion_matrix]", "hydra.sweep.dir=sweep"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for job, model in (("0", "lightgbm"), ("1", "logistic")):
        doc = json.loads((tmp_path / "sweep" / job / "metrics.json").read_text())
        assert doc["task"] == "multiclass"
        assert (tmp_path / "sweep" / job / "report.html").exists()
        assert f"model={model}" in (tmp_path / "sweep" / job / ".hydra" / "overrides.yaml").read_text()


@pytest.mark.slow
def test_config_dir_adds_a_users_own_configs(tmp_path):
    (tmp_path / "my_conf" / "report").mkdir(parents=True)
    (tmp_path / "my_conf" / "report" / "mine.yaml").write_text(
        "title: Churn review\nauthor: Data team\nformats: [html, json]\nanalyses: [metrics]\n")
    proc = cli(["--config-dir", "my_conf", "report=mine", "data=iris"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert [s["name"] for s in doc["sections"]] == ["metrics"]
    assert "Churn review" in (tmp_path / "out" / "report.html").read_text()
    assert not (tmp_path / "out" / "report.pdf").exists()


def test_help_alone_lists_every_group_and_option_without_loading_hydra_or_pandas():
    """`postreport --help` is read from the config folders: every group with the options its YAML files give, and
    nothing heavy imported (Hydra's own help composes the config once per group: about a second)."""
    import subprocess

    from postreport.resources import resource_dir

    code = ("import sys; from postreport import cli; sys.argv = ['postreport', '--help']\n"
            "try:\n    cli.main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print('HEAVY', sorted(m for m in ('hydra', 'pandas', 'sklearn', 'omegaconf') if m in sys.modules), code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("HEAVY [] 0")
    conf = resource_dir("conf")
    for group in (p for p in conf.iterdir() if p.is_dir() and p.name != "hydra"):
        options = ", ".join(sorted(f.stem for f in group.glob("*.yaml")))
        assert f"{group.name}: {options}" in out
