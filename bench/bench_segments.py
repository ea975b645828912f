"""Issue 15's budgets: weak-segment discovery on 100,000 rows x 20 columns (<= 15 s), and the slices section of the
default report with and without discovery (<= +1 s).

    python bench/bench_segments.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def discovery(n: int = 100_000, columns: int = 20) -> dict:
    from postreport.stats.segments import discover

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) if i % 2 else rng.choice(list("abcdef"), n)
                          for i in range(columns)})
    loss = rng.exponential(size=n) + 0.5 * ((frame["x1"] > 1) & (frame["x2"] == "a"))
    start = time.perf_counter()
    segments, searched, _ = discover(frame, loss.to_numpy(), 30, 0.1)
    return {"case": "discovery", "rows": n, "columns": columns, "seconds": round(time.perf_counter() - start, 2),
            "searched": searched, "flagged": sum(s.flagged for s in segments), "top": segments[0].text(),
            "goal_seconds": 15}


def default_report() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for discover in ("true", "false"):
            folder = Path(tmp) / discover
            subprocess.run([sys.executable, "-c", "from postreport.cli import main; main()", f"hydra.run.dir={folder}",
                            f"analyses.slices.discover={discover}", "report.formats=[json]"], capture_output=True)
            doc = json.loads((folder / "metrics.json").read_text())
            out[f"slices_seconds_discover_{discover}"] = next(s["seconds"] for s in doc["sections"]
                                                             if s["name"] == "slices")
    return {"case": "default report", **out, "goal": "+1 s at most"}


if __name__ == "__main__":
    print(json.dumps(discovery(), indent=1))
    print(json.dumps(default_report(), indent=1))
