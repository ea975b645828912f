"""The plan's bootstrap cost formulas (postreport.planning.costs.bootstrap_seconds, row_mean_seconds) against a
measured call of the bootstrap they plan, on generated arrays. The constants were fitted on the 2-core reference
machine with this script; bench/bench_plan.py checks them inside whole runs.

    python bench/bench_costs.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from postreport.config import BootstrapConfig  # noqa: E402
from postreport.planning.costs import bootstrap_seconds, row_mean_seconds  # noqa: E402
from postreport.stats import bootstrap  # noqa: E402
from postreport.stats.bootstrap import MAX_OVO_CLASSES, ranks_every_class  # noqa: E402
from postreport.stats.paired import row_mean_interval  # noqa: E402


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    settings = BootstrapConfig()
    B = settings.resamples
    warm = np.arange(2000) % 2  # first-call costs aside (a run pays them once): imports, the allocator's first pages
    timed(lambda: bootstrap.binary(warm, warm, rng.random(2000), settings, 0))
    print("| case | planned s | measured s | planned / measured |")
    print("|---|---:|---:|---:|")

    def row(case, planned, took):
        print(f"| {case} | {planned:.3f} | {took:.3f} | {planned / took:.2f} |", flush=True)

    for n in (2000, 20000, 75000, 300000):
        y = (rng.random(n) < 0.4).astype(int)
        score = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(size=n))))  # overlapping classes, like a model's scores
        pred = (score > 0.5).astype(int)
        exact = n <= settings.max_exact_rows
        row(f"binary, {n:,} rows ({'exact' if exact else 'grouped'})",
            bootstrap_seconds(2, n, B, exact=exact, max_bins=settings.max_bins),
            timed(lambda: bootstrap.binary(y, pred, score, settings, 0, stratified=False)))
        if exact:
            row(f"binary paired counts, {n:,} rows", bootstrap_seconds(2, n, B, scores=False),
                timed(lambda: bootstrap.binary(y, pred, None, settings, 0, paired=True)))
            row(f"row mean, {n:,} rows", row_mean_seconds(n, B), timed(lambda: row_mean_interval(score, settings, 0)))
    for n, K in ((1500, 5), (1500, 30), (6000, 30), (2000, 100)):
        y = rng.integers(0, K, n)
        proba = rng.dirichlet(np.ones(K), n)
        proba[np.arange(n), y] += 1
        proba /= proba.sum(axis=1, keepdims=True)
        pred = proba.argmax(axis=1)
        ranked = ranks_every_class(B, n, K)
        row(f"multiclass, {n:,} rows, {K} classes", bootstrap_seconds(K, n, B, ranked=ranked,
                                                                       one_vs_one=K <= MAX_OVO_CLASSES),
            timed(lambda: bootstrap.multiclass(y, pred, K, proba, settings, 0, stratified=False)))
        row(f"multiclass counts, {n:,} rows, {K} classes", bootstrap_seconds(K, n, B, scores=False),
            timed(lambda: bootstrap.multiclass(y, pred, K, None, settings, 0, stratified=False)))
    for n in (2000, 20000):
        y = rng.normal(size=n)
        row(f"regression, {n:,} rows", bootstrap_seconds(0, n, B),
            timed(lambda: bootstrap.regression(y, y + rng.normal(size=n), settings, 0)))


if __name__ == "__main__":
    main()
