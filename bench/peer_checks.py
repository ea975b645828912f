"""Side by side with Deepchecks (issue 39): the same train and test files, each built with one fault (or none),
through postreport's checks and through Deepchecks' checks of the same things with their suites' default conditions.
Deepchecks is never a dependency of the package: run this with a Python that has it, e.g.

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install deepchecks lightgbm "scikit-learn<1.6" "pandas<2.2" \
        "numpy<2" "category_encoders<2.7"
    /tmp/peer/bin/python bench/peer_checks.py --postreport .ci-venv/bin/python [--folder /tmp/peer_checks]

(deepchecks 0.19.1 does not import with scikit-learn 1.9 or category_encoders 2.7.)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# ours -> the Deepchecks check of the same question
PEERS = {"target_leakage": "FeatureLabelCorrelation", "train_test_overlap": "TrainTestSamplesMix",
         "time_overlap": "DateTrainTestLeakageOverlap", "duplicate_rows": "DataDuplicates",
         "conflicting_labels": "ConflictingLabels", "not_better_than_baseline": "SimpleModelComparison",
         "overfitting": "TrainTestPerformance", "useless_features": "UnusedFeatures"}


def cases(rng) -> dict:
    """name -> (train, test, fault's check id or None); a 'when' column where the rows are dated."""
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 6)).round(4), columns=[f"x{i}" for i in range(6)])
    y = (X["x0"] + 0.5 * X["x1"] + rng.normal(size=n) > 0).astype(int)
    base = X.assign(y=y)
    out = {}

    def random_split(table):
        order = rng.permutation(len(table))
        return table.iloc[order[:2250]].reset_index(drop=True), table.iloc[order[2250:]].reset_index(drop=True)

    out["clean"] = (*random_split(base), None)
    leak = X.assign(noted_after=np.where(rng.random(n) < 0.01, 1 - y, y), y=y)
    out["a copy of the label, 1 % flipped"] = (*random_split(leak), "target_leakage")
    train, test = random_split(base)
    copied = rng.choice(len(test), len(test) * 3 // 10, replace=False)
    test.iloc[copied] = train.sample(len(copied), random_state=1).to_numpy()
    out["30 % of the test rows copied from training"] = (train, test, "train_test_overlap")
    train, test = random_split(base)
    test = pd.concat([test.iloc[:675], test.iloc[:75]], ignore_index=True)  # 10 % of the test rows repeated
    out["10 % of the test rows repeated"] = (train, test, "duplicate_rows")
    train, test = random_split(base)
    twins = train.sample(70, random_state=2).assign(y=lambda t: 1 - t["y"])  # 3 % of the training rows
    out["3 % of the training rows with a twin of the other label"] = (pd.concat([train, twins], ignore_index=True),
                                                                      test, "conflicting_labels")
    dated = base.assign(when=pd.date_range("2024-01-01", periods=n, freq="3h").strftime("%Y-%m-%d %H:%M"))
    out["dated, split at a date"] = (dated.iloc[:2250].reset_index(drop=True),
                                     dated.iloc[2250:].reset_index(drop=True), None)
    out["dated, split at random"] = (*random_split(dated), "time_overlap")
    out["labels shuffled"] = (*random_split(X.assign(y=rng.permutation(y.to_numpy()))), "not_better_than_baseline")
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "y"})
    train, test = train_test_split(cancer, test_size=0.25, random_state=0, stratify=cancer["y"])
    out["breast cancer"] = (train.reset_index(drop=True), test.reset_index(drop=True), None)
    return out


def postreport_findings(python: str, folder: Path) -> dict:
    doc = json.loads((folder / "out" / "metrics.json").read_text()) if (folder / "out" / "metrics.json").exists() \
        else None
    if doc is None:
        done = subprocess.run([python, "-m", "postreport.cli", "data=file", f"data.path={folder / 'train.csv'}",
                               f"data.test_path={folder / 'test.csv'}", "data.target=y",
                               "report.analyses=[checks,metrics,calibration,feature_importance]",
                               "report.formats=[json]", f"hydra.run.dir={folder / 'out'}"],
                              capture_output=True, text=True)
        if done.returncode not in (0, 3):
            raise SystemExit(done.stderr[-3000:])
        doc = json.loads((folder / "out" / "metrics.json").read_text())
    return {f["id"]: f["severity"] for f in doc["results"]["checks"]["findings"]}


def deepchecks_failures(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """Deepchecks check name -> the headers of its failed default conditions (empty: passed)."""
    warnings.filterwarnings("ignore")
    from deepchecks.tabular import Dataset, Suite, suites
    from lightgbm import LGBMClassifier

    dated = "when" in train
    features = [c for c in train.columns if c not in ("y", "when")]

    def dataset(frame):
        frame = frame.assign(when=pd.to_datetime(frame["when"])) if dated else frame
        return Dataset(frame, label="y", cat_features=[], datetime_name="when" if dated else None)

    model = LGBMClassifier(verbose=-1, random_state=0).fit(train[features], train["y"])
    chosen = {}
    for suite in (suites.data_integrity(), suites.train_test_validation(), suites.model_evaluation()):
        for check in suite.checks.values():
            if type(check).__name__ in PEERS.values():
                chosen[type(check).__name__] = check
    result = Suite("peer", *chosen.values()).run(dataset(train), dataset(test), model, with_display=False)
    failed: dict = {name: [] for name in chosen}
    for r in result.results:
        name = type(r.check).__name__
        if not hasattr(r, "conditions_results"):  # a CheckFailure: cannot run here (no date column)
            failed.pop(name, None)
            continue
        failed[name] += [c.name for c in r.conditions_results if not c.is_pass()]
    return failed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postreport", default=".ci-venv/bin/python", help="a Python with postreport installed")
    parser.add_argument("--folder", default="/tmp/peer_checks")
    args = parser.parse_args()
    print("| case | fault (Deepchecks' check of it) | postreport: warnings | postreport: information | Deepchecks: "
          "checks whose default conditions fail |")
    print("|---|---|---|---|---|")
    for i, (name, (train, test, fault)) in enumerate(cases(np.random.default_rng(3)).items()):
        folder = Path(args.folder) / f"case{i}"
        folder.mkdir(parents=True, exist_ok=True)
        train.to_csv(folder / "train.csv", index=False)
        test.to_csv(folder / "test.csv", index=False)
        ours = postreport_findings(args.postreport, folder)
        theirs = deepchecks_failures(train, test)
        warned = ", ".join(k for k, v in ours.items() if v == "warning") or "-"
        failed = ", ".join(f"{k}" for k, v in theirs.items() if v) or "-"
        ours_info = ", ".join(k for k, v in ours.items() if v != "warning") or "-"
        print(f"| {name} | {fault or '-'} ({PEERS[fault] if fault else '-'}) | {warned} | {ours_info} | {failed} |",
              flush=True)


if __name__ == "__main__":
    main()
