"""Issue 12's budgets for the comparison with a baseline.

    python bench/bench_compare.py                  # both cases
    python bench/bench_compare.py --case large     # 800k logged predictions against an 800k baseline

default: the default report (breast cancer + LightGBM, every section) with and without compare.baseline pointing at
         an earlier run of the same config: the comparison's cost (goal: <= +1 s).
large:   800,000 logged binary predictions compared with an 800,000-row baseline (paired intervals for every
         metric), HTML + JSON, against a bare script that computes both models' point metrics with scikit-learn
         (goal: <= 2x its time; peak memory < 1.5 GiB).
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

BARE = """
import sys, time
import numpy as np, pandas as pd, sklearn.metrics as skm
start = time.perf_counter()
out = {}
for path in sys.argv[1:3]:
    t = pd.read_parquet(path)
    y, p, s = t["y_true"].to_numpy(), t["y_pred"].to_numpy(), t["score_1"].to_numpy()
    out[path] = [skm.accuracy_score(y, p), skm.balanced_accuracy_score(y, p), skm.precision_score(y, p),
                 skm.recall_score(y, p), skm.f1_score(y, p), skm.roc_auc_score(y, s),
                 skm.average_precision_score(y, s), skm.log_loss(y, s), skm.brier_score_loss(y, s),
                 skm.matthews_corrcoef(y, p)]
print(time.perf_counter() - start)
"""


def timed(cmd, cwd=None) -> tuple:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def logged(path: Path, n: int, seed: int, noise: float) -> None:
    rng = np.random.default_rng(seed)
    y = (np.random.default_rng(0).random(n) < 0.3).astype(int)  # the same truth on both sides
    score = np.clip(0.3 * y + rng.random(n) * 0.7 + rng.normal(scale=noise, size=n), 0, 1)
    pd.DataFrame({"id": np.arange(n), "y_true": y, "y_pred": (score >= 0.5).astype(int), "score_1": score,
                  "score_0": 1 - score}).to_parquet(path)


def case_default(folder: Path) -> dict:
    base = folder / "base"
    runs = {}
    for name, extra in (("plain", []), ("compared", [f"compare.baseline={base}"])):
        if name == "compared":
            subprocess.run([*POSTREPORT, f"hydra.run.dir={base}", "report.formats=[json]"], capture_output=True)
        seconds, proc = timed([*POSTREPORT, f"hydra.run.dir={folder / name}", *extra])
        doc = json.loads((folder / name / "metrics.json").read_text())
        section = next((s for s in doc["sections"] if s["name"] == "comparison"), None)
        runs[name] = {"seconds": round(seconds, 1), "exit": proc.returncode,
                      "comparison_section_seconds": section and section["seconds"]}
    return {"case": "default", **runs, "goal": "comparison section <= 1 s"}


def case_large(folder: Path, n: int = 800_000) -> dict:
    current, baseline = folder / "current.parquet", folder / "baseline.parquet"
    logged(current, n, 1, 0.05)
    logged(baseline, n, 2, 0.08)
    seconds, proc = timed([*POSTREPORT, "data=predictions", f"data.path={current}", "data.scores=[score_1]",
                           "data.id=id", f"compare.baseline={baseline}", "compare.key=id",
                           "report.analyses=[comparison,metrics]", "report.formats=[html,json]",
                           f"hydra.run.dir={folder / 'out'}"])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # postreport's (the only child so far)
    bare_seconds, _ = timed([sys.executable, "-c", BARE, str(current), str(baseline)])
    result = {"case": "large", "rows": n, "exit": proc.returncode, "postreport_seconds": round(seconds, 1),
              "bare_sklearn_seconds": round(bare_seconds, 1), "ratio": round(seconds / bare_seconds, 2),
              "peak_mb": round(peak / 1024), "goal": "ratio <= 2, peak < 1536 MB"}
    if proc.returncode not in (0, 3):
        result["stderr"] = proc.stderr[-1500:]
    else:
        doc = json.loads((folder / "out" / "metrics.json").read_text())
        result["sections"] = {s["name"]: s["seconds"] for s in doc["sections"]}
        result["roc_auc_diff"] = doc["results"]["comparison"]["roc_auc_diff"]
        result["roc_auc_diff_ci"] = doc["results"]["comparison"]["roc_auc_diff_ci"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["default", "large"], action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postreport-bench-compare-") as tmp:
        for name in args.case or ["default", "large"]:
            print(json.dumps({"default": case_default, "large": case_large}[name](Path(tmp)), indent=1), flush=True)


if __name__ == "__main__":
    main()
