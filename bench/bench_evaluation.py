"""Evaluation benchmark (issue 3): 800,000 logged binary predictions.

Data: make_classification(n_samples=1_000_000, n_features=20, weights=[0.9, 0.1], random_state=0); a LightGBM
trained on the first 200,000 rows scores the other 800,000, saved as logged predictions (Parquet).
Tool: `postreport data=predictions` with metrics, confusion matrix, curves, calibration and thresholds, every
interval at 1000 bootstrap resamples, HTML + JSON. Baseline: baseline_evaluation.py (point metrics, confusion
matrix, ROC and PR curves with scikit-learn, drawn with matplotlib). Both run as fresh processes; wall time
is the median of --repeats runs, peak memory the maximum resident set size of the process.
Targets: ratio <= 2x, tool peak memory < 1 GiB.

    python bench/bench_evaluation.py [--repeats 3]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSTREPORT = [sys.executable, "-c", "from postreport.cli import main; main()"]


def run(cmd, cwd):
    """(seconds, peak RSS in MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def measure(cmd, cwd, repeats):
    runs = [run(cmd, cwd) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def prepare(work: Path) -> None:
    import lightgbm
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1_000_000, n_features=20, weights=[0.9, 0.1], random_state=0)
    model = lightgbm.LGBMClassifier(n_estimators=100, verbose=-1).fit(X[:200_000], y[:200_000])
    score = model.predict_proba(X[200_000:])[:, 1]
    pd.DataFrame({"y_true": y[200_000:], "score": score}).to_parquet(work / "preds.parquet")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare(Path(args.prepare))
    work = Path(tempfile.mkdtemp(prefix="postreport-bench-eval-"))
    try:
        # in a child process, so that this one stays small: a child's peak RSS counts the parent's pages at fork
        subprocess.run([sys.executable, __file__, "--prepare", str(work)], check=True)
        tool_cmd = [*POSTREPORT, "data=predictions", "data.path=preds.parquet", "data.scores=[score]",
                    "data.prediction=null", "report.analyses=[metrics,confusion_matrix,curves,calibration,thresholds]",
                    "report.formats=[html,json]", "bootstrap.resamples=1000", "hydra.run.dir=tool"]
        tool, tool_mem = measure(tool_cmd, work, args.repeats)
        (work / "baseline").mkdir()
        base, base_mem = measure([sys.executable, str(HERE / "baseline_evaluation.py"), "preds.parquet", "baseline"],
                                 work, args.repeats)
        size = (work / "tool" / "report.html").stat().st_size / 1e6
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"postreport (5 sections, 1000-resample CIs, html+json): {tool:.2f} s, peak {tool_mem:.0f} MiB, "
          f"report.html {size:.2f} MB")
    print(f"baseline script (sklearn + matplotlib):                {base:.2f} s, peak {base_mem:.0f} MiB")
    print(f"ratio: {tool / base:.2f}x  (target <= 2x; memory target < 1024 MiB)")


if __name__ == "__main__":
    main()
