"""Issue 14's budgets: the default report with every new piece (thresholds chosen out of fold, calibration slope,
recalibration, stability, conformal) <= 20 s; 800,000 logged binary predictions through metrics, calibration,
thresholds and conformal (HTML + JSON) <= 2x a bare script computing the point metrics, the calibration curve and
the best-F1 threshold with scikit-learn.

    python bench/bench_statistics.py
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

POSTREPORT = [sys.executable, "-c", "from postreport.cli import console; console()"]  # as the `postreport` command
REPEATS = 5  # this machine's timings vary by +-10 % from run to run: the median of five
BARE = """
import sys, time
import numpy as np, pandas as pd, sklearn.metrics as skm
from sklearn.calibration import calibration_curve
t = pd.read_parquet(sys.argv[1])
y, s = t["y_true"].to_numpy(), t["score_1"].to_numpy()
p = (s >= 0.5).astype(int)
[f(y, p) for f in (skm.accuracy_score, skm.precision_score, skm.recall_score, skm.f1_score, skm.matthews_corrcoef)]
[f(y, s) for f in (skm.roc_auc_score, skm.average_precision_score, skm.log_loss, skm.brier_score_loss)]
calibration_curve(y, s, n_bins=10)
precision, recall, thresholds = skm.precision_recall_curve(y, s)
f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
thresholds[np.argmax(f1[:-1])]
"""


def timed(cmd) -> tuple:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return round(time.perf_counter() - start, 1), proc


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [timed([*POSTREPORT, f"hydra.run.dir={tmp}/default{i}"]) for i in range(REPEATS)]
        seconds = sorted(s for s, _ in runs)
        doc = json.loads((Path(tmp) / "default0" / "metrics.json").read_text())
        print(json.dumps({"case": "default report", "median_seconds": seconds[len(seconds) // 2], "all": seconds,
                          "exit": [p.returncode for _, p in runs], "goal_seconds": 20,
                          "sections": {s["name"]: s["seconds"] for s in doc["sections"]}}))
        n = 800_000
        rng = np.random.default_rng(0)
        y = (rng.random(n) < 0.3).astype(int)
        score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
        path = Path(tmp) / "logged.parquet"
        pd.DataFrame({"y_true": y, "score_1": score}).to_parquet(path)
        seconds, proc = timed([*POSTREPORT, "data=predictions", f"data.path={path}", "data.scores=[score_1]",
                               "report.analyses=[metrics,calibration,thresholds,conformal]",
                               "report.formats=[html,json]", f"hydra.run.dir={tmp}/large"])
        bare, _ = timed([sys.executable, "-c", BARE, str(path)])
        doc = json.loads((Path(tmp) / "large" / "metrics.json").read_text())
        print(json.dumps({"case": "800k logged predictions", "seconds": seconds, "bare_seconds": bare,
                          "ratio": round(seconds / bare, 2), "exit": proc.returncode, "goal": "ratio <= 2",
                          "sections": {s["name"]: s["seconds"] for s in doc["sections"]}}, indent=1))


if __name__ == "__main__":
    main()
