"""Issue 27's budgets for monitoring at warehouse scale: 10^8 logged predictions in 30 daily Parquet partitions
(`date=2026-11-01/`) with 10 feature columns, DuckDB, drift (against a reference file) + over time + metrics, HTML
and JSON: <= 120 s and peak memory <= 1.5 GiB on the 2-core machine. And 300,000 x 20 in memory: drift <= 5 s.

The data, made once by DuckDB and kept in --data: each row a calibrated probability p_yes and y_true drawn from it;
8 numeric features (three decimals) and 2 text features; day 17's labels are drawn 10 points less often right, day 20
has one numeric feature shifted by 0.3 sd, and the last day's labels have not arrived (null). The reference is
200,000 rows of the undisturbed distribution. Peak memory as bench_warehouse.py measures it (process tree RSS).

    python bench/bench_monitoring.py                  # both budgets
    python bench/bench_monitoring.py --rows 10000000  # a smaller warehouse run
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_warehouse import POSTREPORT, measure  # noqa: E402

DAYS = 30


def features(shift_day: int) -> str:
    """The 10 feature columns as DuckDB expressions of the row number i and its day d."""
    normal = "(random() + random() + random() + random() - 2.0) * 1.732"  # mean 0, sd 1 (a sum of uniforms)
    cols = [f"round({normal}{' + CASE WHEN d = ' + str(shift_day) + ' THEN 0.3 ELSE 0 END' if k == 0 else ''}, 3) "
            f"AS f{k}" for k in range(8)]
    cols += ["(['north', 'south', 'east', 'west', 'centre'])[1 + CAST(floor(random() * 5) AS INTEGER)] AS region",
             "(['basic', 'pro', 'team'])[1 + CAST(floor(random() * 3) AS INTEGER)] AS plan"]
    return ", ".join(cols)


def make(folder: Path, rows: int) -> tuple:
    import duckdb

    target, reference = folder / f"monitoring-{rows}", folder / "monitoring-reference.parquet"
    if (target / "_done").exists() and reference.exists():
        return target, reference
    target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": "4GB", "preserve_insertion_order": False})
    con.execute("SELECT setseed(0.27)")
    per_day = rows // DAYS
    con.execute(f"""COPY (
        SELECT strftime(DATE '2026-11-01' + CAST(d AS INTEGER), '%Y-%m-%d') AS date, {features(19)},
               CASE WHEN d = {DAYS - 1} THEN NULL
                    ELSE CAST(random() < (CASE WHEN d = 16 THEN p_yes * 0.8 + 0.1 ELSE p_yes END) AS TINYINT)
               END AS y_true,
               p_yes
        FROM (SELECT i // {per_day} AS d, round(random(), 6) AS p_yes FROM range({per_day * DAYS}) t(i))
    ) TO '{target}' (FORMAT PARQUET, PARTITION_BY (date), OVERWRITE_OR_IGNORE true)""")
    con.execute(f"COPY (SELECT {features(-1)} FROM (SELECT -1 AS d FROM range(200000))) TO '{reference}' "
                "(FORMAT PARQUET)")
    (target / "_done").touch()
    return target, reference


def in_memory_drift(rows: int = 300_000, columns: int = 20) -> float:
    """Seconds of the drift section alone on rows x columns in memory (training rows vs test rows, equal sizes)."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd
    from omegaconf import OmegaConf

    from postreport.analyses.drift import DriftAnalysis, DriftSettings
    from postreport.config import BootstrapConfig

    rng = np.random.default_rng(0)
    frame = lambda shift: pd.DataFrame({f"x{k}": rng.normal(shift if k == 0 else 0, 1, rows)  # noqa: E731
                                        for k in range(columns)})
    data = SimpleNamespace(X_train=frame(0), X_test=frame(0.05), n_train=rows, task="binary", logged=None,
                           warehouse=None, columns=[f"x{k}" for k in range(columns)],
                           y_train=pd.Series(rng.integers(0, 2, rows)), y_test=pd.Series(rng.integers(0, 2, rows)))
    ctx = SimpleNamespace(data=data, seed=0, model=SimpleNamespace(estimator=None),
                          cfg=OmegaConf.create({"bootstrap": OmegaConf.structured(BootstrapConfig),
                                                "data": {"na_values": []}}), bootstrap_seed=0)
    start = time.perf_counter()
    DriftAnalysis().compute(ctx, DriftSettings())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10 ** 8)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "postreport-warehouse")
    args = parser.parse_args()
    seconds = in_memory_drift()
    print(f"drift in memory, 300,000 x 20 per side: {seconds:.2f} s (budget 5 s)", flush=True)
    t = time.perf_counter()
    folder, reference = make(args.data, args.rows)
    files = list(folder.rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)
    print(f"data: {args.rows:,} rows, {size / 2 ** 30:.2f} GiB of Parquet in {len(files)} files "
          f"({time.perf_counter() - t:.0f} s to make or find)", flush=True)
    out = args.data / f"run-monitoring-{args.rows}"
    cmd = [*POSTREPORT, "data=predictions", f"data.path='{folder}'", "data.scores=[p_yes]", "data.prediction=null",
           "data.engine=duckdb", "report.analyses=[metrics,drift,over_time]",
           f"analyses.drift.reference='{reference}'", "+analyses.over_time.by=date", "report.formats=[html,json]",
           "tuning=none", "ensemble=none", f"hydra.run.dir={out}"]
    r = measure(cmd, args.data, 64)
    print(f"DuckDB, drift + over time + metrics: {r['seconds']:.1f} s, peak {r['peak_gib']:.2f} GiB, exit {r['exit']} "
          "(budget 120 s, 1.5 GiB)", flush=True)
    if r["exit"] not in (0, 3):
        print(r["stderr"])
        return
    document = json.loads((out / "metrics.json").read_text())
    over = document["results"]["over_time"]
    drift = document["results"]["drift"]
    print("flagged days:", [p["period"] for p in over["periods"] if p["flagged"]])
    print("estimated days:", [(p["period"], round(p["metrics"]["accuracy"], 4), [round(v, 4) for v in
                                                                                 p["metrics_ci"]["accuracy"]])
                              for p in over["periods"] if p["estimated"]])
    print("day 20 drift share:", next(p["drift_share"] for p in over["periods"] if p["period"] == "2026-11-20"))
    print("drifted columns against the reference:", [c["name"] for c in drift["columns"] if c["drifted"]])
    for p in document["data"]["aggregation"]["passes"] if "data" in document else []:
        print(f"  pass {p['pass']}: {p['seconds']} s")


if __name__ == "__main__":
    main()
