"""postreport.evaluate against the command line on the same fitted model and rows (issue 40): a LightGBM fitted on
breast cancer's training rows (the same split as data=breast_cancer), the default sections, HTML + PDF + JSON.

    python bench/bench_evaluate.py [--repeats 3] [--folder /tmp/bench_evaluate]

Measured: evaluate() in this process (the model and the frames handed over in memory), the same run through
postreport.generate with model=file data=file in this process, and the command line (a new process: Python's
start-up and imports included), each the median of --repeats; and whether their metrics agree.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", default="/tmp/bench_evaluate")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)

    import skops.io as sio
    from lightgbm import LGBMClassifier
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    import postreport

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame["target"])
    model = LGBMClassifier(verbose=-1, random_state=0).fit(train.drop(columns="target"), train["target"])
    train.to_parquet(folder / "train.parquet")
    test.to_parquet(folder / "test.parquet")
    sio.dump(model, folder / "model.skops")
    same = ["report.timings=false", "ensemble=none"]  # evaluate fits no ensemble of other configs by default
    files = ["data=file", f"data.path={folder / 'train.parquet'}", f"data.test_path={folder / 'test.parquet'}",
             "data.target=target", "model=file", f"model.path={folder / 'model.skops'}", "model.trust=true", *same]

    def timed(run) -> tuple:
        seconds, last = [], None
        for i in range(args.repeats):
            start = time.perf_counter()
            last = run(i)
            seconds.append(time.perf_counter() - start)
        return statistics.median(seconds), last

    X_train, y_train = train.drop(columns="target"), train["target"]
    X_test, y_test = test.drop(columns="target"), test["target"]
    rows = {}
    rows["postreport.evaluate (in memory)"] = timed(lambda i: postreport.evaluate(
        model, X_test, y_test, X_train=X_train, y_train=y_train, overrides=same).metrics)
    rows["postreport.generate, model=file data=file"] = timed(lambda i: postreport.generate(
        files, output_dir=folder / f"generate{i}").metrics)

    def command(i):
        subprocess.run([sys.executable, "-m", "postreport.cli", *files, f"hydra.run.dir={folder / f'cli{i}'}"],
                       check=True, capture_output=True)
        return json.loads((folder / f"cli{i}" / "metrics.json").read_text())

    rows["command line, model=file data=file (new process)"] = timed(command)
    reference = rows["command line, model=file data=file (new process)"][1]
    print("| run | seconds (median of %d) | metrics equal the command line's |" % args.repeats)
    print("|---|---:|---|")
    for name, (seconds, metrics) in rows.items():
        print(f"| {name} | {seconds:.2f} | {metrics['metrics'] == reference['metrics']} |")


if __name__ == "__main__":
    main()
