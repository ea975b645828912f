"""The `postreport` command: a thin Hydra app around `postreport.runner.run`.

Exit status: 0 all sections ok or skipped; 1 report written but a section failed; 2 invalid config or
input (one message on stderr naming the culprit, no traceback unless HYDRA_FULL_ERROR=1).
"""
from __future__ import annotations

import os
import sys

import hydra

from .config import register_schemas, resource_dir

register_schemas()
_jobs: list = []  # exit status of each job this process ran (one, or several in a multirun)


@hydra.main(version_base="1.3", config_path=str(resource_dir("conf")), config_name="config")
def _app(cfg) -> int:
    from hydra.core.hydra_config import HydraConfig

    from .errors import UserError
    from .runner import run

    _jobs.append(None)  # composition succeeded: from here on, failures are the job's own
    hydra_cfg = HydraConfig.get()
    try:
        result = run(cfg, hydra_cfg.runtime.output_dir, overrides=list(hydra_cfg.overrides.task))
        code = result.exit_code
    except UserError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"postreport: error: {exc}", file=sys.stderr)
        code = 2
    _jobs[-1] = code
    return code


def main() -> None:
    _jobs.clear()
    try:
        _app()
    except SystemExit as exc:
        if exc.code not in (0, None) and not _jobs:
            sys.exit(2)  # Hydra could not compose the config; it has printed which key is wrong
        raise
    codes = [c if c is not None else 1 for c in _jobs]
    sys.exit(max(codes, default=0))


if __name__ == "__main__":
    main()
