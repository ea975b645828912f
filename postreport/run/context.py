"""What every analysis may read (RunContext), what one analysis's run gives (Outcome), and a run's clock (Timer)."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Hashable, Optional

from omegaconf import DictConfig

from postreport import registry
from postreport.stats.encoding import encode

log = logging.getLogger("postreport")


@dataclass
class RunContext:
    """The run's data and models. Each candidate carries its test predictions, computed once; work several
    analyses need is shared through `shared`, keyed by everything it depends on."""

    cfg: DictConfig
    data: Any  # postreport.data.Dataset
    model: Any  # postreport.models.build.Candidate: the model the report is about (as configured, or tuned)
    seed: int
    n_jobs: int
    candidates: list = field(default_factory=list)  # every model of the run: as configured, tuned, ensembles, ...
    tuning: Any = None  # postreport.models.tuning.TuningOutcome when tuning ran
    tuning_skipped: Optional[str] = None  # why it did not
    notes: list = field(default_factory=list)  # about the run as a whole, shown in the summary
    ensemble_error: Optional[str] = None
    baseline: Any = None  # postreport.run.baseline.Baseline when compare.baseline is set
    cross_validation: Any = None  # postreport.models.cross_validation.CrossValidation when cv is set
    plan: Any = None  # postreport.planning.plan.Plan: every expensive choice, made from the data's shape before any fit
    cache: dict = field(default_factory=dict)

    @property
    def bootstrap_seed(self) -> int:
        """The bootstrap's seed: bootstrap.seed, else the run's seed (one rule for every section)."""
        return self.seed if self.cfg.bootstrap.seed is None else self.cfg.bootstrap.seed

    @property
    def predictions(self):
        """The report's model's test predictions (postreport.run.predictions.Predictions)."""
        return self.model.predictions

    @property
    def encoded(self):
        """The report's model's labels as indices, probabilities in the data's label order (None: regression)."""
        return self.encoded_for(self.model)

    def encoded_for(self, candidate):
        if self.data.task == "regression":
            return None

        return self.shared(("encoded", candidate.name), lambda: encode(self.data, candidate.predictions))

    def settings_of(self, name: str):
        """Another analysis's settings as this run's config sets them and that analysis checks them against the data
        (e.g. the slices section's columns and bins, for the sections that break down the same way)."""
        def compute():
            cls = registry.get(name)
            settings = registry.settings_for(name, cls, (self.cfg.get("analyses") or {}).get(name))
            cls().check(self.data, settings)
            return settings

        return self.shared(("settings", name), compute)

    def shared(self, key: Hashable, compute: Callable):
        """compute() once per key. The key names everything the result depends on (the candidate, the rows, the
        settings), so that which section asks first never changes what any section gets."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class Status(str, Enum):
    """A section's status; its value is the word metrics.json and the report show."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # its needs are not met (the reason is its error)
    CUT = "cut"  # past budget.max_seconds

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass
class Outcome:
    """One analysis's run: its result and report items, or why it was skipped or failed."""

    name: str
    analysis: Any
    result: Any = None
    items: list = field(default_factory=list)
    status: Status = Status.OK
    error: Optional[str] = None
    seconds: Optional[float] = 0.0

    def fail(self, exc: Exception) -> None:
        self.status, self.error, self.items = Status.FAILED, f"{type(exc).__name__}: {exc}", []


HEARTBEAT = 10.0  # seconds between "still running" lines of a long step


@dataclass
class Step:
    outcome: str = ""  # what the step's last progress line says instead of its duration


class Timer:
    """Seconds per step of a run, and when each started (seconds after the run began)."""

    def __init__(self):
        self.origin = time.perf_counter()
        self.seconds: dict = {}
        self.starts: dict = {}

    @contextmanager
    def step(self, name: str):
        """Times the block, and logs its start and its end: a progress line for every step of a run, one every
        HEARTBEAT seconds while a long step runs, and at its end its duration or, when the block set
        `step.outcome` (e.g. "skipped: why"), that."""
        start = time.perf_counter()
        self.starts[name] = start - self.origin
        log.info("step %s ...", name)
        state = Step()
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT):
                log.info("step %s: still running (%.0f s)", name, time.perf_counter() - start)

        threading.Thread(target=beat, name="postreport-progress", daemon=True).start()
        try:
            yield state
        finally:
            stop.set()
            self.seconds[name] = time.perf_counter() - start
            if state.outcome:
                log.info("step %s: %s", name, state.outcome)
            else:
                log.info("step %s: %.1f s", name, self.seconds[name])

    def elapsed(self) -> float:
        return time.perf_counter() - self.origin

    def clear(self) -> None:
        self.seconds.clear()
        self.starts.clear()
