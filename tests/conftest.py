import os
import subprocess
import sys
from pathlib import Path


def pin_worker_to_its_cores() -> None:
    """Under pytest-xdist (`-n auto`, pyproject's addopts) each worker runs on its own share of the cores this
    process may use, before numpy and LightGBM count them: a report's model fits and thread pools then plan from one
    core per worker, as on a one-core machine, instead of two workers' pools spinning on the same two cores (a
    small fit with two threads beside a busy core takes 5-25x longer: postreport.planning.threads)."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= count:
        os.sched_setaffinity(0, cores[int(worker.removeprefix("gw")) % count::count])


pin_worker_to_its_cores()

import pytest  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

from postreport.config import register_schemas  # noqa: E402
from postreport.resources import resource_dir  # noqa: E402
from postreport.run.runner import run  # noqa: E402

register_schemas()
CLI = [sys.executable, "-c", "from postreport.cli import main; main()"]


HERE = Path(__file__).resolve().parent
MARKED_SLOW = {"now": True}  # whether the test being set up is marked slow (outside a test: True)


def pytest_runtest_setup(item):
    MARKED_SLOW["now"] = item.get_closest_marker("slow") is not None


def pytest_runtest_teardown(item):
    MARKED_SLOW["now"] = True


def end_to_end():
    """run_report and cli are end-to-end runs: a test that makes one is marked slow, so that `pytest -m 'not slow'`
    stays the suite of functions on arrays (seconds in all)."""
    if not MARKED_SLOW["now"]:
        raise AssertionError("this test runs postreport end to end (run_report / cli / a report fixture): mark it "
                             "@pytest.mark.slow, or test the function it checks on arrays")


def make_cfg(overrides=()):
    with initialize_config_dir(version_base="1.3", config_dir=str(resource_dir("conf"))):
        return compose("config", overrides=list(overrides))


def lean(overrides) -> list:
    """Without tuning and ensembles unless the overrides ask for them, and with 200 bootstrap resamples unless they
    set theirs: tests of other things need neither, and an interval's existence, placement and verdicts do not
    depend on 200 or 1,000 draws (the default report keeps 1,000)."""
    bare = [o.lstrip("+~") for o in overrides]
    out = list(overrides)
    if not any(o.startswith(("tuning", "ensemble", "report.subject")) for o in bare):
        out += ["tuning=none", "ensemble=none"]
    if not any(o.startswith("bootstrap") for o in bare):
        out.append("bootstrap.resamples=200")
    return out


def run_report(tmp_path, overrides=(), formats=("json",), full=False):
    """run() as the CLI calls it; returns (RunResult, output dir). full: the default report's tuning and
    ensembles too."""
    end_to_end()
    fmt = "[" + ",".join(formats) + "]"
    given = [*(overrides if full else lean(overrides)), f"report.formats={fmt}"]
    cfg = make_cfg(given)
    out = Path(tmp_path) / "out"
    return run(cfg, out, overrides=given), out


def cli(args, cwd, env=None, full=False):
    """The console command as a user runs it (lean unless full, as run_report): `postreport.cli.main` with these
    arguments, in this process (start-up costs seconds per call), or in a subprocess when `env` adds variables
    (e.g. PYTHONPATH for a plugin). Returns a CompletedProcess (returncode, stdout, stderr)."""
    end_to_end()
    args = [*(list(args) if full else lean(args)), "hydra.run.dir=out"]
    if env:
        full_env = {**os.environ, **env}
        full_env.pop("HYDRA_FULL_ERROR", None)
        return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=300)
    import contextlib
    import io

    from postreport.cli import main

    out, err, code = io.StringIO(), io.StringIO(), None
    previous, argv, full_error = os.getcwd(), sys.argv, os.environ.pop("HYDRA_FULL_ERROR", None)
    try:
        os.chdir(cwd)
        sys.argv = ["postreport", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
            except Exception:  # what would reach the user as a traceback
                import traceback

                err.write(traceback.format_exc())
                code = 1
    finally:
        os.chdir(previous)
        sys.argv = argv
        if full_error is not None:
            os.environ["HYDRA_FULL_ERROR"] = full_error
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def check_user_error(proc, *fragments):
    """A bad input's end as the user sees it: exit 2, no traceback, and each fragment (the key, file or column, what
    would be valid) in the message."""
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


def java_or_skip():
    """Spark's local mode needs pyspark and Java 17+: the test is skipped, with the reason, without them."""
    import shutil

    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'postreport[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java on the PATH: Spark's local mode needs Java 17+ (Debian: openjdk-17-jre-headless)")
    version = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    if not any(f'"{v}' in version for v in range(17, 40)):
        pytest.skip(f"Spark 4 needs Java 17 or newer: {version.splitlines()[0]}")


def installed_plugin(source: Path, target: Path) -> Path:
    """A plugin package as pip would install it: its module beside a dist-info folder whose entry points come from
    the package's own pyproject.toml. Returns the folder to put on PYTHONPATH."""
    import shutil
    import tomllib

    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = []
    for group, points in project["entry-points"].items():
        lines += [f"[{group}]"] + [f"{name} = {value}" for name, value in points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module in source.glob("*.py"):
        shutil.copy(module, target / module.name)
    return target


@pytest.fixture(scope="session")
def default_report(tmp_path_factory):
    """The default report, every format, made once for the tests that read its files."""
    tmp = tmp_path_factory.mktemp("default")
    result, out = run_report(tmp, ["report.author=QA team"], formats=("html", "pdf", "json"), full=True)
    return result, out


@pytest.fixture(scope="session", autouse=True)
def every_interval_holds_its_estimate(tmp_path_factory):
    """The invariant over every report the suite makes: after the session, each metrics.json (and sweep.json) under
    the session's temporary folder has every point estimate inside its own interval (interval_invariant)."""
    yield
    from interval_invariant import outside_in_files

    found = outside_in_files(tmp_path_factory.getbasetemp())
    assert not found, "point estimates outside their own intervals:\n" + "\n".join(found[:20])
