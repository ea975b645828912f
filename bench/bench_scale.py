"""The full default report at real sizes: how its cost grows with rows, columns and classes.

    python bench/bench_scale.py                 # every case below
    python bench/bench_scale.py --case rows     # one case: rows | classes | columns | csv

Cases (issue 11's goals, on the 2-core machine):
  rows     300,000 rows x 20 numeric columns, binary            full default report <= 60 s
  classes  6,000 rows x 20 columns, 30 string classes           full default report <= 60 s
  columns  3,000 rows x 200 columns, binary                     full default report <= 45 s
  csv      5,000,000 rows x 20 columns from CSV, binary         <= 300 s, peak memory <= 3x the frame's size
Each case prints the wall time, the peak memory (ru_maxrss of the run's process) and the slowest steps.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

POSTREPORT = [sys.executable, "-c", "from postreport.cli import main; main()"]
CASES = {"rows": (300_000, 20, 2, 60), "classes": (6_000, 20, 30, 60), "columns": (3_000, 200, 2, 45),
         "csv": (5_000_000, 20, 2, 300)}


def make(n: int, columns: int, classes: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, columns)).astype(np.float64)
    signal = X[:, : min(5, columns)] @ rng.normal(size=min(5, columns)) + rng.normal(scale=1.0, size=n)
    if classes == 2:
        y = (signal > 0).astype(int)
    else:
        cuts = np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])
        y = np.asarray([f"class_{i:02d}" for i in range(classes)])[np.digitize(signal, cuts)]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
    frame["y"] = y
    return frame


def run_case(name: str, folder: Path) -> dict:
    n, columns, classes, goal = CASES[name]
    frame = make(n, columns, classes)
    path = folder / (f"{name}.csv" if name == "csv" else f"{name}.parquet")
    frame.to_csv(path, index=False) if name == "csv" else frame.to_parquet(path)
    size = frame.memory_usage(deep=True).sum()
    del frame
    out = folder / f"out-{name}"
    start = time.perf_counter()
    proc = subprocess.run([*POSTREPORT, "data=file", f"data.path={path}", "data.target=y", f"hydra.run.dir={out}"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result = {"case": name, "rows": n, "columns": columns, "classes": classes, "exit": proc.returncode,
              "seconds": round(seconds, 1), "goal_seconds": goal, "peak_mb": round(peak / 1e6),
              "frame_mb": round(size / 1e6)}
    if proc.returncode not in (0, 1):
        result["stderr"] = proc.stderr[-2000:]
        return result
    doc = json.loads((out / "metrics.json").read_text())
    log = (out / "postreport.log").read_text() if (out / "postreport.log").exists() else ""
    result["slowest"] = sorted(((s["name"], s["seconds"]) for s in doc["sections"] if s["seconds"]),
                               key=lambda t: -t[1])[:5]
    result["steps"] = [line.split(" - ", 1)[-1] for line in log.splitlines() if "step" in line][-12:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=list(CASES), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postreport-bench-scale-") as tmp:
        for name in args.case or list(CASES):
            print(json.dumps(run_case(name, Path(tmp)), indent=1), flush=True)


if __name__ == "__main__":
    main()
