"""Issue 17's budgets: 10^8 binary logged predictions (about 1 GB of Parquet, 20 files) through metrics, per-class,
confusion matrix, curves, calibration and thresholds with intervals, HTML + JSON, on DuckDB: <= 90 s and peak memory
<= 1.5 GiB on the 2-core machine; and a table of time and peak memory against rows (10^6, 10^7, 10^8) for the pandas
and DuckDB paths.

Peak memory is the largest sum of the resident memory of the `postreport` process and its children (the figure
worker), sampled every 50 ms. A pandas run that passes --pandas-limit GiB is stopped and reported as such.

    python bench/bench_warehouse.py                       # 10^6, 10^7, 10^8; data kept in --data
    python bench/bench_warehouse.py --rows 1000000 10000000 --engines duckdb
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

POSTREPORT = [sys.executable, "-c", "from postreport.cli import console; console()"]
SECTIONS = "report.analyses=[metrics,per_class,confusion_matrix,curves,calibration,thresholds]"
ROWS_PER_FILE = 5_000_000


def make(folder: Path, rows: int) -> Path:
    """`rows` logged predictions in files of at most 5 million rows: y_true (0/1), p_yes (a probability rounded to
    1e-6, as logging systems write them), made once and kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = folder / f"rows-{rows}"
    done = target / "_done"
    if done.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, start in enumerate(range(0, rows, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - start)
        y = rng.random(n) < 0.1
        p = np.round(1 / (1 + np.exp(-(rng.normal(0, 1.3, n) + 2.2 * y - 1.8))), 6)
        pq.write_table(pa.table({"y_true": y.astype(np.int8), "p_yes": p}), target / f"part-{i:04d}.parquet")
    done.touch()
    return target


def measure(cmd: list, cwd: Path, limit_gib: float) -> dict:
    """Wall time and peak resident memory of the command's process tree; stopped above limit_gib."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root, peak, stopped = psutil.Process(proc.pid), 0, False
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        if rss > limit_gib * 2 ** 30:
            for p in [*root.children(recursive=True), root]:
                p.kill()
            stopped = True
            break
        time.sleep(0.05)
    err = proc.communicate()[1]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_gib": peak / 2 ** 30, "exit": proc.returncode, "stopped": stopped,
            "stderr": err[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10 ** 6, 10 ** 7, 10 ** 8])
    parser.add_argument("--engines", nargs="+", default=["pandas", "duckdb"])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "postreport-warehouse")
    parser.add_argument("--pandas-limit", type=float, default=16.0, help="GiB at which a pandas run is stopped")
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        t = time.perf_counter()
        folder = make(args.data, rows)
        size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
        print(f"data: {rows:,} rows, {size / 2 ** 30:.2f} GiB of Parquet in {len(list(folder.glob('*.parquet')))} "
              f"files ({time.perf_counter() - t:.0f} s to make or find)", flush=True)
        for engine in args.engines:
            out = args.data / f"run-{engine}-{rows}"
            cmd = [*POSTREPORT, "data=predictions", f"data.path='{folder}'", "data.scores=[p_yes]",
                   "data.prediction=null", f"data.engine={engine}", SECTIONS, "report.formats=[html,json]",
                   "tuning=none", "ensemble=none", f"hydra.run.dir={out}"]
            r = measure(cmd, args.data, args.pandas_limit if engine == "pandas" else 64)
            status = "ok" if r["exit"] == 0 else f"stopped above {args.pandas_limit} GiB" if r["stopped"] else \
                f"exit {r['exit']}: {r['stderr'][-300:]}"
            results.append((rows, engine, r, status))
            print(f"  {engine:7s} {r['seconds']:7.1f} s  peak {r['peak_gib']:.2f} GiB  {status}", flush=True)
    print("\n| rows | engine | time (s) | peak memory (GiB) | |\n|---:|---|---:|---:|---|")
    for rows, engine, r, status in results:
        print(f"| {rows:,} | {engine} | {r['seconds']:.1f} | {r['peak_gib']:.2f} | {status} |")


if __name__ == "__main__":
    main()
