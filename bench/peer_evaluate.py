"""skore's evaluate on the fitted model and rows of bench/bench_evaluate.py (issue 40), for the side-by-side: its
EstimatorReport, metrics.summarize(), the ROC curve and permutation importance, timed; never a dependency of the
package. Run it with a Python that has skore:

    python3 -m venv /tmp/skorevenv && /tmp/skorevenv/bin/pip install skore lightgbm pyarrow
    /tmp/skorevenv/bin/python bench/peer_evaluate.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import skore
    from lightgbm import LGBMClassifier
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame["target"])
    model = LGBMClassifier(verbose=-1, random_state=0).fit(train.drop(columns="target"), train["target"])
    X_test, y_test = test.drop(columns="target"), test["target"]
    seconds, summary = [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        report = skore.evaluate(model, X_test, y_test, splitter="prefit")
        summary = report.metrics.summarize().frame()
        report.metrics.roc().plot()
        report.inspection.permutation_importance(seed=0) if hasattr(report, "inspection") else None
        seconds.append(time.perf_counter() - start)
    print(f"skore {skore.__version__}: evaluate + summarize + ROC + permutation importance: "
          f"{statistics.median(seconds):.2f} s (median of {args.repeats})")
    print(summary.to_string())


if __name__ == "__main__":
    main()
