"""`run(cfg)`: the whole flow, config -> data -> model -> predictions -> analyses -> report -> files.

The command line is a thin Hydra wrapper around this function; tests call it directly with
Hydra's compose API.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from . import registry
from .config import FORMATS
from .errors import UserError
from .io import write_atomic

log = logging.getLogger("postreport")
QUIET_LOGGERS = {"weasyprint": logging.ERROR, "fontTools": logging.WARNING, "matplotlib": logging.WARNING}
FILENAMES = {"html": "report.html", "pdf": "report.pdf", "json": "metrics.json"}


@dataclass
class RunContext:
    """What every analysis may read. Predictions are computed once, here, and shared."""

    cfg: DictConfig
    data: Any  # postreport.data.Dataset
    model: Any  # postreport.models.Candidate
    pred: Any  # postreport.predictions.Predictions
    seed: int
    n_jobs: int
    candidates: list = field(default_factory=list)  # every model the run has: as configured, tuned, ...
    predictions: dict = field(default_factory=dict)  # candidate name -> Predictions, computed once each
    tuning: Any = None  # postreport.tuning.TuningOutcome when tuning ran
    tuning_skipped: Optional[str] = None  # why it did not
    notes: list = field(default_factory=list)  # about the run as a whole, shown in the summary
    ensemble_error: Optional[str] = None
    cache: dict = field(default_factory=dict)

    def shared(self, key: str, compute):
        """Work several analyses need (bootstrap resamples, encodings) is done once and kept here."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    @property
    def encoded(self):
        """Classification labels as indices, probabilities in the data's label order (None for regression)."""
        if self.data.task == "regression":
            return None
        from .evaluation import encode

        return self.shared("encoded", lambda: encode(self.data, self.pred))


@dataclass
class Outcome:
    """One analysis's run: its result, or why it was skipped or failed."""

    name: str
    analysis: Any
    result: Any = None
    status: str = "ok"
    error: Optional[str] = None
    seconds: float = 0.0


@dataclass
class RunResult:
    exit_code: int
    output_dir: Path
    files: dict  # format -> path
    metrics: dict
    outcomes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # seconds per step


def run_timestamp() -> datetime:
    """The one timestamp of a run (every date in its files); SOURCE_DATE_EPOCH fixes it for reproducible reports."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def run(cfg: DictConfig, output_dir: str | Path, overrides: Optional[list] = None) -> RunResult:
    started = run_timestamp()
    clock = time.perf_counter()
    output_dir = Path(output_dir)
    quiet_libraries()
    analyses = validate(cfg)
    from .report.style import template_dirs

    templates = template_dirs(cfg.report.template_dir)  # a broken user template stops the run here, before work
    warm = None
    if "pdf" in cfg.report.formats:
        from .report.render_pdf import warm_up

        warm = warm_up()
    timings: dict = {}  # step -> seconds
    starts: dict = {}  # step -> seconds after the run started
    _timed.clock, _timed.starts = clock, starts

    from .data import load_dataset
    from .models import build_candidate
    from .predictions import predict

    with _timed(timings, "load data"):
        data = load_dataset(cfg.data, cfg.seed)
    log.info("data %s: %s task, %d train / %d test rows, %d features", data.name, data.task, data.n_train,
             data.n_test, len(data.features))
    for cls, settings in analyses.values():
        check = getattr(cls, "check", None)
        if check is not None:
            check(cls(), data, settings)
    with _timed(timings, "fit or load model"):
        model = build_candidate(cfg.model, data, cfg.seed)
    with _timed(timings, "predict"):
        pred = predict(model, data)
    ctx = RunContext(cfg=cfg, data=data, model=model, pred=pred, seed=cfg.seed, n_jobs=cfg.n_jobs,
                     candidates=[model], predictions={model.name: pred})
    add_tuned(ctx, timings)
    add_ensembles(ctx, timings)
    if cfg.report.subject == "tuned":
        if ctx.tuning is None:
            raise UserError(f"report.subject=tuned, but there is no tuned model: {ctx.tuning_skipped}")
        ctx.model = ctx.tuning.candidate
        ctx.pred = ctx.predictions[ctx.model.name]

    if not cfg.report.timings:
        drop_model_timings(ctx)
    outcomes = []
    for name, (cls, settings) in analyses.items():
        starts[f"analysis: {name}"] = time.perf_counter() - clock
        outcomes.append(run_analysis(name, cls, settings, ctx))
        timings[f"analysis: {name}"] = outcomes[-1].seconds

    from .report.build import build_report
    from .report.render_json import dumps, metrics_document

    if not cfg.report.timings:
        for o in outcomes:
            o.seconds = None
        timings.clear()
    document = metrics_document(ctx, outcomes)
    payloads: dict = {}
    if "json" in cfg.report.formats:
        payloads["json"] = dumps(document)
    if "html" in cfg.report.formats or "pdf" in cfg.report.formats:
        provenance = {"started": started, "timings": timings, "starts": starts, "overrides": overrides or [],
                      "elapsed": time.perf_counter() - clock if cfg.report.timings else None}
        report = build_report(ctx, outcomes, provenance)
        from .report.render_html import render_html

        figures: dict = {}
        if "html" in cfg.report.formats:
            with _timed(timings, "render html"):
                payloads["html"] = render_html(report, for_print=False, figures=figures, template_dirs=templates)
        if "pdf" in cfg.report.formats:
            from .report.render_pdf import render_pdf

            if warm is not None:
                warm.join()
            with _timed(timings, "render pdf"):
                html = render_html(report, for_print=True, figures=figures, template_dirs=templates)
                payloads["pdf"] = render_pdf(html, report, [
                    ("metrics.json", dumps(document), "Metrics of this report (JSON)"),
                    ("config.yaml", OmegaConf.to_yaml(cfg), "The composed Hydra configuration")])

    files = {}
    for fmt in FORMATS:  # written last and atomically: a failure above leaves no half-written report
        if fmt in payloads:
            files[fmt] = output_dir / FILENAMES[fmt]
            write_atomic(files[fmt], payloads[fmt])
    failed = [o.name for o in outcomes if o.status == "failed"]
    for fmt, path in files.items():
        log.info("wrote %s", path)
    if failed:
        log.warning("sections failed: %s (see the report)", ", ".join(failed))
    return RunResult(exit_code=1 if failed else 0, output_dir=output_dir, files=files,
                     metrics=document, outcomes=outcomes, timings=timings)


def drop_model_timings(ctx: RunContext) -> None:
    """report.timings=false: no durations anywhere, so that the same config gives the same files."""
    for c in ctx.candidates:
        c.fit_seconds = None
    for p in ctx.predictions.values():
        p.seconds = None
    if ctx.tuning is not None:
        ctx.tuning.seconds = None
        for t in ctx.tuning.trials:
            t["seconds"] = None


def quiet_libraries() -> None:
    for name, level in QUIET_LOGGERS.items():  # their INFO lines are noise in a report run's log
        logging.getLogger(name).setLevel(level)


def add_tuned(ctx: RunContext, timings: dict) -> None:
    """Tune the configured model when asked and possible; the tuned model joins the candidates."""
    from .predictions import predict

    cfg, data = ctx.cfg, ctx.data
    if "tuning" not in cfg.report.analyses and cfg.report.subject != "tuned":
        ctx.tuning_skipped = "No section uses a tuned model."  # nothing asks for it: no search is run
    elif not cfg.tuning.enabled:
        ctx.tuning_skipped = "Tuning is off (tuning=none)."
    elif data.X_train is None or ctx.model.estimator is None or cfg.model.path:
        ctx.tuning_skipped = "There is no training data to tune on (a model from a file, or logged predictions)."
    else:
        from .tuning import tune

        with _timed(timings, "tuning"):
            ctx.tuning = tune(cfg.tuning, cfg.model, data, ctx.seed, ctx.n_jobs)
        tuned = ctx.tuning.candidate
        ctx.candidates.append(tuned)
        ctx.predictions[tuned.name] = predict(tuned, data)


def add_ensembles(ctx: RunContext, timings: dict) -> None:
    """Fit the ensembles the config declares when the leaderboard will show them (and there is training data)."""
    cfg = ctx.cfg
    if not cfg.ensemble.enabled or "leaderboard" not in cfg.report.analyses:
        return
    if ctx.data.X_train is None or ctx.model.estimator is None:
        ctx.notes.append("Ensembles need training data; none were built.")
        return
    from . import ensembles

    with _timed(timings, "ensembles"):
        try:
            ensembles.build(cfg.ensemble, ctx, _user_config_dirs())
        except UserError:
            raise
        except Exception as exc:  # shown as the leaderboard section's failure; the rest of the report renders
            log.error("ensembles failed: %s\n%s", exc, traceback.format_exc())
            ctx.ensemble_error = f"building the ensembles failed: {type(exc).__name__}: {exc}"


def _user_config_dirs() -> tuple:
    """Folders given with --config-dir, searched before the built-in configs for ensemble members."""
    try:
        from hydra.core.hydra_config import HydraConfig

        sources = HydraConfig.get().runtime.config_sources
    except ValueError:  # not run through Hydra's app (tests compose configs directly)
        return ()
    return tuple(s.path for s in sources if s.provider == "command-line" and s.schema == "file")


def validate(cfg: DictConfig) -> dict:
    """Everything that can be checked before any work: missing values, formats, analyses and their settings."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise UserError(f"missing required value(s): {', '.join(missing)} (set them on the command line, "
                        f"e.g. {missing[0]}=...)")
    if cfg.report.subject not in ("model", "tuned"):
        raise UserError(f"report.subject={cfg.report.subject!r} is not valid; valid: model, tuned")
    if cfg.tuning.enabled and not cfg.model.path and cfg.data.source != "predictions":
        from .tuning import check

        check(cfg.tuning, cfg.model)
    if cfg.ensemble.enabled:
        from . import ensembles

        ensembles.check(cfg.ensemble, _user_config_dirs())
    bad = [f for f in cfg.report.formats if f not in FORMATS]
    if bad or not cfg.report.formats:
        raise UserError(f"report.formats={list(cfg.report.formats)} is not valid; choose from {list(FORMATS)}")
    names = list(cfg.report.analyses)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"report.analyses lists {duplicates} more than once")
    unused = sorted(set(cfg.analyses) - set(names) - set(registry.available()))
    if unused:
        raise UserError(f"analyses.{unused[0]} configures an analysis that does not exist; valid: "
                        f"{', '.join(sorted(registry.available()))}")
    chosen = {}
    for name in names:
        cls = registry.get(name)
        chosen[name] = (cls, _settings(name, cls, cfg.analyses.get(name)))
    return chosen


def _settings(name: str, cls, node) -> Any:
    schema = OmegaConf.structured(getattr(cls, "Settings"))
    try:
        merged = OmegaConf.merge(schema, node or {})
    except Exception as exc:  # omegaconf's ValidationError / ConfigKeyError name the key
        raise UserError(f"analyses.{name}: {exc}".split("\n")[0] + f"; valid keys: {list(schema.keys())}") from None
    return OmegaConf.to_object(merged)


def run_analysis(name: str, cls, settings, ctx: RunContext) -> Outcome:
    analysis = cls()
    outcome = Outcome(name=name, analysis=analysis)
    start = time.perf_counter()
    try:
        reason = analysis.skip_reason(ctx)
        if reason:
            outcome.status, outcome.error = "skipped", reason
        else:
            outcome.result = analysis.compute(ctx, settings)
    except UserError:
        raise  # the config does not fit the data: exit 2, nothing written
    except Exception as exc:  # one failing analysis becomes a failed section; the report still renders
        outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
        log.error("analysis %s failed: %s\n%s", name, outcome.error, traceback.format_exc())
    outcome.seconds = time.perf_counter() - start
    return outcome


class _timed:
    clock: float = 0.0  # the run's start (perf_counter) and where step start offsets go; set by run()
    starts: dict = {}

    def __init__(self, timings: dict, name: str):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.start = time.perf_counter()
        self.starts[self.name] = self.start - self.clock

    def __exit__(self, *exc):
        self.timings[self.name] = time.perf_counter() - self.start
