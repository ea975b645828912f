"""The `postreport` command: a thin Hydra app around `postreport.runner.run`.

Exit status: 0 all sections ok or skipped; 1 report written but a section failed; 2 invalid config or
input (one message on stderr naming the culprit, no traceback unless HYDRA_FULL_ERROR=1).
In a multirun every job also records how it ended (job.json) for the sweep report.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra

from .config import register_schemas, resource_dir
from .errors import UserError
from .run_folder import unwritable

# runner and sweep (and with them pandas, scikit-learn) are imported where a run starts, so that `--help` and the
# checks before Hydra answer in about a second

register_schemas()
_jobs: list = []  # exit status of each job this process ran (one, or several in a multirun)


@hydra.main(version_base="1.3", config_path=str(resource_dir("conf")), config_name="config")
def _app(cfg) -> int:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .runner import run

    _jobs.append(None)  # composition succeeded: from here on, failures are the job's own
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    if multirun and "joblib" in str(hydra_cfg.launcher.get("_target_", "")) and cfg.n_jobs == -1:
        cfg.n_jobs = 1  # jobs already run in parallel processes: each model uses one thread (never nest)
    error = None
    try:
        result = run(cfg, hydra_cfg.runtime.output_dir, overrides=list(hydra_cfg.overrides.task))
        code = result.exit_code
        print(result.closing_line(), flush=True)
    except UserError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"postreport: error: {exc}", file=sys.stderr)
        code, error = 2, str(exc)
    except Exception as exc:
        if not multirun:
            raise
        logging.getLogger("postreport").exception("job failed")  # other jobs and the sweep report go on
        code, error = 1, f"{type(exc).__name__}: {exc}"
    if multirun:
        from .sweep import write_job_status

        write_job_status(hydra_cfg.runtime.output_dir, code, error)
    _jobs[-1] = code
    return code


def _config_dir_error(argv: list) -> str | None:
    """A YAML file in a --config-dir that does not parse, as one line naming the file and line (Hydra would print
    its whole stack)."""
    import yaml

    folders = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--config-dir", "-cd")]
    folders += [a.split("=", 1)[1] for a in argv if a.startswith("--config-dir=")]
    for folder in folders:
        for path in sorted(Path(folder).expanduser().rglob("*.yaml")):
            try:
                yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                return f"{path}{where}: not valid YAML ({problem})"
    return None


def main() -> None:
    from . import sweep

    broken = _config_dir_error(sys.argv[1:]) or unwritable(sys.argv[1:])
    if broken:
        print(f"postreport: error: {broken}", file=sys.stderr)
        sys.exit(2)
    _jobs.clear()
    sweep.last_exit_code = None
    try:
        _app()
    except SystemExit as exc:
        if exc.code not in (0, None) and not _jobs:
            sys.exit(2)  # Hydra could not compose the config; it has printed which key is wrong
        raise
    if sweep.last_exit_code is not None:  # a multirun: 0 when every job succeeded, else 1 (see sweep_report)
        sys.exit(sweep.last_exit_code)
    sys.exit(max((c if c is not None else 1 for c in _jobs), default=0))


def console() -> None:
    """The console script: main(), then end the process without the interpreter's teardown of every library object
    (about a second after a report). By then every file is written and closed; the log and the streams are flushed
    here. A multirun ends normally: its launcher may have clean-up of its own."""
    from . import sweep

    try:
        main()
    except BrokenPipeError:  # `postreport --help | head`: the reader has gone; nothing is lost
        os._exit(0)
    except SystemExit as exc:
        if sweep.last_exit_code is not None or not isinstance(exc.code, (int, type(None))):
            raise
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass
        os._exit(exc.code or 0)


if __name__ == "__main__":
    console()
