"""postreport's label-free estimates beside NannyML's CBPE on NannyML's synthetic car-loan data (issue 41): per month
of the analysis period, NannyML's estimated and realized accuracy, ROC AUC and F1, and the report's over_time
estimate (the analysis rows given without their labels) with its interval, and whether each interval holds the
realized value. NannyML is never a dependency of the package: run this with a Python that has it, e.g.

    python3 -m venv /tmp/nannyvenv && /tmp/nannyvenv/bin/pip install nannyml statsmodels pyarrow
    /tmp/nannyvenv/bin/python bench/peer_monitoring.py --postreport .ci-venv/bin/python [--folder /tmp/peer_monitoring]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

import pandas as pd

METRICS = ("accuracy", "roc_auc", "f1")
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's usage telemetry: no network here


def nannyml_per_month(reference: pd.DataFrame, analysis: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """NannyML 0.13's CBPE estimates (fitted on the reference, which it calibrates) and realized values per month."""
    import nannyml as nml

    common = dict(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="repaid", timestamp_column_name="timestamp",
                  metrics=list(METRICS), chunk_period="M", problem_type="classification_binary")
    cbpe = nml.CBPE(**common).fit(reference)
    estimated = cbpe.estimate(analysis).filter(period="analysis").to_df()
    realized = nml.PerformanceCalculator(**common).fit(reference).calculate(
        analysis.merge(targets, on="id")).filter(period="analysis").to_df()
    rows = []
    for i in range(len(estimated)):
        row = {"month": str(estimated[("chunk", "key")].iloc[i])}
        for m in METRICS:
            row[f"nannyml_{m}"] = float(estimated[(m, "value")].iloc[i])
            row[f"nannyml_{m}_band"] = [float(estimated[(m, "lower_confidence_boundary")].iloc[i]),
                                        float(estimated[(m, "upper_confidence_boundary")].iloc[i])]
            row[f"realized_{m}"] = float(realized[(m, "value")].iloc[i])
        rows.append(row)
    return pd.DataFrame(rows)


def postreport_per_month(python: str, folder: Path, reference: pd.DataFrame, analysis: pd.DataFrame) -> dict:
    """The report's over_time estimates: the reference months with labels, the analysis months without."""
    logged = pd.concat([reference.assign(y_true=reference["repaid"].astype("Int64")),
                        analysis.assign(y_true=pd.array([pd.NA] * len(analysis), dtype="Int64"))], ignore_index=True)
    logged["when"] = pd.to_datetime(logged["timestamp"]).dt.strftime("%Y-%m-%d")
    logged = logged.drop(columns=["timestamp", "repaid"])
    logged.to_parquet(folder / "loans.parquet")
    out = folder / "run"
    done = subprocess.run([python, "-m", "postreport.cli", "data=predictions", f"data.path={folder / 'loans.parquet'}",
                           "data.scores=[y_pred_proba]", "data.prediction=y_pred", "analyses.over_time.by=when",
                           "analyses.over_time.period=month", "analyses.over_time.reference=10",
                           "report.analyses=[metrics,over_time]", "report.formats=[json]", f"hydra.run.dir={out}"],
                          capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(done.stderr[-3000:])
    periods = json.loads((out / "metrics.json").read_text())["results"]["over_time"]["periods"]
    return {p["period"]: p for p in periods if p.get("estimated")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postreport", default=".ci-venv/bin/python", help="a Python with postreport installed")
    parser.add_argument("--folder", default="/tmp/peer_monitoring")
    args = parser.parse_args()
    import nannyml as nml

    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    reference, analysis, targets = nml.load_synthetic_car_loan_dataset()
    theirs = nannyml_per_month(reference, analysis, targets)
    ours = postreport_per_month(args.postreport, folder, reference, analysis)
    print(f"nannyml {nml.__version__}; analysis months {len(theirs)}")
    print("| month | realized accuracy | NannyML estimate [band] | holds | postreport estimate [interval] | holds |"
          " realized ROC AUC | NannyML ROC AUC | postreport ROC AUC | realized F1 | NannyML F1 | postreport F1 |")
    print("|---|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    held = {"nannyml": 0, "postreport": 0}
    for _, row in theirs.iterrows():
        p = ours.get(row["month"])
        estimate = (p or {}).get("estimate") or {}
        truth = row["realized_accuracy"]
        band = row["nannyml_accuracy_band"]
        theirs_holds = band[0] <= truth <= band[1]
        ci = estimate.get("ci")
        ours_holds = bool(ci and ci[0] <= truth <= ci[1])
        held["nannyml"] += theirs_holds
        held["postreport"] += ours_holds
        ours_text = f"{estimate['accuracy']:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "-"

        def other(metric):
            value = estimate.get(metric)
            return "-" if value is None else f"{value:.4f}"

        print(f"| {row['month']} | {truth:.4f} | {row['nannyml_accuracy']:.4f} [{band[0]:.4f}, {band[1]:.4f}] | "
              f"{'yes' if theirs_holds else 'no'} | {ours_text} | {'yes' if ours_holds else 'no'} | "
              f"{row['realized_roc_auc']:.4f} | {row['nannyml_roc_auc']:.4f} | {other('roc_auc')} | "
              f"{row['realized_f1']:.4f} | {row['nannyml_f1']:.4f} | {other('f1')} |")
    print(f"\nthe realized accuracy inside the interval: NannyML {held['nannyml']} of {len(theirs)}, postreport "
          f"{held['postreport']} of {len(theirs)}")


if __name__ == "__main__":
    main()
