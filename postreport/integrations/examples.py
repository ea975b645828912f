"""`postreport-examples [FOLDER]`: the files the README's examples read, made from scikit-learn's bundled data sets
(no download): a CSV to split, a training CSV with a held-out Parquet test set, a model file with its test rows,
and logged predictions as one file and as a hive-partitioned folder; and a notebook that fits a pipeline and reports
on it with postreport.evaluate and postreport.compare."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
import numpy as np
import pandas as pd

NOTEBOOK = Path(__file__).with_name("evaluate.ipynb")


def write_examples(folder: Path) -> list:
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written = []

    wine = load_wine(as_frame=True)
    frame = wine.frame.rename(columns={"target": "type"})
    frame["type"] = np.asarray(["barolo", "grignolino", "barbera"])[frame["type"]]
    frame.insert(0, "batch", rng.integers(1000, 9999, len(frame)))  # a column to leave out (data.drop)
    frame.to_csv(folder / "wine.csv", index=False)
    train, test = train_test_split(frame.drop(columns="batch"), test_size=0.3, random_state=0,
                                   stratify=frame["type"])
    train.to_csv(folder / "train.csv", index=False)
    test.to_parquet(folder / "test.parquet", index=False)
    written += ["wine.csv", "train.csv", "test.parquet"]

    cancer = load_breast_cancer(as_frame=True)
    X, y = cancer.data, cancer.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    import skops.io

    skops.io.dump(model, folder / "model.skops")
    X_test.assign(y=y_test).to_csv(folder / "test.csv", index=False)
    written += ["model.skops", "test.csv"]

    n = 4000
    churn = rng.random(n) < 0.2
    p_churn = np.clip(0.2 + 0.45 * churn + rng.normal(0, 0.18, n), 0.001, 0.999).round(4)
    preds = pd.DataFrame({"customer": [f"C{i:05d}" for i in range(n)],
                          "y_true": np.where(churn, "churn", "stay"), "p_churn": p_churn,
                          "region": rng.choice(["north", "south", "east", "west"], n),
                          "date": np.asarray(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"])[
                              rng.integers(0, 4, n)]})
    preds.drop(columns="date").to_parquet(folder / "preds.parquet", index=False)
    for day, part in preds.groupby("date"):
        target = folder / "preds" / f"date={day}"
        target.mkdir(parents=True, exist_ok=True)
        part.drop(columns="date").to_parquet(target / "part-0.parquet", index=False)
    written += ["preds.parquet", "preds/date=2026-11-0{1..4}/part-0.parquet"]
    (folder / NOTEBOOK.name).write_bytes(NOTEBOOK.read_bytes())  # evaluate and compare a pipeline fitted in memory
    written.append(NOTEBOOK.name)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="postreport-examples",
                                     description="Write the example files the README's commands read.")
    parser.add_argument("folder", nargs="?", default="examples", help="where to write them (default: ./examples)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    try:
        written = write_examples(folder)
    except OSError as exc:
        print(f"postreport-examples: error: cannot write into {folder}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(2)
    print(f"postreport-examples: wrote {', '.join(written)} into {folder}")


if __name__ == "__main__":
    main()
