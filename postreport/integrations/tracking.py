"""Experiment tracking (`tracking=mlflow`): each run logged to an MLflow tracking store or server after its files
are written: parameters (the overrides and the main config values), metrics with their intervals as `<metric>_lo`
and `<metric>_hi`, gate results as tags, and the run's files as artifacts. A multirun logs a parent run (created when
the sweep starts, its id kept in the sweep folder so that jobs on other processes or machines find it) with one
child run per job. MLflow is an optional extra and is imported only when tracking is configured."""
from __future__ import annotations

import importlib.util
import json
import logging
import re
import time
from pathlib import Path
from typing import Optional

from omegaconf import OmegaConf

from postreport.run.atomic import write_atomic
from postreport.errors import UserError

log = logging.getLogger("postreport")
KINDS = ("none", "mlflow")
PARENT_FILE = ".mlflow_parent.json"  # in a multirun's sweep folder: the parent run's id and store
MAX_PARAM = 6000  # characters of a parameter value MLflow keeps
PARAM_GROUPS = ("data", "model", "bootstrap", "compare")  # logged key by key (model.search_space left out)
PARAM_KEYS = ("seed", "n_jobs", "report.subject", "tuning.enabled", "tuning.n_trials", "tuning.cv",
              "ensemble.enabled", "ensemble.members", "ensemble.methods")


def check(tcfg) -> None:
    """Before any work: a known kind, and MLflow installed when it is asked for."""
    if tcfg.kind not in KINDS:
        raise UserError(f"tracking.kind={tcfg.kind!r} is not valid; valid: {', '.join(KINDS)} "
                        "(tracking=mlflow on the command line)")
    if tcfg.kind == "mlflow":
        if importlib.util.find_spec("mlflow") is None:
            raise UserError("tracking=mlflow needs MLflow, an optional extra: pip install 'postreport[mlflow]'")


def _client(tcfg):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tcfg.uri or None)


def _experiment_id(client, name: str) -> str:
    """The experiment's id, created when missing (two jobs creating it at once: the second reads the first's)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _name(text: str) -> str:
    """A metric, parameter or tag key as MLflow accepts it (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(text))[:250]


def params_of(cfg, overrides: list) -> dict:
    """The overrides as given, then the main config values, as text."""
    flat: dict = {"overrides": " ".join(overrides) or "(none)"}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        else:
            flat[prefix] = value

    resolved = OmegaConf.to_container(cfg, resolve=True)
    for group in PARAM_GROUPS:
        for key, value in (resolved.get(group) or {}).items():
            if key != "search_space":
                walk(f"{group}.{key}", value)
    for key in PARAM_KEYS:
        value = OmegaConf.select(cfg, key)
        flat[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return {_name(k): ("null" if v is None else json.dumps(v) if isinstance(v, (list, dict)) else str(v))[:MAX_PARAM]
            for k, v in flat.items()}


def metrics_of(document: dict) -> dict:
    """metrics.json's headline metrics, each interval as `<metric>_lo` / `<metric>_hi`."""
    values = {}
    payload = (document.get("results") or {}).get("metrics") or {}
    for name, value in (document.get("metrics") or {}).items():
        if isinstance(value, (int, float)) and value == value:
            values[_name(name)] = float(value)
            ci = payload.get(f"{name}_ci")
            if ci and None not in ci:
                values[_name(f"{name}_lo")], values[_name(f"{name}_hi")] = float(ci[0]), float(ci[1])
    return values


def user_tags(tcfg) -> dict:
    """tracking.tags as MLflow tags."""
    return {_name(k): str(v) for k, v in (tcfg.tags or {}).items()}


def tags_of(tcfg, document: dict, exit_code: int) -> dict:
    tags = user_tags(tcfg)
    gates = document.get("gates") or []
    tags.update({"postreport.task": str(document.get("task")), "postreport.exit_code": str(exit_code),
                 "postreport.model": str((document.get("model") or {}).get("name", ""))})
    for g in gates:
        tags[_name(f"gate.{g['name']}")] = g["status"]
    if gates:
        tags["gates"] = "fail" if any(g["status"] == "fail" for g in gates) else (
            "pass" if all(g["status"] == "pass" for g in gates) else "unknown")
    return tags


def log_run(cfg, output_dir: Path, document: dict, files: dict, exit_code: int, overrides: list) -> str:
    """Log one finished run (its files are written) and return the MLflow run id."""
    from mlflow.entities import Metric, Param, RunStatus

    tcfg = cfg.tracking
    client = _client(tcfg)
    tags = tags_of(tcfg, document, exit_code)
    parent = _parent_of_this_job()
    if parent:
        tags["mlflow.parentRunId"] = parent
    run_name = tcfg.run_name or f"{cfg.model.name} on {cfg.data.name}"
    run = client.create_run(_experiment_id(client, tcfg.experiment), run_name=run_name, tags=tags)
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        params = [Param(k, v) for k, v in params_of(cfg, overrides).items()]
        metrics = [Metric(k, v, now, 0) for k, v in metrics_of(document).items()]
        for start in range(0, max(len(params), len(metrics)), 100):  # MLflow's batch limits (100 params)
            client.log_batch(run_id, metrics=metrics[start:start + 100], params=params[start:start + 100])
        for path in files.values():
            if Path(path).is_file():
                client.log_artifact(run_id, str(path))
        status = RunStatus.FINISHED if exit_code == 0 else RunStatus.FAILED
    except BaseException:
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id, RunStatus.to_string(status))
    log.info("tracking: logged to MLflow run %s (experiment %r, %s)", run_id, tcfg.experiment,
             tcfg.uri or "MLflow's default store")
    return run_id


def _parent_of_this_job() -> Optional[str]:
    """In a multirun job: the sweep's parent run id (from the sweep folder), else None."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return None
        path = Path(HydraConfig.get().sweep.dir) / PARENT_FILE
        return json.loads(path.read_text())["run_id"] if path.is_file() else None
    except Exception as exc:
        log.warning("tracking: the sweep's parent run is unknown (%s); this job is logged as a run of its own", exc)
        return None


def start_sweep(config, sweep_dir: Path) -> Optional[str]:
    """At the start of a multirun with tracking=mlflow: the parent run, its id written into the sweep folder."""
    if config.get("tracking") is None or config.tracking.kind != "mlflow":
        return None

    tcfg = config.tracking
    check(tcfg)
    client = _client(tcfg)
    overrides = list(config.hydra.overrides.task) if "hydra" in config else []
    tags = {**user_tags(tcfg), "postreport.sweep_dir": str(sweep_dir)}
    run = client.create_run(_experiment_id(client, tcfg.experiment),
                            run_name=tcfg.run_name or f"sweep {sweep_dir.name}", tags=tags)
    client.log_param(run.info.run_id, "overrides", (" ".join(overrides) or "(none)")[:MAX_PARAM])
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(sweep_dir / PARENT_FILE, json.dumps({"run_id": run.info.run_id, "uri": tcfg.uri}))
    return run.info.run_id


def end_sweep(config, sweep_dir: Path, exit_code: int) -> None:
    """At the end of a multirun: the sweep's summary files on the parent run, which then ends."""
    from mlflow.entities import RunStatus

    path = sweep_dir / PARENT_FILE
    if config.get("tracking") is None or config.tracking.kind != "mlflow" or not path.is_file():
        return
    client = _client(config.tracking)
    run_id = json.loads(path.read_text())["run_id"]
    for name in ("sweep.json", "sweep_report.html", "sweep_report.pdf"):
        if (sweep_dir / name).is_file():
            client.log_artifact(run_id, str(sweep_dir / name))
    client.set_tag(run_id, "postreport.exit_code", str(exit_code))
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED if exit_code == 0 else RunStatus.FAILED))
