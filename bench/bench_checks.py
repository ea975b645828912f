"""False alarms of the checks section (issue 39): which checks fire on data that has nothing wrong with it (the
bundled datasets, and generated ones with a realistic shape: 30 classes, 300,000 rows, 200 columns, a regression with
heavy-tailed noise, a dated table split at a date), and what each faulty twin raises. A warning on a clean case is a
bug; information ("untuned_model", "search_edge", "useless_features") is not a warning.

    python bench/bench_checks.py [--folder /tmp/bench_checks] [--write]

--write stores the table where the report reads it (postreport/analyses/checks_false_alarms.json): the checks
section prints it, and tests/analyses/test_checks.py holds the bundled datasets' rows to what a run finds.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import make_data  # noqa: E402


READ = "checks,metrics,calibration,feature_importance"  # the checks and the sections whose results they read
EXPECTED: dict = {}  # case -> warnings that are true of a clean case's data (not false alarms)


def generated(folder: Path) -> dict:
    """name -> (overrides, clean?)."""
    rng = np.random.default_rng(1)
    files = make_data(folder)
    named = {"c30": "30 classes, 6,000 x 20", "b300k": "binary, 300,000 x 20", "w200": "binary, 3,000 x 200"}
    cases = {named[name]: (["data=file", f"data.path={path}", "data.target=y"], True) for name, path in files.items()}
    # c30's classes come from random logits: class_10 holds 34 of the 6,000 rows, 8 of the test rows (true findings)
    EXPECTED[named["c30"]] = {"class_imbalance", "underrepresented_classes"}
    n = 3000
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    y = X["x0"] * 3 + X["x1"] + rng.standard_t(3, n) * 2
    X.assign(y=y).to_csv(folder / "heavy.csv", index=False)
    cases["regression, t(3) noise, 3,000 x 6"] = (["data=file", f"data.path={folder / 'heavy.csv'}",
                                                   "data.target=y"], True)
    dated = X.assign(when=pd.date_range("2024-01-01", periods=n, freq="3h").strftime("%Y-%m-%d %H:%M"),
                     y=(X["x0"] + rng.normal(size=n) > 0).astype(int))
    dated.iloc[:2250].to_csv(folder / "before.csv", index=False)
    dated.iloc[2250:].to_csv(folder / "after.csv", index=False)
    dated.to_csv(folder / "dated.csv", index=False)
    cases["dated, split at a date"] = (["data=file", f"data.path={folder / 'before.csv'}",
                                        f"data.test_path={folder / 'after.csv'}", "data.target=y"], True)
    cases["dated, split at random"] = (["data=file", f"data.path={folder / 'dated.csv'}", "data.target=y"],
                                               False)
    leak = X.assign(y=(X["x0"] + rng.normal(size=n) > 0).astype(int))
    leak["noted_after"] = np.where(rng.random(n) < 0.01, 1 - leak["y"], leak["y"])
    leak.to_csv(folder / "leak.csv", index=False)
    cases["a copy of the label, 1 % flipped"] = (["data=file", f"data.path={folder / 'leak.csv'}", "data.target=y"],
                                                False)
    shuffled = X.assign(y=rng.permutation((X["x0"] > 0).astype(int).to_numpy()))
    shuffled.to_csv(folder / "shuffled.csv", index=False)
    cases["labels shuffled"] = (["data=file", f"data.path={folder / 'shuffled.csv'}", "data.target=y"], False)
    base = X.assign(y=(X["x0"] + rng.normal(size=n) > 0).astype(int))
    train, test = base.iloc[:2250], base.iloc[2250:].copy()
    copied = rng.choice(len(test), len(test) * 3 // 10, replace=False)
    test.iloc[copied] = train.sample(len(copied), random_state=1).to_numpy()
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "copied.csv", index=False)
    cases["30 % of the test rows copied from training"] = (
        ["data=file", f"data.path={folder / 'train.csv'}", f"data.test_path={folder / 'copied.csv'}",
         "data.target=y"], False)
    minority = base.assign(y=np.where(rng.random(n) < 0.02, "rare", np.where(base["y"] == 1, "a", "b")))
    minority.to_csv(folder / "minority.csv", index=False)
    cases["a 2 % minority class"] = (["data=file", f"data.path={folder / 'minority.csv'}", "data.target=y"], False)
    few = minority.assign(y=np.where(base["y"] == 1, "a", "b"))
    few.loc[few.index[:20], "y"] = "few"  # 20 rows: about 5 in the test rows
    few.to_csv(folder / "few.csv", index=False)
    cases["a class of 20 rows (5 test rows)"] = (["data=file", f"data.path={folder / 'few.csv'}", "data.target=y"],
                                                 False)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", default="/tmp/bench_checks")
    parser.add_argument("--write", action="store_true", help="store the table for the report")
    args = parser.parse_args()
    rows = []
    folder = Path(args.folder)
    cases = {f"data={d}": ([f"data={d}"], True) for d in ("breast_cancer", "wine", "digits", "diabetes", "iris")}
    cases.update(generated(folder / "data"))
    print("| case | warnings | information | seconds (checks) |")
    print("|---|---|---|---:|")
    for i, (name, (overrides, clean)) in enumerate(cases.items()):
        out = folder / f"run{i}"
        run = subprocess.run([sys.executable, "-m", "postreport.cli", *overrides, f"report.analyses=[{READ}]",
                              "report.formats=[json]", f"hydra.run.dir={out}"], capture_output=True, text=True)
        doc = json.loads((out / "metrics.json").read_text())
        if "checks" not in doc["results"]:
            sys.exit(f"{name}: the checks section did not run:\n{run.stderr[-3000:]}")
        checks = doc["results"]["checks"]
        warn = [f["id"] for f in checks["findings"] if f["severity"] == "warning"]
        info = [f["id"] for f in checks["findings"] if f["severity"] != "warning"]
        seconds = next(s["seconds"] for s in doc["sections"] if s["name"] == "checks")
        mark = " **false alarm**" if clean and set(warn) - EXPECTED.get(name, set()) else ""
        print(f"| {name} | {', '.join(warn) or '-'}{mark} | {', '.join(info) or '-'} | {seconds:.2f} |", flush=True)
        rows.append({"case": name, "clean": clean, "warnings": warn, "information": info,
                     "expected": sorted(EXPECTED.get(name, ()))})
    if args.write:
        from postreport.analyses.checks import FALSE_ALARMS
        from postreport.version import __version__

        FALSE_ALARMS.write_text(json.dumps({"version": __version__, "command": "python bench/bench_checks.py --write",
                                            "cases": rows}, indent=1) + "\n")
        print(f"written: {FALSE_ALARMS}")


if __name__ == "__main__":
    main()
