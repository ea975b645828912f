"""Tuning and sweep benchmark (issue 5).

1. 30 Optuna trials of LightGBM on breast cancer (3-fold CV each): the tuning step's seconds, from metrics.json
   (target: under 20 s).
2. The same 4-job multirun (num_leaves x learning_rate, the default report) with the basic launcher and with
   hydra/launcher=joblib: wall times and their ratio (target: joblib at most 0.7x the basic launcher).

    python bench/bench_tuning.py
"""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTREPORT = [sys.executable, "-c", "from postreport.cli import main; main()"]
SWEEP = ["model.params.num_leaves=7,15", "model.params.learning_rate=0.05,0.1"]


def timed(cmd, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="postreport-bench-tune-"))
    try:
        run = timed([*POSTREPORT, "tuning.n_trials=30", "report.analyses=[tuning]", "report.formats=[json]",
                     "hydra.run.dir=tune"], work)
        tuning = json.loads((work / "tune" / "metrics.json").read_text())["results"]["tuning"]
        basic = timed([*POSTREPORT, "-m", *SWEEP, "hydra.sweep.dir=basic"], work)
        joblib = timed([*POSTREPORT, "-m", "hydra/launcher=joblib", *SWEEP, "hydra.sweep.dir=joblib"], work)
        for name in ("basic", "joblib"):
            summary = json.loads((work / name / "sweep.json").read_text())
            assert [j["status"] for j in summary["jobs"]] == ["ok"] * 4, summary
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"tuning, 30 trials of LightGBM on breast cancer: {tuning['seconds']:.2f} s (target < 20 s); "
          f"best CV roc_auc {tuning['best_score']:.4f} vs {tuning['default_score']:.4f} configured; run {run:.2f} s")
    print(f"4-job sweep (default report): basic launcher {basic:.2f} s, joblib launcher {joblib:.2f} s: "
          f"{joblib / basic:.2f}x (target <= 0.7x)")


if __name__ == "__main__":
    main()
