"""Explanations benchmark (issue 4).

1. Breast cancer default run with and without the explanation sections (feature_importance, saliency):
   the difference is what the explanations add (target: at most 5 s).
2. 100,000 rows x 20 features (make_classification) with LightGBM and the default sample sizes: the seconds
   the explanation sections take, from metrics.json (target: within 60 s).

    python bench/bench_explanations.py [--repeats 3]
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTREPORT = [sys.executable, "-c", "from postreport.cli import main; main()"]
EVALUATION = "[metrics,per_class,confusion_matrix,curves,calibration,thresholds,residuals,slices,errors]"
EXPLAIN = ("feature_importance", "saliency")


def timed(cmd, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="postreport-bench-explain-"))
    try:
        full = statistics.median(timed([*POSTREPORT, "hydra.run.dir=a"], work) for _ in range(args.repeats))
        without = statistics.median(timed([*POSTREPORT, f"report.analyses={EVALUATION}", "hydra.run.dir=b"], work)
                                    for _ in range(args.repeats))
        from sklearn.datasets import make_classification
        import pandas as pd

        X, y = make_classification(n_samples=100_000, n_features=20, n_informative=8, random_state=0)
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)]).assign(y=y)
        frame.to_parquet(work / "big.parquet")
        total = timed([*POSTREPORT, "data=file", "data.path=big.parquet", "data.target=y",
                       "report.analyses=[metrics,feature_importance,saliency]", "hydra.run.dir=big"], work)
        sections = json.loads((work / "big" / "metrics.json").read_text())["sections"]
        seconds = {s["name"]: s["seconds"] for s in sections}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"breast cancer default run: {full:.2f} s with explanations, {without:.2f} s without: "
          f"+{full - without:.2f} s (target <= 5 s)")
    spent = sum(seconds[name] for name in EXPLAIN)
    print(f"100,000 x 20 LightGBM: explanation sections {spent:.2f} s "
          f"({', '.join(f'{k} {seconds[k]:.2f} s' for k in EXPLAIN)}; target <= 60 s); whole run {total:.2f} s")


if __name__ == "__main__":
    main()
