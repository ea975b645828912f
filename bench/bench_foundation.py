"""Foundation benchmark (issue 2).

1. The default run (`postreport`: breast cancer + LightGBM, HTML + PDF + JSON), wall time.
2. A metrics + confusion-matrix report (HTML + JSON) from a saved model on a saved test set, against
   `baseline_script.py`, a plain scikit-learn + matplotlib script computing the same, both as fresh
   processes (so both pay their imports). Prints the ratio; the target is at most 1.5x.

    python bench/bench_foundation.py [--repeats 5]
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSTREPORT = [sys.executable, "-c", "from postreport.cli import main; main()"]


def timed(cmd, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def median_time(cmd, cwd, repeats) -> float:
    timed(cmd, cwd)  # warm the file cache
    return statistics.median(timed(cmd, cwd) for _ in range(repeats))


def prepare(work: Path) -> None:
    import lightgbm
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    model = lightgbm.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, verbose=-1)
    model.fit(X_tr, y_tr).booster_.save_model(str(work / "model.txt"))
    X_te.assign(target=y_te).to_csv(work / "test.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="postreport-bench-"))
    try:
        prepare(work)
        default = median_time([*POSTREPORT, "hydra.run.dir=default"], work, args.repeats)
        saved = median_time([*POSTREPORT, "model=file", "model.path=model.txt", "data=file",
                             "data.test_path=test.csv", "data.target=target",
                             "report.analyses=[metrics,confusion_matrix]", "report.formats=[html,json]",
                             "hydra.run.dir=saved"], work, args.repeats)
        (work / "baseline").mkdir()
        baseline = median_time([sys.executable, str(HERE / "baseline_script.py"), "model.txt", "test.csv",
                                "baseline"], work, args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"default run (html+pdf+json), median of {args.repeats}: {default:.2f} s  (target < 15 s)")
    print(f"saved model -> metrics + confusion matrix (html+json): {saved:.2f} s")
    print(f"baseline script (sklearn + matplotlib):               {baseline:.2f} s")
    print(f"ratio: {saved / baseline:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
