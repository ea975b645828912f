"""The `postreport` command: a thin Hydra app around `postreport.run.runner.run`.

Exit status: 0 all sections ok or skipped; 1 report written but a section failed; 2 invalid config or
input (one message on stderr naming the culprit, no traceback unless HYDRA_FULL_ERROR=1).
In a multirun every job also records how it ended (job.json) for the sweep report.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys
from pathlib import Path

from postreport.errors import UserError
from postreport.resources import resource_dir
from postreport.run.folder import promote_record, unwritable

# Hydra, the config schemas (every analysis's settings) and with them pandas and scikit-learn are imported when a run
# starts; `postreport --help` alone is answered from the config folders (fast_help)

_jobs: list = []  # exit status of each job this process ran (one, or several in a multirun)
_app = None  # the Hydra application, made on first use (hydra_app)


def hydra_app():
    """The Hydra application around `_job`: the schemas registered, the built-in config folder as its configs."""
    global _app
    if _app is None:
        import hydra

        from postreport.config import register_schemas

        register_schemas()
        _app = hydra.main(version_base="1.3", config_path=str(resource_dir("conf")), config_name="config")(_job)
    return _app


def _job(cfg) -> int:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from postreport.run.runner import run

    _jobs.append(None)  # composition succeeded: from here on, failures are the job's own
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    if multirun and "joblib" in str(hydra_cfg.launcher.get("_target_", "")) and cfg.n_jobs == -1:
        cfg.n_jobs = 1  # jobs already run in parallel processes: each model uses one thread (never nest)
    error = None
    folder, written = hydra_cfg.runtime.output_dir, False
    try:
        result = run(cfg, folder, overrides=list(hydra_cfg.overrides.task))
        code, written = result.exit_code, bool(result.files)
        promote_record(Path(folder), hydra_cfg.output_subdir, written)
        print(result.closing_line(), flush=True)
    except UserError as exc:
        promote_record(Path(folder), hydra_cfg.output_subdir, False)
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
        from postreport.integrations.sweep import write_job_status

        write_job_status(hydra_cfg.runtime.output_dir, code, error)
    _jobs[-1] = code
    return code


def config_dir_error(argv: list) -> str | None:
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


HELP_HEADER = "postreport: a trusted model report (report.html, report.pdf, metrics.json) from Hydra YAML."


def fast_help(argv: list) -> str | None:
    """The text of `postreport --help` given alone: the config groups and their options read from the config
    folder, the options users rely on, and where to see the whole config. (Hydra's own help composes the config
    once per group, about a second; `--help` with overrides, `--hydra-help` and `--cfg job` still go to Hydra.)"""
    if argv not in (["--help"], ["-h"]):
        return None
    conf = resource_dir("conf")
    groups = sorted(p for p in conf.iterdir() if p.is_dir() and p.name != "hydra" and not p.name.startswith("."))
    lines = [HELP_HEADER, "", "Usage: postreport [group=option ...] [key=value ...]   (-m: one run per value)", "",
             "== Configuration groups ==", "Compose your configuration from those groups (group=option)", ""]
    lines += [f"{g.name}: {', '.join(sorted(f.stem for f in g.glob('*.yaml')))}" for g in groups]
    lines += ["", "== Options users rely on ==",
              "data.target, data.drop, data.test_path, data.positive_label, data.prediction, data.scores, "
              "data.engine, model.path, model.trust, model.params.*, report.title, report.formats, "
              "report.analyses, analyses.<name>.<key>, gates.<metric>, compare.baseline, budget.profile, "
              "dry_run, seed",
              "", "postreport --cfg job [overrides]   prints the whole composed config (every analysis's settings)",
              "postreport dry_run=true            prints the plan (steps, rows, estimated seconds) and exits",
              "postreport --hydra-help            Hydra's own options", "",
              "Examples (postreport-examples writes the files they read into ./examples):",
              "  postreport data=wine model=random_forest",
              "  postreport data=file data.path=train.csv data.target=species data.drop=[id]",
              "  postreport model=file model.path=model.skops data=file data.test_path=test.csv data.target=y",
              "  postreport data=images data.path=images/ model=mlp",
              "  postreport -m model=lightgbm,random_forest,logistic",
              "Files go to outputs/DATE/TIME/ (hydra.run.dir=... to choose). See README.md."]
    return "\n".join(lines)


def main() -> None:
    text = fast_help(sys.argv[1:])
    if text is not None:
        print(text)
        sys.exit(0)
    from postreport.integrations import sweep

    broken = config_dir_error(sys.argv[1:]) or unwritable(sys.argv[1:])
    if broken:
        print(f"postreport: error: {broken}", file=sys.stderr)
        sys.exit(2)
    _jobs.clear()
    sweep.last_exit_code = None
    try:
        hydra_app()()
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
    try:
        main()
    except BrokenPipeError:  # `postreport --help | head`: the reader has gone; nothing is lost
        os._exit(0)
    except SystemExit as exc:
        sweep = sys.modules.get("postreport.integrations.sweep")  # imported by every run (not by the help)
        if (sweep is not None and sweep.last_exit_code is not None) or not isinstance(exc.code, (int, type(None))):
            raise
        atexit._run_exitfuncs()  # what a normal exit runs (joblib deletes its worker processes' temporary folders;
        # without it the resource tracker warns of "leaked folder objects" after a 300,000-row report)
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass
        os._exit(exc.code or 0)


if __name__ == "__main__":
    console()
