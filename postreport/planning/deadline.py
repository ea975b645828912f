"""budget.max_seconds: the one wall-clock limit, a safety net that is off by default.

The plan (postreport.planning.plan) decides what a run does from the data's shape; this only stops a run that takes far
longer than planned (a model slower than its cost formula, a machine far slower than the reference). Steps that can
be left out (tuning, ensembles, the out-of-fold fits, every section) run inside `cuttable()`: when the deadline
passes during one, it is stopped (Cut) and shown as cut with the reason; steps after it are cut without starting.
What a report cannot do without (loading, fitting the model, predicting, rendering) is never cut. Nothing is ever
silently made smaller. The alarm is SIGALRM, so the stop is exact in the main thread; elsewhere (a run started from
another thread) steps are cut only between steps.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Optional


class Cut(BaseException):
    """The deadline passed during a step that can be left out. A BaseException, so that no step's own
    `except Exception` turns it into a failure."""


class Deadline:
    def __init__(self, seconds: Optional[float]):
        self.seconds, self.start = seconds, time.perf_counter()
        self.fired = False
        self._cuttable = False
        self._alarm = seconds is not None and threading.current_thread() is threading.main_thread() and hasattr(
            signal, "setitimer")
        self._previous = None

    def __enter__(self) -> "Deadline":
        if self._alarm:
            self._previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-3))
        return self

    def __exit__(self, *exc) -> None:
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)

    def _ring(self, signum, frame) -> None:
        self.fired = True
        if self._cuttable:
            raise Cut(self.reason())

    @property
    def passed(self) -> bool:
        if self.seconds is not None and time.perf_counter() - self.start >= self.seconds:
            self.fired = True
        return self.fired

    def reason(self) -> str:
        return (f"budget.max_seconds={self.seconds:g} s passed {time.perf_counter() - self.start:.1f} s into the "
                "run (a wall-clock safety net, off by default; the plan sizes every step from the data's shape)")

    @contextmanager
    def cuttable(self, planned: float = 0.0):
        """A step that may be cut: Cut when the deadline has passed before it or passes during it, or before it
        starts when its planned seconds would pass it (its work would be spent and thrown away)."""
        if self.passed:
            raise Cut(self.reason())
        elapsed = time.perf_counter() - self.start
        if self.seconds is not None and planned > 0 and elapsed + planned > self.seconds:
            raise Cut(f"not started: its planned {planned:.1f} s would pass budget.max_seconds={self.seconds:g} s "
                      f"({elapsed:.1f} s into the run; a wall-clock safety net, off by default)")
        self._cuttable = True
        try:
            yield
        finally:
            self._cuttable = False
