"""`run(cfg)`: the whole flow, config -> data -> candidates -> predictions -> analyses -> report -> files.

The command line is a thin Hydra wrapper around this function; tests call it directly with Hydra's compose API.
Every section's status is settled (computed, its items built, its figures drawn) before any format is produced,
so the HTML, the PDF and metrics.json always agree.
"""
from __future__ import annotations

import hashlib
import html
import inspect
import logging
import os
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
from omegaconf import DictConfig, OmegaConf

from postreport.models import ensembles
from postreport.stats import metrics
from postreport import registry
from postreport.run.atomic import write_all
from postreport.run.baseline import in_memory_baseline, load, predictions_parquet
from postreport.config import FORMATS
from postreport.run.context import Outcome, RunContext, Status, Timer
from postreport.data import load_dataset
from postreport.data.run_files import METRICS, OUTPUTS
from postreport.planning.deadline import Cut, Deadline
from postreport.errors import UserError, at_least, strictly_between
from postreport.run.gates import blocking, check_task, evaluate, parse_config, unevaluated_policy
from postreport.stats.metrics import candidate_metrics
from postreport.models.build import (Candidate, build_candidate, final_step, given_name, load_candidate,
                                     make_estimator, shown_params)
from postreport.models.cross_validation import cross_validate
from postreport.data.held import held, is_held
from postreport.models.out_of_fold import out_of_fold_outputs
from postreport.planning.plan import Plan, Shape, make_plan, measured, profiled, with_threads
from postreport.run.predictions import predict, probabilities_checked
from postreport.report import render_card, render_gates, style
from postreport.report.build import build_report
from postreport.report.figure_pool import FigurePool
from postreport.report.format import fmt_number
from postreport.report.model import Estimate
from postreport.report.render_html import render_html
from postreport.report.render_json import dumps, metrics_document
from postreport.report.render_pdf import render_pdf, warm_up
from postreport.run.folder import claim
from postreport.analyses.base import gate_values, unmet
from postreport.planning.threads import quiet_spinning
from postreport.integrations.tracking import check as check_tracking
from postreport.integrations.tracking import log_run
from postreport.models.tuning import check, given_builder, given_space, tune

log = logging.getLogger("postreport")
QUIET_LOGGERS = {"weasyprint": logging.ERROR, "fontTools": logging.WARNING, "matplotlib": logging.WARNING}
EXIT_SECTION_FAILED, EXIT_GATE_FAILED = 1, 3  # 3 wins: a failed gate is the verdict CI acts on
VISUAL = ("html", "pdf")


@dataclass
class RunResult:
    exit_code: int
    output_dir: Path
    files: dict  # format -> path
    metrics: dict
    outcomes: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)  # seconds per step
    dry_run: bool = False
    kept: dict = field(default_factory=dict)  # file name -> bytes, when the folder was temporary (evaluate)

    def content(self, fmt: str) -> Optional[bytes]:
        """A format's bytes (html, pdf, json, ...): from the folder, or as kept when it was removed."""
        name = OUTPUTS[fmt]
        if name in self.kept:
            return self.kept[name]
        path = self.files.get(fmt)
        return Path(path).read_bytes() if path is not None and Path(path).is_file() else None

    @property
    def html(self) -> Optional[str]:
        data = self.content("html")
        return None if data is None else data.decode("utf-8")

    @property
    def pdf(self) -> Optional[bytes]:
        return self.content("pdf")

    def keep(self) -> None:
        """Hold every file of the folder in memory (the folder is about to be removed): `save` writes them."""
        folder = Path(self.output_dir)
        self.kept = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}

    def save(self, folder) -> dict:
        """Write the run's files into `folder` (made if needed): {format: path}."""
        target = Path(folder).expanduser()
        target.mkdir(parents=True, exist_ok=True)
        names = self.kept or {Path(p).name: Path(p).read_bytes() for p in self.files.values()}
        write_all({target / name: data for name, data in names.items()})
        by_name = {OUTPUTS[f]: f for f in OUTPUTS}
        return {by_name.get(name, name): target / name for name in names}

    def closing_line(self) -> str:
        """One line for the console: the outcome, the headline metrics with intervals, and where the report is."""
        if self.dry_run:
            return (f"postreport: dry run (exit 0): the plan above, estimated "
                    f"{self.metrics['plan']['estimated_seconds']:.0f} s on the reference machine; nothing fitted "
                    "or written")
        failed = [o.name for o in self.outcomes if o.status == Status.FAILED]
        cut = [o.name for o in self.outcomes if o.status == Status.CUT]
        gates = [g.get("name") + ("" if g.get("status") == "fail" else " (not evaluated)")
                 for g in self.metrics.get("gates") or []
                 if g.get("status") == "fail" or g.get("status") == "not evaluable"
                 and self.metrics.get("gates_unevaluated") == "fail"]
        outcome = {0: "report written", EXIT_SECTION_FAILED: "report written; sections failed: " + ", ".join(failed),
                   EXIT_GATE_FAILED: "report written; gates failed: " + ", ".join(map(str, gates))}.get(
            self.exit_code, f"exit {self.exit_code}")
        if self.exit_code == EXIT_SECTION_FAILED and not failed:
            outcome = "report written; it could not be logged to the tracker"
        if cut:
            outcome += "; sections cut by budget.max_seconds: " + ", ".join(cut)
        task = self.metrics.get("task")
        results = (self.metrics.get("results") or {}).get("metrics") or {}
        flags = results.get("ci_method") or {}, results.get("ci_unreliable") or []
        heads = [f"{metrics.label(k)} "
                 + fmt_number(Estimate(results.get(k), results.get(f"{k}_ci"), metrics.interval_flag(*flags, k)))
                 for k in (metrics.TASKS[task].headline if task in metrics.TASKS else ()) if k in results]
        where = self.files.get("html") or self.files.get("pdf") or self.files.get("json") or self.output_dir
        return f"postreport: {outcome} (exit {self.exit_code}); " + ("; ".join(heads) + "; " if heads else "") + \
            f"report: {where}"

    def _repr_html_(self) -> str:
        """In Jupyter: the report itself (report.html in an iframe), else the headline metrics."""
        page = self.html
        if page is not None:
            return (f'<iframe srcdoc="{html.escape(page, quote=True)}" '
                    'style="width:100%;height:760px;border:1px solid #d9dee7" sandbox="allow-scripts"></iframe>')
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v if v is None else f'{v:.4g}'}</td></tr>"
                       for k, v in (self.metrics.get("metrics") or {}).items())
        return (f"<p>postreport run in {html.escape(str(self.output_dir))}: exit {self.exit_code}</p>"
                f"<table>{rows}</table>")


@dataclass
class Checked:
    """What validation gives: the analyses with their settings, and the report's look, checked before any work."""

    analyses: dict  # name -> (analysis class, settings)
    gates: list  # postreport.run.gates.Gate
    template_dirs: tuple
    logo: Optional[str]
    theme: dict
    unevaluated: str = "warn"  # gates_unevaluated: fail | warn (postreport.run.gates.unevaluated_policy)

    def uses(self, work: str) -> bool:
        """Whether a section of the report shows this work of the preparation (an analysis's `uses`)."""
        return any(work in getattr(cls, "uses", ()) for cls, _ in self.analyses.values())


def run_timestamp() -> datetime:
    """The one timestamp of a run (every date in its files); SOURCE_DATE_EPOCH fixes it for reproducible reports."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def run(cfg: DictConfig, output_dir: str | Path, overrides: Optional[list] = None) -> RunResult:
    started, timer = run_timestamp(), Timer()
    quiet_spinning()
    quiet_libraries()
    cfg = profiled(cfg, overrides)  # the run's settings; the caller's config is not changed
    checked = validate(cfg)
    if cfg.dry_run:
        return dry_run(cfg, checked, Path(output_dir))
    check_outputs(Path(output_dir), cfg.compare.baseline)

    folder = claim(Path(output_dir), OUTPUTS.values())
    try:
        pool = FigurePool(enabled=any(f in cfg.report.formats for f in VISUAL),  # forked before any thread starts
                          interactive=cfg.report.interactive and "html" in cfg.report.formats)
        try:
            return _run(cfg, checked, output_dir, overrides, started, timer, pool)
        finally:
            pool.close()
            release_workers()
    finally:
        folder.release()


def release_workers() -> None:
    """Stop joblib's worker processes (cross-validation folds on large data). Left alone, they idle for 300 s after
    the run, holding its stdout and stderr open: a pipe or a CI step reading the command's output waited that long
    for it to end."""
    reusable = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(reusable, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


def _run(cfg, checked, output_dir, overrides, started, timer, pool) -> RunResult:
    with Deadline(cfg.budget.max_seconds) as deadline:  # the safety net: what passes it is cut, never shrunk
        ctx = prepare(cfg, checked, timer, deadline)
        cfg = ctx.cfg  # with the plan's threads
        warm = _warm_pdf(cfg)  # WeasyPrint's start-up overlaps the analyses
        if not cfg.report.timings:
            drop_model_timings(ctx)  # before the sections show them
        outcomes = []
        try:
            for name, (cls, settings) in checked.analyses.items():
                outcomes.append(run_analysis(name, cls, settings, ctx, timer, deadline))
                if outcomes[-1].status == Status.OK and not getattr(cls, "reviews", False):
                    pool.submit(outcomes[-1].items)  # drawn while the next sections compute
            for outcome in outcomes:
                if outcome.status == Status.OK and getattr(outcome.analysis, "reviews", False):
                    review(outcome, outcomes, ctx, timer)
                    if outcome.status == Status.OK:
                        pool.submit(outcome.items)
        finally:
            if ctx.data.warehouse is not None:  # every section's pass over the data is done
                ctx.data.warehouse.close()
    gate_results = evaluate_gates(checked.gates, ctx, outcomes)
    figures: dict = {}  # figure item -> data URI, drawn once for the HTML and the PDF
    plots: Optional[dict] = None  # figure item -> Plotly JSON (report.interactive)
    if any(f in cfg.report.formats for f in VISUAL):
        with timer.step("draw figures"):
            figures, plots = pool.settle(outcomes)
    if not cfg.report.timings:
        for o in outcomes:
            o.seconds = None
        timer.clear()
    payloads, document = render(cfg, ctx, checked, outcomes, figures, timer, warm, plots=plots,
                                provenance={"started": started, "overrides": overrides or []}, gates=gate_results)
    files = write(Path(output_dir), payloads)
    if cfg.report.timings:
        over_estimate(ctx.plan, timer.seconds)
    failed = [o.name for o in outcomes if o.status == Status.FAILED]
    if failed:
        log.warning("sections failed: %s (see the report)", ", ".join(failed))
    failed_gates = blocking(gate_results, checked.unevaluated)
    for g in gate_results:
        (log.warning if g.status != "pass" else log.info)("gate %s: %s", g.status, g.message)
    exit_code = EXIT_GATE_FAILED if failed_gates else EXIT_SECTION_FAILED if failed else 0
    if cfg.tracking.kind != "none":
        exit_code = track(cfg, Path(output_dir), document, files, exit_code, overrides or [])
    return RunResult(exit_code=exit_code, output_dir=Path(output_dir), files=files, metrics=document,
                     outcomes=outcomes, timings=timer.seconds)


SLOWER = 1.5  # the closing lines name a step that took more than this times its estimate
SLOWER_BY = 1.0  # and at least this many seconds more (a 0.05 s section taking 0.1 s is not news)


def over_estimate(plan: Plan, timings: dict) -> None:
    """The console's closing lines: every step that took more than SLOWER times its planned seconds (this machine
    may be slower than the reference one, or the cost model wrong for this data: bench/bench_plan.py)."""
    measured(plan, timings)  # now with the rendering
    for step in plan.steps:
        took = step.measured_seconds
        if step.runs and took is not None and took > SLOWER * step.seconds and took - step.seconds >= SLOWER_BY:
            log.info("plan: %s took %.1f s, %.1fx its estimate of %.1f s on the reference machine", step.name, took,
                     took / max(step.seconds, 1e-9), step.seconds)


def track(cfg, output_dir: Path, document: dict, files: dict, exit_code: int, overrides: list) -> int:
    """Log the written run to the tracker. A tracker that cannot be reached loses no file: exit 1 (the report
    is written; a step after it failed), unless a gate already failed."""
    try:
        log_run(cfg, output_dir, document, files, exit_code, overrides)
    except Exception as exc:
        log.error("tracking: the run could not be logged to MLflow at %s: %s (the report files are written)",
                  cfg.tracking.uri or "MLflow's default store", exc)
        return exit_code or EXIT_SECTION_FAILED
    return exit_code


def evaluate_gates(gates: list, ctx: RunContext, outcomes: list) -> list:
    """Each gate on the subject model's metrics (and the comparison's differences), after every section ran."""
    if not gates:
        return []

    values, intervals, why = {}, {}, {}
    try:
        subject = candidate_metrics(ctx, ctx.model)
        values.update(subject.values)
        intervals.update({k: v for k, v in subject.ci.items() if v is not None})
        for name, value in subject.values.items():
            if value is None:
                why[name] = f"{name} is undefined for this model and data" + (
                    f" ({subject.notes[0]})" if subject.notes else "")
    except Exception as exc:  # the metrics section shows the same failure
        for g in gates:
            why[g.name] = f"the metrics could not be computed: {exc}"
    for o in outcomes:  # the other sections' values (comparison differences, fairness summaries, plugins' own)
        if o.status == Status.OK:
            for name, (value, ci) in gate_values(o.result).items():
                values[name] = value
                if ci is not None:
                    intervals[name] = ci
        for g in gates:
            if g.name not in values and o.analysis.offers_gate(g.name):
                why.setdefault(g.name, f"the {o.analysis.title.lower()} section {o.status}: "
                                       f"{o.error or o.analysis.gate_missing}")
    ran = {o.name for o in outcomes}
    for g in gates:
        if g.name not in values and g.name not in why:
            owner = next((name for name, cls in registry.load_all().items()
                          if name not in ran and cls().offers_gate(g.name)), None)
            if owner:
                why[g.name] = f"the {owner} section is not in report.analyses"
    return evaluate(gates, values, intervals, why)


def _warm_pdf(cfg):
    if "pdf" not in cfg.report.formats:
        return None

    return warm_up()


def prepare(cfg: DictConfig, checked: Checked, timer: Timer, deadline: Optional[Deadline] = None) -> RunContext:
    """Data, the candidates (the configured model, tuned, ensembles) and their test predictions, once each."""
    with timer.step("load data"):
        data = load_dataset(cfg.data, cfg.seed, whole=cfg.cv is not None)

    check_task(checked.gates, data.task)
    baseline = None
    if cfg.compare.baseline:
        if data.weights is not None:
            raise UserError(f"compare.baseline pairs the two models' predictions row by row, and the "
                            f"{data.n_test:,} logged predictions were aggregated by {data.aggregation.engine} "
                            "(data.engine): compare with data.engine=pandas on the files both models predicted")

        with timer.step("load baseline"):
            baseline = load(cfg.compare, data)
    log.info("data %s: %s task, %d train / %d test rows, %d features", data.name, data.task, data.n_train,
             data.n_test, len(data.features))
    plan = plan_run(cfg, checked, data)
    cfg = with_threads(cfg, plan.threads)
    if cfg.cv is not None:
        return cross_validated(cfg, data, plan, timer, baseline)
    with timer.step("fit or load model"):
        model = build_candidate(cfg.model, data, cfg.seed)
    ctx = RunContext(cfg=cfg, data=data, model=model, seed=cfg.seed, n_jobs=cfg.n_jobs, candidates=[model],
                     baseline=baseline, plan=plan)
    with timer.step("predict"):
        model.predictions = predict(model, data)
    deadline = deadline or Deadline(None)
    add_tuned(ctx, checked, timer, deadline)
    if plan.oof_rows:  # once, before stacking and the sections that share them
        try:
            with timer.step("out-of-fold"), deadline.cuttable(planned_seconds(plan, "out-of-fold")):
                out_of_fold_outputs(ctx)
        except Cut as cut:
            log.warning("out-of-fold predictions cut: %s", cut)
    add_ensembles(ctx, checked, timer, deadline)
    if cfg.compare.models:
        with timer.step("load compared models"):
            compared = [load_compared(cfg, path, data) for path in cfg.compare.models]
        ctx.candidates += compared
    pending = [c for c in ctx.candidates if c.predictions is None]
    if pending:
        with timer.step(f"predict ({len(pending)} more candidates)"):
            for c in pending:  # members first (ctx.candidates' order), so that an ensemble reads their predictions
                with ensembles.members_predicted(c, ctx.candidates, data.X_test):
                    c.predictions = predict(c, data)
                c.predictions.seconds += ensembles.members_seconds(c, ctx.candidates)
    if cfg.compare.models and ctx.baseline is None:
        ctx.baseline = in_memory_baseline(compared[0], data)
    if cfg.report.subject == "tuned":
        if ctx.tuning is None:
            raise UserError(f"report.subject=tuned, but there is no tuned model: {ctx.tuning_skipped}")
        ctx.model = ctx.tuning.candidate
    return ctx


def cross_validated(cfg, data, plan: Plan, timer: Timer, baseline) -> RunContext:
    """cv: the model (and compare.models) fitted per fold; every candidate's predictions are its out-of-fold ones,
    and no single model is queried afterwards (the sections that query one say why)."""
    if data.logged is not None or data.image_shape:
        raise UserError("cv cross-validates a model on a table's rows; it does not apply to "
                        + ("logged predictions (data=predictions)" if data.logged is not None else "image data"))
    def to_refit(path: str, role: str) -> tuple:
        """A model to clone per fold: held in memory (fitted or not: only its parameters are used), or a file's."""
        if is_held(path):
            estimator = held(path, "model.path" if role == "model" else "compare.models")
            cls = type(estimator)
            return given_name(path, estimator), estimator, f"{cls.__module__}.{cls.__qualname__}", \
                shown_params(estimator), role
        given = load_compared(cfg, path, data)
        return given.name, given.estimator, given.estimator_class, given.params, role

    if cfg.model.path:
        subjects = [to_refit(cfg.model.path, "model")]
    else:
        estimator, target, params = make_estimator(cfg.model, data.task, cfg.seed)
        subjects = [(cfg.model.name, estimator, target, params, "model")]
    subjects += [to_refit(path, "compared") for path in cfg.compare.models]
    names = [s[0] for s in subjects]
    if len(set(names)) < len(names):
        raise UserError(f"cv: two models share a name ({names}); name each once")
    with timer.step("cross-validate"):
        result, predictions = cross_validate({s[0]: s[1] for s in subjects}, data, cfg.cv, cfg.seed, cfg.n_jobs)
    if len(result.covered) < data.n_test:  # rows no fold tests (TimeSeriesSplit's first): left out, with a note
        left = data.n_test - len(result.covered)
        data.X_test = data.X_test.iloc[result.covered].reset_index(drop=True)
        data.y_test = data.y_test.iloc[result.covered].reset_index(drop=True)
        if data.test_keys is not None:
            data.test_keys = np.asarray(data.test_keys)[result.covered]
        data.notes.append(f"{left:,} of the {left + len(result.covered):,} rows are in no test fold of "
                          f"{result.splitter} (they only ever train): the report reads the {len(result.covered):,} "
                          "rows that have an out-of-fold prediction.")
    candidates = []
    for name, estimator, target, params, role in subjects:
        c = Candidate(name=name, estimator=None, origin=f"cross-validated: {result.k} folds, {result.splitter}",
                      estimator_class=target, params=params, role=role, predictions=predictions[name],
                      fit_seconds=sum(f.fit_seconds for f in result.folds[name]))
        if c.predictions.proba is not None:
            c.predictions.probabilities = probabilities_checked(c, c.predictions.proba)
        candidates.append(c)
    ctx = RunContext(cfg=cfg, data=data, model=candidates[0], seed=cfg.seed, n_jobs=cfg.n_jobs,
                     candidates=candidates, plan=plan,
                     baseline=baseline or (in_memory_baseline(candidates[1], data) if len(candidates) > 1 else None))
    ctx.cross_validation = result
    ctx.tuning_skipped = "a cross-validation run: the folds' fits are the models (tuning fits on training rows)"
    ctx.notes.append(f"Cross-validation ({result.splitter}) of {data.n_test:,} rows: every section reads the "
                     "out-of-fold predictions, each row predicted by the fold's model that did not see it. Their "
                     "intervals resample rows with the fits held fixed; the cross-validation section's corrected "
                     "t intervals also carry the spread between the folds' fits.")
    return ctx


def load_compared(cfg, path: str, data):
    """A model at `path` (one of compare.models, or model.path itself) loaded as model.path is, with its own checks
    against the data; role "compared"."""
    candidate = load_candidate(OmegaConf.merge(cfg.model, {"path": path}), data)  # model.trust and ONNX's keys
    candidate.role = "compared"
    return candidate


def plan_run(cfg, checked: Checked, data) -> Plan:
    """Check the analyses' settings against the data, then plan the run from its shape (postreport.planning.plan)."""
    for cls, settings in checked.analyses.values():
        check = getattr(cls, "check", None)
        if check is not None:
            check(cls(), data, settings)
    check_folds(cfg, checked, data)
    plan = make_plan(cfg, Shape.of(data, cfg), checked.analyses, _user_config_dirs())
    log.info("plan: %.0f s estimated on the reference machine, model fits with %d thread(s)", plan.seconds,
             plan.threads)
    for step in plan.steps:
        if step.why:
            log.info("plan: %s: %s", step.name, step.why)
    return plan


def dry_run(cfg, checked: Checked, output_dir: Path) -> RunResult:
    """Compose, validate, read the data, plan, print the plan; nothing is fitted or written."""
    data = load_dataset(cfg.data, cfg.seed, whole=cfg.cv is not None)
    check_task(checked.gates, data.task)
    plan = plan_run(cfg, checked, data)
    print("\n".join(plan.lines()), flush=True)
    return RunResult(exit_code=0, output_dir=output_dir, files={}, metrics={"plan": plan.to_json()}, dry_run=True)


def check_folds(cfg, checked: Checked, data) -> None:
    """Cross-validation (tuning, stacking) needs as many training rows of every class as it has folds."""
    if data.X_train is None or data.task == "regression":
        return
    smallest = int(data.y_train.value_counts().min())
    uses = {"tuning.cv": cfg.tuning.cv if cfg.tuning.enabled and checked.uses("tuning") else 0,
            "ensemble.stacking.cv": cfg.ensemble.stacking.cv if cfg.ensemble.enabled and "stacking" in
            cfg.ensemble.methods and checked.uses("ensembles") else 0}
    for key, folds in uses.items():
        if folds > smallest:
            raise UserError(f"{key}={folds} folds need {folds} training rows of every class; the rarest class has "
                            f"{smallest}: lower {key}, or turn it off ({key.split('.')[0]}=none)")


def run_analysis(name: str, cls, settings, ctx: RunContext, timer: Timer,
                 deadline: Optional[Deadline] = None) -> Outcome:
    """Compute, then build the report items: a failure in either is the section's failure, not the run's; past
    budget.max_seconds the section is cut."""
    analysis = cls()
    outcome = Outcome(name=name, analysis=analysis)
    with timer.step(f"analysis: {name}") as step:
        try:
            reason = unmet(analysis, ctx) or skip_reason(analysis, ctx, settings) or aggregated_skip(analysis, ctx.data)
            if reason:
                outcome.status, outcome.error = Status.SKIPPED, reason
                step.outcome = f"skipped ({reason})"
            elif getattr(analysis, "shows_prepared", False):  # its work is done (cutting it would throw it away): shown
                outcome.result = analysis.compute(ctx, settings)
                outcome.items = list(analysis.items(outcome.result))
            else:
                with (deadline or Deadline(None)).cuttable():
                    outcome.result = analysis.compute(ctx, settings)
                    outcome.items = list(analysis.items(outcome.result))
        except Cut as cut:
            outcome.status, outcome.error, outcome.result, outcome.items = Status.CUT, str(cut), None, []
            step.outcome = f"cut ({cut})"
        except UserError:
            raise  # the config does not fit the data: exit 2, nothing written
        except Exception as exc:  # one failing analysis becomes a failed section; the report still renders
            outcome.fail(exc)
            step.outcome = f"failed ({outcome.error})"
            log.error("analysis %s failed: %s\n%s", name, outcome.error, traceback.format_exc())
    outcome.seconds = timer.seconds[f"analysis: {name}"]
    return outcome


def review(outcome: Outcome, outcomes: list, ctx: RunContext, timer: Timer) -> None:
    """The section reads what the others computed, then builds its items again; a failure is its own (its seconds
    added to the section's)."""
    others = {o.name: o.result for o in outcomes if o.status == Status.OK and o is not outcome}
    with timer.step(f"review: {outcome.name}") as step:
        try:
            outcome.analysis.review(outcome.result, others, ctx)
            outcome.items = list(outcome.analysis.items(outcome.result))
        except Exception as exc:
            outcome.fail(exc)
            step.outcome = f"failed ({outcome.error})"
            log.error("analysis %s failed: %s\n%s", outcome.name, outcome.error, traceback.format_exc())
    outcome.seconds += timer.seconds[f"review: {outcome.name}"]


def skip_reason(analysis, ctx, settings) -> Optional[str]:
    """The analysis's own reason to be skipped, given its settings (a plugin written for `skip_reason(ctx)` is called
    without them)."""
    own = getattr(analysis, "skip_reason", None)  # optional: needs say most of it
    if own is None:
        return None
    if len(inspect.signature(own).parameters) >= 2:
        return own(ctx, settings)
    return own(ctx)


def aggregated_skip(analysis, data) -> Optional[str]:
    """Why a section that reads individual rows is not in a report of aggregated input."""
    if data.weights is None or getattr(analysis, "aggregated", False):
        return None
    a = data.aggregation
    return (f"It needs individual rows, and the {a.rows:,} logged predictions were aggregated by {a.engine} into "
            f"{a.cells:,} cells; data.engine=pandas on fewer files (a glob of some partitions) shows it.")


def drop_model_timings(ctx: RunContext) -> None:
    """report.timings=false: no durations anywhere, so that the same config gives the same files."""
    for c in ctx.candidates:
        c.fit_seconds = None
        c.predictions.seconds = None
    if ctx.tuning is not None:
        ctx.tuning.seconds = None
        for t in ctx.tuning.trials:
            t["seconds"] = None


def render(cfg, ctx, checked: Checked, outcomes: list, figures: dict, timer: Timer, warm, provenance: dict,
           gates: list = (), plots: Optional[dict] = None):
    """Every format's bytes, from the same settled outcomes; nothing is written here."""
    if cfg.report.timings:
        measured(ctx.plan, timer.seconds)  # until rendering: the steps' measured_seconds in metrics.json
    document = metrics_document(ctx, outcomes, gates)
    if gates:
        document["gates_unevaluated"] = checked.unevaluated  # whether a gate not evaluated failed the run
    payloads: dict = {}
    if ctx.data.weights is None:  # aggregated input has cells, not rows: there is no row to write
        payloads["predictions"] = predictions_parquet(ctx.data, ctx.predictions)
        # which predictions file is this run's: compare.baseline checks it against the file beside metrics.json
        document["predictions_sha256"] = hashlib.sha256(payloads["predictions"]).hexdigest()
    if "json" in cfg.report.formats:
        payloads["json"] = dumps(document)
    if "junit" in cfg.report.formats:
        payloads["junit"] = render_gates.junit(gates, f"{cfg.report.title}: {ctx.model.name} on {ctx.data.name}")
    if "markdown" in cfg.report.formats:
        payloads["markdown"] = render_gates.summary(cfg, ctx, outcomes, gates)
    if "model_card" in cfg.report.formats:
        payloads["model_card"] = render_card.model_card(cfg, ctx, outcomes, gates)
    if not any(f in cfg.report.formats for f in VISUAL):
        return payloads, document

    provenance = {**provenance, "timings": timer.seconds, "starts": timer.starts,
                  "elapsed": timer.elapsed() if cfg.report.timings else None}
    report = build_report(ctx, outcomes, provenance, logo=checked.logo, theme=checked.theme, gates=gates)
    if "html" in cfg.report.formats:
        with timer.step("render html"):
            payloads["html"] = render_html(report, for_print=False, figures=figures, plots=plots,
                                           template_dirs=checked.template_dirs)
    if "pdf" in cfg.report.formats:
        warm.join()
        with timer.step("render pdf"):
            html = render_html(report, for_print=True, figures=figures, template_dirs=checked.template_dirs)
            payloads["pdf"] = render_pdf(html, report, [
                (METRICS, dumps(document), "Metrics of this report (JSON)"),
                ("config.yaml", OmegaConf.to_yaml(cfg), "The composed Hydra configuration")])
    if not cfg.report.timings:
        timer.clear()
    return payloads, document


def check_outputs(output_dir: Path, baseline: Optional[str] = None) -> None:
    """Before any work: the run's files can be written where they go, and do not replace the baseline they are
    compared with."""
    if baseline:
        given = Path(baseline).expanduser().resolve()
        own = Path(output_dir).expanduser().resolve()
        if given == own or given == own / OUTPUTS["predictions"]:
            raise UserError(f"compare.baseline={baseline!r} is this run's own output folder: the run would replace "
                            "the baseline it compares with. Write this run elsewhere (hydra.run.dir=...) or compare "
                            "with another run's folder")
    for name in OUTPUTS.values():
        if (output_dir / name).is_dir():
            raise UserError(f"{output_dir / name} is a folder, where this run writes its {name}: move it away or "
                            "choose another folder with hydra.run.dir=...")


def write(output_dir: Path, payloads: dict) -> dict:
    """Written last, as one set (postreport.run.atomic): a failure or a signal before or during this leaves the folder's
    earlier set whole. Files of the other formats left by an earlier run in the same folder are removed, so that
    no stale report sits beside the new metrics.json."""
    files = {fmt: output_dir / OUTPUTS[fmt] for fmt in (*FORMATS, "predictions") if fmt in payloads}
    try:
        write_all({files[fmt]: payloads[fmt] for fmt in files})
    except OSError as exc:
        raise UserError(f"cannot write the report into {output_dir}: {exc.strerror or exc}") from None
    for fmt in (*FORMATS, "predictions"):
        stale = output_dir / OUTPUTS[fmt]
        if fmt not in files and stale.is_file():
            stale.unlink()
            log.info("removed %s: an earlier run's file, not made by this one", stale)
    for path in files.values():
        log.info("wrote %s", path)
    return files


def quiet_libraries() -> None:
    for name, level in QUIET_LOGGERS.items():  # their INFO lines are noise in a report run's log
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(f, _Shortened) for f in logger.filters):
            logger.addFilter(_Shortened())


class _Shortened(logging.Filter):
    """A library's log line cut to a readable length (WeasyPrint quotes whole data: URLs, figures included)."""

    LIMIT = 300

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > self.LIMIT:
            record.msg, record.args = message[: self.LIMIT] + f"… ({len(message):,} characters)", None
        return True


def planned_seconds(plan, step: str) -> float:
    """The plan's seconds for one of its steps (0 when it has none)."""
    found = plan.step(step) if plan is not None else None
    return found.seconds if found is not None and found.runs else 0.0


def add_tuned(ctx: RunContext, checked: Checked, timer: Timer, deadline: Deadline) -> None:
    """Tune the configured model when asked and possible; the tuned model joins the candidates."""
    cfg, data = ctx.cfg, ctx.data
    if not checked.uses("tuning") and cfg.report.subject != "tuned":
        ctx.tuning_skipped = "No section uses a tuned model."  # nothing asks for it: no search is run
    elif not cfg.tuning.enabled:
        ctx.tuning_skipped = "Tuning is off (tuning=none)."
    elif cfg.model.path and ctx.model.estimator is not None and data.X_train is not None:
        tune_given(ctx, timer, deadline)
    elif data.X_train is None or ctx.model.estimator is None or cfg.model.path:
        ctx.tuning_skipped = "There is no training data to tune on (a model from a file, or logged predictions)."
    elif ctx.plan.tuning_trials == 0:
        ctx.tuning_skipped = f"The search did not start: {ctx.plan.why('tuning')}. Raise tuning.timeout (or null)."
    else:
        try:
            with timer.step("tuning"), deadline.cuttable(planned_seconds(ctx.plan, "tuning")):
                ctx.tuning = tune(cfg.tuning, cfg.model, data, ctx.seed, ctx.n_jobs, ctx.model,
                                  trials=ctx.plan.tuning_trials, planned=ctx.plan.why("tuning"))
        except Cut as cut:
            ctx.tuning, ctx.tuning_skipped = None, f"Cut: {cut}."
            return
        ctx.candidates.append(ctx.tuning.candidate)


def tune_given(ctx: RunContext, timer: Timer, deadline: Deadline) -> None:
    """A model fitted elsewhere, tuned as its base: clones with the searched parameters on its last step, the space
    from model.search_space or the packaged config of its class; skipped with the reason otherwise."""
    from dataclasses import replace

    cfg, estimator = ctx.cfg, ctx.model.estimator
    if not ctx.plan.shape.refittable:
        ctx.tuning_skipped = (f"The model ({type(estimator).__name__}) was fitted elsewhere and cannot be refitted "
                              "here (a LightGBM text model or an ONNX file holds only its fitted state).")
        return
    space, where = given_space(cfg.model, estimator, ctx.data.task)
    if space is None:
        ctx.tuning_skipped = f"Tuning the given model needs a search space: {where}."
        return
    if ctx.plan.tuning_trials == 0:
        ctx.tuning_skipped = f"The search did not start: {ctx.plan.why('tuning')}. Raise tuning.timeout (or null)."
        return
    current = final_step(estimator).get_params(deep=False)
    mcfg = OmegaConf.create({**OmegaConf.to_container(cfg.model, resolve=True), "name": ctx.model.name,
                             "search_space": space, "params": {k: current[k] for k in space if k in current}})
    try:
        with timer.step("tuning"), deadline.cuttable(planned_seconds(ctx.plan, "tuning")):
            ctx.tuning = tune(cfg.tuning, mcfg, ctx.data, ctx.seed, ctx.n_jobs, replace(ctx.model, params=current),
                              trials=ctx.plan.tuning_trials, planned=ctx.plan.why("tuning"),
                              build=given_builder(estimator))
    except Cut as cut:
        ctx.tuning, ctx.tuning_skipped = None, f"Cut: {cut}."
        return
    ctx.tuning.notes.append(f"The search tuned clones of the given {ctx.model.name} ({where}), its other "
                            "parameters and steps as they were.")
    ctx.candidates.append(ctx.tuning.candidate)


def add_ensembles(ctx: RunContext, checked: Checked, timer: Timer, deadline: Deadline) -> None:
    """Fit the ensembles the config declares when a section will show them (and there is training data)."""
    cfg = ctx.cfg
    if not cfg.ensemble.enabled or not checked.uses("ensembles"):
        return
    if ctx.data.X_train is None or ctx.model.estimator is None:
        ctx.notes.append("Ensembles need training data; none were built.")
        return

    with timer.step("ensembles"):
        try:
            with deadline.cuttable(planned_seconds(ctx.plan, "ensemble members")):
                ensembles.build(cfg.ensemble, ctx, _user_config_dirs())
        except Cut as cut:
            ctx.notes.append(f"The ensembles were cut: {cut}. The leaderboard shows the models fitted before.")
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


def validate(cfg: DictConfig) -> Checked:
    """Everything that can be checked before any work: missing values, formats, the report's look, the analyses
    and their settings, tuning and ensembles."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise UserError(f"missing required value(s): {', '.join(missing)} (set them on the command line, "
                        f"e.g. {missing[0]}=...)")
    if cfg.report.subject not in ("model", "tuned"):
        raise UserError(f"report.subject={cfg.report.subject!r} is not valid; valid: model, tuned")
    at_least("seed", cfg.seed, 0)
    at_least("bootstrap.resamples", cfg.bootstrap.resamples, 0)
    strictly_between("bootstrap.level", cfg.bootstrap.level, 0, 1)
    if cfg.bootstrap.seed is not None:
        at_least("bootstrap.seed", cfg.bootstrap.seed, 0)
    at_least("bootstrap.max_bins", cfg.bootstrap.max_bins, 2)
    bad = [f for f in cfg.report.formats if f not in FORMATS]
    if bad or not cfg.report.formats:
        raise UserError(f"report.formats={list(cfg.report.formats)} is not valid; choose from {list(FORMATS)}")
    if "model_card" in cfg.report.formats:
        if not render_card.available():
            raise UserError("report.formats lists model_card, which needs the optional extra: "
                            "pip install 'postreport[model_card]' (huggingface_hub)")

    logo, theme = style.logo(cfg.report.logo), style.theme(dict(cfg.report.theme))
    templates = style.template_dirs(cfg.report.template_dir)  # a broken user template stops the run here
    if cfg.tuning.enabled and not cfg.model.path and cfg.data.source != "predictions":
        check(cfg.tuning, cfg.model)
    if cfg.ensemble.enabled:
        ensembles.check(cfg.ensemble, _user_config_dirs())

    check_tracking(cfg.tracking)

    gates = parse_config(cfg)
    names = list(cfg.report.analyses)
    if cfg.compare.baseline and not Path(cfg.compare.baseline).expanduser().exists():
        raise UserError(f"compare.baseline={cfg.compare.baseline!r} does not exist; give a previous run's folder "
                        "or a predictions file (.parquet or .csv)")
    for name, cls in registry.load_all().items():  # a section a setting asks for comes first, listed or not
        implied = getattr(cls, "implied_by", None)
        if implied and OmegaConf.select(cfg, implied) and name not in names:
            names.insert(0, name)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"report.analyses lists {duplicates} more than once")
    chosen = {}
    for name in names:
        cls = registry.get(name)
        chosen[name] = (cls, registry.settings_for(name, cls, cfg.analyses.get(name)))
    return Checked(chosen, gates, templates, logo, theme, unevaluated_policy(cfg.gates_unevaluated,
                                                                             cfg.report.formats))
