"""Coverage of the drift section's one interval, the domain classifier's ROC AUC, when the two samples come from one
distribution (true AUC 0.5): the share of runs whose interval holds 0.5, with its Monte Carlo interval. Also the time
of the drift section on 300,000 x 20 in memory.

    python bench/bench_drift.py [--reps 100]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from postreport.analyses.drift import DriftSettings, _domain_classifier, column_drift  # noqa: E402
from postreport.config import BootstrapConfig  # noqa: E402
from postreport.stats.proportions import wilson, z_for  # noqa: E402


def ctx_for(seed):
    return SimpleNamespace(seed=seed, bootstrap_seed=seed, cfg=SimpleNamespace(bootstrap=BootstrapConfig(resamples=1000)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    reps = parser.parse_args().reps
    hits = 0
    start = time.perf_counter()
    for r in range(reps):
        rng = np.random.default_rng(r)
        ref = pd.DataFrame({f"x{i}": rng.normal(size=500) for i in range(10)})
        cur = pd.DataFrame({f"x{i}": rng.normal(size=300) for i in range(10)})
        d = _domain_classifier(ref, cur, ctx_for(r), DriftSettings(), SimpleNamespace(notes=[]))
        hits += d["auc_ci"][0] <= 0.5 <= d["auc_ci"][1]
    lo, hi = wilson(hits, reps, z_for(0.95))
    print(f"domain AUC interval holds 0.5 (no drift, 500 vs 300 rows, 10 columns): {hits / reps:.1%} "
          f"[{lo:.1%}, {hi:.1%}] of {reps} runs ({time.perf_counter() - start:.0f} s)")
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=240000) for i in range(20)})
    cur = pd.DataFrame({f"x{i}": rng.normal(size=60000) for i in range(20)})
    start = time.perf_counter()
    for c in ref.columns:
        column_drift(c, ref[c], cur[c], DriftSettings())
    tests = time.perf_counter() - start
    _domain_classifier(ref, cur, ctx_for(0), DriftSettings(), SimpleNamespace(notes=[]))
    print(f"300,000 x 20: column tests {tests:.1f} s, with the domain classifier {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
