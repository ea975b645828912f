"""Threads that fit the work: how many cores this process may use, and how many threads a model fit gets.

Measured on the 2-core reference machine (LightGBM, 200 trees, bench/bench_plan.py --threads): two threads make a
fit of 100,000 x 20 1.7x faster on a quiet machine, but beside two CPU-bound processes a small fit with two threads
collapses (400 x 30: 0.13 s with one thread, 0.95-4.9 s with two; 2,000 x 20: 0.19 s against 2.8 s), while from
about 500,000 cells (rows x columns) two threads are no slower than one even under that load. So fits below
SMALL_FIT_CELLS use one thread, larger ones every core this process may use. OpenMP's idle threads spin for
GOMP_SPINCOUNT iterations before they sleep; postreport lowers libgomp's default (300,000) to 10,000 unless it is
set, which costs nothing on a quiet machine (the same fit times) and stops a large fit from collapsing under load
(100,000 x 20 beside two hogs: 15.8 s with the default, 1.6 s with 10,000).
"""
from __future__ import annotations

import os

SMALL_FIT_CELLS = 500_000  # rows x features below which a fit uses one thread
SPINCOUNT = "10000"


def quiet_spinning() -> None:
    """Lower OpenMP's spin before libgomp is loaded (it reads GOMP_SPINCOUNT once, at load); a value the user set
    stays."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPINCOUNT)


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, e.g. under taskset or a container's cpuset), not the
    machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def cores_for(n_jobs) -> int:
    """n_jobs as a count of cores: -1, 0 or None is every available core; more than available is capped."""
    cores = available_cores()
    return cores if n_jobs in (-1, 0, None) else max(1, min(int(n_jobs), cores))


def fit_threads(rows: int, features: int, n_jobs) -> int:
    """Threads for fitting a model on rows x features in this process: one for a small fit, else n_jobs' cores."""
    if rows * max(features, 1) < SMALL_FIT_CELLS:
        return 1
    return cores_for(n_jobs)
