import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from postreport.config import register_schemas, resource_dir
from postreport.runner import run

register_schemas()
CLI = [sys.executable, "-c", "from postreport.cli import main; main()"]


def make_cfg(overrides=()):
    with initialize_config_dir(version_base="1.3", config_dir=str(resource_dir("conf"))):
        return compose("config", overrides=list(overrides))


def run_report(tmp_path, overrides=(), formats=("json",)):
    """run() as the CLI calls it; returns (RunResult, output dir)."""
    fmt = "[" + ",".join(formats) + "]"
    cfg = make_cfg([*overrides, f"report.formats={fmt}"])
    out = Path(tmp_path) / "out"
    return run(cfg, out), out


def cli(args, cwd, env=None):
    """The console command in a subprocess, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([*CLI, *args, "hydra.run.dir=out"], cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=300)


@pytest.fixture(scope="session")
def default_report(tmp_path_factory):
    """The default report, every format, made once for the tests that read its files."""
    tmp = tmp_path_factory.mktemp("default")
    result, out = run_report(tmp, ["report.author=QA team"], formats=("html", "pdf", "json"))
    return result, out
