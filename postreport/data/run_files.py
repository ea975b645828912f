"""The files of a run folder, named once, and read back with their checks. A run folder's predictions.parquet is
read only when it is that run's: the run states the SHA-256 of the predictions file it wrote (`predictions_sha256`
in metrics.json), so a file an earlier run left beside a later run's metrics.json is refused, never used; every
reader (compare.baseline, the drift section's reference, the dashboard, sweeps) goes through here."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

from postreport.errors import UserError

METRICS = "metrics.json"
PREDICTIONS = "predictions.parquet"
REPORT_HTML = "report.html"
JOB = "job.json"  # a sweep job's status (integrations/sweep.py)
HYDRA_OVERRIDES = Path(".hydra", "overrides.yaml")
HYDRA_CONFIG = Path(".hydra", "config.yaml")
# what a run writes, by report format (and its predictions)
OUTPUTS = {"html": REPORT_HTML, "pdf": "report.pdf", "json": METRICS, "junit": "gates.xml", "markdown": "summary.md",
           "model_card": "MODEL_CARD.md", "predictions": PREDICTIONS}
META_KEY = b"postreport"  # predictions.parquet's schema metadata: what a later run needs to read it back


def is_run_folder(path) -> bool:
    """A postreport run's folder: its predictions.parquet beside its metrics.json."""
    p = Path(str(path)).expanduser()
    return p.is_dir() and (p / PREDICTIONS).is_file() and (p / METRICS).is_file()


def run_beside(path: Path, setting: str) -> Optional[dict]:
    """The metrics.json of the run whose predictions.parquet `path` is, checked to be that run's (its SHA-256);
    None when no run's metrics.json sits beside it. `setting`: the key that named the file, e.g.
    "compare.baseline='runs/a'", for the error."""
    document = path.parent / METRICS
    if path.name != PREDICTIONS or not document.is_file():
        return None
    try:
        run = json.loads(document.read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    if not isinstance(run, dict):
        return None
    stated = run.get("predictions_sha256")
    if stated is None and run.get("aggregation") is None:
        return run  # written before runs stated their predictions file
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if stated != actual:
        why = ("that run aggregated its predictions and wrote no predictions file" if stated is None else
               "the file's SHA-256 is not the one that metrics.json states")
        raise UserError(f"{setting}: {path} does not belong to the run whose metrics.json sits beside it ({why}); "
                        "it is an earlier run's file. Use the folder of the run that wrote it, or a predictions file "
                        "of its own")
    return run


def read_predictions(path: Path, setting: str) -> tuple:
    """A predictions.parquet as (table, its metadata, the run it belongs to or None), checked by run_beside."""
    import pyarrow.parquet as pq

    run = run_beside(path, setting)
    try:
        arrow = pq.read_table(path)
        meta = json.loads((arrow.schema.metadata or {}).get(META_KEY, b"{}"))
    except Exception as exc:  # the reader's own error types
        raise UserError(f"{setting} cannot be read: {type(exc).__name__}: {exc}") from None
    return arrow.to_pandas(), meta, run


def read_json(path: Path) -> Optional[dict]:
    """A JSON file a run or a job wrote, or None when it is missing or not JSON (a job interrupted while writing)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
