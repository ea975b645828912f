"""Tuning in the report, and multirun sweeps with their sweep report."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, make_cfg, run_report
from hydra import compose, initialize_config_dir
from pypdf import PdfReader

from postreport.data import load_dataset
from postreport.errors import UserError
from postreport.resources import resource_dir
from postreport.models.tuning import tune

POOR = ["model.params.num_leaves=2", "model.params.learning_rate=0.005", "model.params.n_estimators=10"]


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    d = tmp_path_factory.mktemp("tune")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    y = ((X[:, 0] * X[:, 1] > 0) ^ (X[:, 2] > 0.5)).astype(int)  # interactions: a deep, long model does better
    pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(y=y).to_csv(d / "t.csv", index=False)
    return d / "t.csv"


@pytest.mark.slow
def test_tuned_cv_score_beats_a_deliberately_poor_default(tmp_path, task):
    result, _ = run_report(tmp_path, ["data=file", f"data.path={task}", "data.target=y", *POOR,
                                      "tuning.n_trials=12", "tuning.timeout=null", "report.analyses=[metrics,tuning]"])
    t = result.metrics["results"]["tuning"]
    assert t["best_score"] >= t["default_score"]
    assert t["best_score"] > t["default_score"] + 0.05
    assert t["n_trials"] == 12 and t["scoring"] == "roc_auc"
    assert t["trials"][0]["params"]["num_leaves"] == 7  # the configured value, clipped into the search range
    assert set(t["test_comparison"]) == {"ROC AUC", "F1", "Accuracy", "Log loss"}


def test_same_config_and_seed_give_the_same_best_parameters(task):
    cfg = make_cfg(["data=file", f"data.path={task}", "data.target=y", "tuning.n_trials=6", "tuning.timeout=null"])
    data = load_dataset(cfg.data, 0)
    first = tune(cfg.tuning, cfg.model, data, 0, 1)
    second = tune(cfg.tuning, cfg.model, data, 0, 1)
    assert first.best_params == second.best_params and first.best_score == second.best_score


def test_a_study_in_storage_is_shared_across_runs(tmp_path, task):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    cfg = make_cfg(["data=file", f"data.path={task}", "data.target=y", "tuning.n_trials=3", "tuning.sampler=random",
                    f"tuning.storage={url}", "tuning.study_name=shared"])
    data = load_dataset(cfg.data, 0)
    tune(cfg.tuning, cfg.model, data, 0, 1)
    second = tune(cfg.tuning, cfg.model, data, 0, 1)
    assert len(second.trials) == 6


@pytest.mark.slow
def test_grid_sampler_and_report_subject_tuned(tmp_path):
    result, _ = run_report(tmp_path, ["data=iris", "model=logistic", "tuning.sampler=grid", "tuning.n_trials=3",
                                      "report.subject=tuned", "report.analyses=[metrics,tuning]"])
    t = result.metrics["results"]["tuning"]
    assert {trial["params"]["C"] for trial in t["trials"]} <= {0.001, 0.31622776601683794, 100.0}
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(t["test_comparison"]["Accuracy"]["tuned"])


@pytest.mark.parametrize("override,fragment", [
    ("+model.search_space.num_leaves.low=100", "model.search_space.num_leaves.low=100 is greater"),
    ("tuning.sampler=bayes", "tuning.sampler='bayes'"),
    ("+model.search_space.depth={type: integer, low: 1, high: 3}", "model.search_space.depth.type='integer'"),
])
@pytest.mark.slow
def test_bad_search_space_or_sampler_exits_2_naming_the_key(tmp_path, override, fragment):
    override = override.replace("+model.search_space.num_leaves.low", "model.search_space.num_leaves.low")
    proc = cli([override], cwd=tmp_path, full=True)  # with the default tuning
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_tuning_is_skipped_without_training_data(tmp_path):
    from conftest import run_report as rr

    frame = pd.DataFrame({"y_true": [0, 1] * 50, "y_pred": [0, 1] * 50})
    frame.to_csv(tmp_path / "p.csv", index=False)
    result, _ = rr(tmp_path, ["data=predictions", f"data.path={tmp_path / 'p.csv'}", "report.analyses=[tuning]"],
                   full=True)
    section = result.metrics["sections"][0]
    assert section["status"] == "skipped" and "training data" in section["error"]


def sweep(tmp_path, *args, env=None):
    """`postreport -m ...` on iris (metrics and confusion matrix only), run in this process as the console command
    (the launchers start their own processes where they do); with `env`, in a process of its own."""
    return cli(["-m", *args, "data=iris", "report.formats=[json,html]", "report.analyses=[metrics,confusion_matrix]",
                *([] if any(a.startswith("hydra.sweep.dir=") for a in args) else ["hydra.sweep.dir=sweep"])],
               cwd=tmp_path, env=env)


@pytest.mark.slow
def test_four_job_sweep_writes_job_reports_and_a_sweep_report(tmp_path):
    """With the joblib launcher (jobs in worker processes); the basic launcher runs the other sweep tests."""
    proc = sweep(tmp_path, "hydra/launcher=joblib", "model.params.num_leaves=7,15", "model.params.learning_rate=0.05,0.1")
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "sweep"
    summary = json.loads((root / "sweep.json").read_text())
    assert len(summary["jobs"]) == 4
    assert sorted(summary["swept"]) == ["model.params.learning_rate", "model.params.num_leaves"]
    expected = {("7", "0.05"), ("7", "0.1"), ("15", "0.05"), ("15", "0.1")}
    seen = set()
    for job in summary["jobs"]:
        overrides = dict(o.split("=", 1) for o in job["overrides"])
        seen.add((overrides["model.params.num_leaves"], overrides["model.params.learning_rate"]))
        doc = json.loads((root / job["job"] / "metrics.json").read_text())
        assert job["metrics"]["accuracy"] == doc["metrics"]["accuracy"] and job["status"] == "ok"
        assert (root / job["job"] / "report.html").exists()
    assert seen == expected
    assert summary["best"]["accuracy"] in {j["job"] for j in summary["jobs"]}
    html = (root / "sweep_report.html").read_text()
    assert html.count('href="') >= 4 and "0/report.html" in html
    reader = PdfReader(root / "sweep_report.pdf")
    assert "Sweep report" in reader.pages[0].extract_text()
    assert json.loads(reader.attachments["sweep.json"][0]) == summary


@pytest.mark.slow
def test_a_failing_job_is_a_row_not_a_crash(tmp_path):
    proc = sweep(tmp_path, "model.params.num_leaves=7,-3")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    rows = {dict(o.split("=", 1) for o in j["overrides"])["model.params.num_leaves"]: j for j in summary["jobs"]}
    assert rows["7"]["status"] == "ok"
    assert rows["-3"]["status"] == "error" and "num_leaves" in rows["-3"]["error"]
    assert "num_leaves" in (tmp_path / "sweep" / "sweep_report.html").read_text()


@pytest.mark.parametrize("launcher,target", [
    ("submitit_slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
    ("ray", "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"),
    ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
])
def test_cluster_launcher_configs_compose(launcher, target):
    with initialize_config_dir(version_base="1.3", config_dir=str(resource_dir("conf"))):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == target


def test_unknown_search_space_type_is_a_user_error():
    from postreport.models.tuning import parse_space

    with pytest.raises(UserError, match="choices"):
        parse_space({"kind": {"type": "categorical"}}, "m")


def test_a_large_training_set_is_searched_on_a_sample_and_the_budget_is_said(task):
    cfg = make_cfg(["data=file", f"data.path={task}", "data.target=y", "tuning.n_trials=2", "tuning.max_rows=60"])
    data = load_dataset(cfg.data, 0)
    outcome = tune(cfg.tuning, cfg.model, data, 0, 1)
    assert data.n_train > 60
    assert any(f"seeded sample of 60 of the {data.n_train:,} training rows" in n for n in outcome.notes)
    assert outcome.candidate.estimator.predict(data.X_test).shape == (data.n_test,)
    with pytest.raises(UserError, match="tuning.max_rows=5"):
        tune(make_cfg(["tuning.max_rows=5"]).tuning, cfg.model, data, 0, 1)


def test_the_planned_trials_bound_the_search_and_say_why(task):
    """The plan gives fewer trials than tuning.n_trials: the search runs exactly those (no clock), says why, and with
    one trial the tuned model is the configured model itself (no second fit)."""
    from postreport.models.build import build_candidate

    cfg = make_cfg(["data=file", f"data.path={task}", "data.target=y", "tuning.n_trials=6"])
    data = load_dataset(cfg.data, 0)
    configured = build_candidate(cfg.model, data, 0)
    outcome = tune(cfg.tuning, cfg.model, data, 0, 1, configured, trials=1, planned="1 of tuning.n_trials=6: why")
    assert len(outcome.trials) == 1 and outcome.trials[0]["params"] == {
        k: cfg.model.params[k] for k in outcome.trials[0]["params"]}
    assert any(n.startswith("The plan ran 1 of tuning.n_trials=6: why") for n in outcome.notes)
    assert outcome.candidate.estimator is configured.estimator
    assert "configured parameters scored best" in outcome.candidate.origin


@pytest.mark.slow
def test_a_search_that_cannot_fit_its_budget_does_not_start_and_says_why(task, tmp_path):
    result, _ = run_report(tmp_path, ["data=file", f"data.path={task}", "data.target=y", "tuning.timeout=0.001",
                                      "ensemble=none", "report.analyses=[metrics,tuning]"])
    section = next(s for s in result.metrics["sections"] if s["name"] == "tuning")
    assert section["status"] == "skipped" and "The search did not start" in section["error"]
    assert "over tuning.timeout=0.001 s" in section["error"]
    tuning = next(s for s in result.metrics["plan"]["steps"] if s["name"] == "tuning")
    assert tuning["trials"] == 0 and not tuning["runs"]


@pytest.mark.slow
def test_a_sweep_shows_each_jobs_gates_and_comparison_and_exits_3_when_one_fails(tmp_path):
    from conftest import run_report as rr

    _, baseline = rr(tmp_path / "base", ["data=iris", "report.analyses=[metrics]"])
    proc = sweep(tmp_path, "+gates.accuracy.min=0.0,1.01", f"compare.baseline={baseline}")
    assert proc.returncode == 3, proc.stderr
    summary = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    rows = {dict(o.split("=", 1) for o in j["overrides"])["+gates.accuracy.min"]: j for j in summary["jobs"]}
    assert rows["0.0"]["status"] == "ok" and rows["0.0"]["gates"][0]["status"] == "pass"
    assert rows["1.01"]["status"] == "gate failed" and rows["1.01"]["exit_code"] == 3
    assert rows["1.01"]["gates"][0]["status"] == "fail"
    assert rows["0.0"]["comparison"]["verdicts"]["accuracy"] == "no clear difference"  # the same model and rows
    html = (tmp_path / "sweep" / "sweep_report.html").read_text()
    assert "FAILED: accuracy" in html and "Accuracy vs baseline" in html


@pytest.mark.slow
def test_a_sweep_on_submitits_local_executor_writes_reports_and_fails_loudly(tmp_path):
    """hydra-submitit-launcher's local executor, the stand-in for SLURM: three jobs as separate processes, one of
    them failing; every job's report, the sweep report, and a non-zero exit."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="hydra-submitit-launcher is not installed")
    proc = sweep(tmp_path, "hydra/launcher=submitit_local", "model.params.num_leaves=7,15,-3")
    assert proc.returncode == 1, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    status = {dict(o.split("=", 1) for o in j["overrides"])["model.params.num_leaves"]: j["status"]
              for j in summary["jobs"]}
    assert status == {"7": "ok", "15": "ok", "-3": "error"}
    assert all((tmp_path / "sweep" / j["job"] / "metrics.json").is_file() for j in summary["jobs"] if j["status"] == "ok")
    assert (tmp_path / "sweep" / "sweep_report.html").is_file()


@pytest.mark.slow
def test_two_processes_sharing_a_storage_finish_one_study_without_duplicate_trials(tmp_path, task):
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    command = [sys.executable, "-c", "from postreport.cli import main; main()", "data=file", f"data.path={task}",
               "data.target=y", "ensemble=none", "report.formats=[json]", "report.analyses=[tuning]",
               "tuning.n_trials=4", "tuning.timeout=null", f"tuning.storage={storage}", "tuning.study_name=shared",
               "n_jobs=1"]  # two processes on two cores: a model with every core each spins in OpenMP (minutes)
    runs = [subprocess.Popen([*command, f"hydra.run.dir=run{i}"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = [t.number for t in study.trials]
    assert len(numbers) >= 8 and len(set(numbers)) == len(numbers)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


@pytest.fixture
def ray_cluster(tmp_path):
    """A local Ray cluster (`ray start --head`) on free ports, stopped after the test."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="hydra-ray-launcher is not installed "
                        "(pip install 'postreport[ray]')")
    import shutil
    import socket

    ray = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    if not Path(ray).exists():
        pytest.skip("the ray command is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import secrets
    import tempfile

    # Ray 2.59+ authenticates clients of a cluster with a token: the cluster and the sweep share this one
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}

    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must stay under 108 characters
    started = subprocess.run([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                              "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                              f"--temp-dir={temp}"], capture_output=True, text=True, env=env, timeout=300,
                             cwd=temp)  # the workers' folder
    if started.returncode != 0:
        pytest.fail(f"ray start failed: {started.stderr[-2000:]}")
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.cluster
def test_a_sweep_on_a_local_ray_cluster_writes_reports_and_fails_loudly(tmp_path, ray_cluster):
    """hydra-ray-launcher against a Ray cluster started here: three jobs as Ray tasks, one failing; every job's
    report, the sweep report, and a non-zero exit. (About a minute: Ray's start and stop dominate.)"""
    address, env = ray_cluster
    relative = sweep(tmp_path, "hydra/launcher=ray", f"hydra.launcher.ray.init.address={address}",
                     "model.params.num_leaves=7", env=env)  # Ray's workers resolve "sweep" in their own folder
    assert relative.returncode == 1 and "give hydra.sweep.dir as an absolute path" in relative.stdout + relative.stderr
    proc = sweep(tmp_path, "hydra/launcher=ray", f"hydra.launcher.ray.init.address={address}",
                 "hydra.launcher.ray.remote.num_cpus=1", "model.params.num_leaves=7,15,-3",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}", env=env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    status = {dict(o.split("=", 1) for o in j["overrides"])["model.params.num_leaves"]: j["status"]
              for j in summary["jobs"]}
    assert status == {"7": "ok", "15": "ok", "-3": "error"}
    for job in summary["jobs"]:
        if job["status"] == "ok":
            doc = json.loads((tmp_path / "sweep" / job["job"] / "metrics.json").read_text())
            assert doc["metrics"]["accuracy"] == pytest.approx(job["metrics"]["accuracy"])
            assert (tmp_path / "sweep" / job["job"] / "report.html").is_file()
    assert (tmp_path / "sweep" / "sweep_report.html").is_file()
