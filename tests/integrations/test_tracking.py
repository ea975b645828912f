"""tracking=mlflow: runs read back from a real tracking store (a sqlite URI, and a local `mlflow server` started
here) equal what the run computed; a multirun is a parent run with a child per job; without MLflow, exit 2."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import cli

LEAN = ["report.analyses=[metrics,confusion_matrix]", "report.formats=[json,html]"]


def client_for(uri):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def runs_of(uri, experiment):
    client = client_for(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"experiment {experiment!r} was not created"
    return client, client.search_runs([found.experiment_id])


def check_run(client, run, out):
    """The run's metrics, intervals, gate tags and artifacts equal the files the run wrote."""
    doc = json.loads((out / "metrics.json").read_text())
    payload = doc["results"]["metrics"]
    assert doc["metrics"]
    for name, value in doc["metrics"].items():
        if value is None:
            continue
        assert run.data.metrics[name] == pytest.approx(value)
        low, high = payload[f"{name}_ci"]
        assert run.data.metrics[f"{name}_lo"] == pytest.approx(low)
        assert run.data.metrics[f"{name}_hi"] == pytest.approx(high)
    for gate in doc["gates"]:
        assert run.data.tags[f"gate.{gate['name']}"] == gate["status"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "report.html", "predictions.parquet"} <= artifacts
    local = client.download_artifacts(run.info.run_id, "metrics.json", str(out.parent / "downloaded"))
    assert json.loads(open(local).read()) == doc


@pytest.mark.slow
def test_a_run_is_logged_to_a_sqlite_store(tmp_path):
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = cli(["tracking=mlflow", f"tracking.uri={uri}", "tracking.experiment=churn", "+tracking.tags.team=risk",
                "+gates.accuracy.min=0.99", "+gates.roc_auc.min=0.5", *LEAN], cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr  # the accuracy gate fails; the run is still logged
    client, runs = runs_of(uri, "churn")
    assert len(runs) == 1
    run = runs[0]
    check_run(client, run, tmp_path / "out")
    assert run.data.tags["gate.accuracy"] == "fail" and run.data.tags["gate.roc_auc"] == "pass"
    assert run.data.tags["gates"] == "fail" and run.data.tags["team"] == "risk"
    assert run.info.status == "FAILED" and run.info.run_name == "lightgbm on breast_cancer"
    assert "tracking.experiment=churn" in run.data.params["overrides"]
    assert run.data.params["model.name"] == "lightgbm" and run.data.params["seed"] == "0"
    assert run.data.params["model.params.num_leaves"] == "15"


@pytest.mark.slow
def test_a_multirun_is_a_parent_run_with_a_child_per_job(tmp_path):
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = cli(["-m", "tracking=mlflow", f"tracking.uri={uri}", *LEAN, "model=lightgbm,logistic",
                "hydra.sweep.dir=sweep"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    client, runs = runs_of(uri, "postreport")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert {c.data.params["model.name"] for c in children} == {"lightgbm", "logistic"}
    for child in children:
        job = "0" if child.data.params["model.name"] == "lightgbm" else "1"
        check_run(client, child, tmp_path / "sweep" / job)
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"sweep.json", "sweep_report.html"}
    assert parent.info.status == "FINISHED"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A local `mlflow server` on 127.0.0.1, stopped after the test."""
    pytest.importorskip("mlflow")
    executable = shutil.which("mlflow") or os.path.join(os.path.dirname(sys.executable), "mlflow")
    if not os.path.exists(executable):
        pytest.skip("the mlflow command is not installed")
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    log = open(store / "server.log", "w")
    proc = subprocess.Popen([executable, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{store / 'db.sqlite'}",
                             "--artifacts-destination", str(store / "artifacts")],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"mlflow server did not start: {(store / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_a_run_is_logged_to_a_local_mlflow_server(tmp_path, mlflow_server):
    proc = cli(["tracking=mlflow", f"tracking.uri={mlflow_server}", "tracking.run_name=nightly", *LEAN],
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    client, runs = runs_of(mlflow_server, "postreport")
    assert [r.info.run_name for r in runs] == ["nightly"] and runs[0].info.status == "FINISHED"
    check_run(client, runs[0], tmp_path / "out")


@pytest.mark.slow
def test_tracking_without_mlflow_exits_2_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # importlib finds no mlflow
    proc = cli(["tracking=mlflow", *LEAN], cwd=tmp_path)
    assert proc.returncode == 2 and "pip install 'postreport[mlflow]'" in proc.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.slow
def test_a_store_that_cannot_be_written_loses_no_file(tmp_path):
    pytest.importorskip("mlflow")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder would be")
    proc = cli(["tracking=mlflow", f"tracking.uri=sqlite:///{blocked / 'mlflow.db'}", *LEAN], cwd=tmp_path)
    assert proc.returncode == 1
    assert "tracking: the run could not be logged to MLflow" in proc.stdout + proc.stderr  # the log: stdout
    for name in ("metrics.json", "report.html", "predictions.parquet"):
        assert (tmp_path / "out" / name).is_file()
