"""The tuning section: the search and its result, and the tuned model against the model as configured on the
same test rows (metrics with bootstrap intervals)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from postreport.stats import metrics
from postreport.report.figures import Bars, Lines, Panels, Scatter, Series
from postreport.report.model import Estimate, Figure, KeyValues, Note, Table, param_text
from postreport.analyses.base import Analysis
from postreport.planning.plan import Step

SLICE_PLOT_TRIALS = 15


@dataclass
class TuningSettings:
    top_trials: int = 10
    slice_params: int = 4  # parameters shown in the slice plot


@dataclass
class TuningResult:
    outcome: object  # tuning.TuningOutcome
    comparison: list  # [name, untuned Estimate, tuned Estimate, difference]
    top: list  # trials, best first
    settings: TuningSettings
    level: Optional[float] = None  # of the intervals in the comparison

    def headline(self) -> str:
        o = self.outcome
        return (f"Tuning ({len(o.trials)} trials, {o.sampler}): cross-validated {o.scoring} {o.best_score:.4f} against "
                f"{o.default_score:.4f} for the configured parameters.")

    def to_json(self) -> dict:
        o = self.outcome
        return {
            "sampler": o.sampler, "scoring": o.scoring, "cv": o.cv, "n_trials": len(o.trials),
            "best_params": o.best_params, "best_score": o.best_score, "best_score_std": o.best_std,
            "default_score": o.default_score, "default_score_std": o.default_std, "importances": o.importances,
            "seconds": o.seconds, "study_name": o.study_name, "storage": o.storage,
            "trials": o.trials,
            "test_comparison": {row[0]: {"configured": row[1].value, "configured_ci": row[1].ci, "tuned": row[2].value,
                                         "tuned_ci": row[2].ci} for row in self.comparison},
        }


class TuningAnalysis(Analysis):
    name = "tuning"
    shows_prepared = True
    uses = frozenset({"tuning"})
    title = "Hyperparameter tuning"
    lead = "A search for better parameters by cross-validation on the training data, and what it buys on the test set."
    Settings = TuningSettings

    def skip_reason(self, ctx, settings) -> Optional[str]:
        return ctx.tuning_skipped if ctx.tuning is None else None

    def plan(self, plan, settings) -> list:
        seconds = plan.metrics_seconds("configured", "tuned") if plan.tuning_trials else 0.0
        if not seconds:
            return []
        return [Step("tuning results", "bootstrap intervals of the tuned model's metrics", seconds,
                     rows=plan.shape.n_test, repeats=plan.cfg.bootstrap.resamples)]

    def compute(self, ctx, settings: TuningSettings) -> TuningResult:
        o = ctx.tuning
        base = metrics.candidate_metrics(ctx, ctx.candidates[0])
        tuned = metrics.candidate_metrics(ctx, o.candidate)
        rows = []
        for name in metrics.TASKS[ctx.data.task].compared:
            a, b = base.values.get(name), tuned.values.get(name)
            rows.append([metrics.label(name), Estimate(a, base.ci.get(name)), Estimate(b, tuned.ci.get(name)),
                         None if a is None or b is None else b - a])
        done = [t for t in o.trials if t["value"] is not None]
        top = sorted(done, key=lambda t: -t["value"])[: settings.top_trials]
        return TuningResult(o, rows, top, settings, base.ci_level)

    def items(self, r: TuningResult) -> list:
        o = r.outcome
        items = [KeyValues([
            ("Search", f"{o.sampler} sampler, {len(o.trials)} trials, {o.cv}-fold cross-validation"
                       + ("" if o.seconds is None else f", {o.seconds:.1f} s")),
            ("Scoring", f"{o.scoring} (higher is better)"),
            ("Best cross-validated score", f"{o.best_score:.4f} ± {o.best_std:.4f}"),
            ("With the configured parameters", f"{o.default_score:.4f} ± {o.default_std:.4f}"),
            ("Best parameters", ", ".join(f"{k}={param_text(v)}" for k, v in o.best_params.items())),
            ("Study", o.study_name + (f" in {o.storage}" if o.storage else " (in memory)")),
        ], caption="The search")]
        level = f" [{r.level:.0%} CI]" if r.level else ""
        items.append(Table(["Metric", f"Configured{level}", f"Tuned{level}", "Tuned − configured"], r.comparison,
                           caption="Both models on the same test rows; intervals by the bootstrap of the metrics "
                                   "section. Overlapping intervals mean the test set cannot tell the two apart."))
        values = [t["value"] for t in o.trials if t["value"] is not None]
        numbers = [t["number"] for t in o.trials if t["value"] is not None]
        best_so_far = np.maximum.accumulate(values).tolist() if values else []
        panels = [Lines([Series(numbers, values, "trial", color="#8a94a6", marker=True),
                         Series(numbers, best_so_far, "best so far", "step", color="#000000")],
                        "Optimisation history", "trial", o.scoring)]
        if o.importances:
            names = list(o.importances)
            panels.append(Bars(names, [o.importances[n] for n in names], "Parameter importance",
                               "share of variance"))
        items.append(Figure(Panels(panels, height=2.8), caption="Left: each trial's cross-validated score and the best "
                                                               "so far. Right: how much each parameter explains the "
                                                               "score's variation across trials (Optuna's fANOVA)."))
        numeric = [p for p in o.params if p.type != "categorical"][: r.settings.slice_params]
        if numeric and len(values) >= SLICE_PLOT_TRIALS:  # with a handful of trials a slice plot shows noise
            slices = [Scatter([t["params"].get(p.name) for t in o.trials if t["value"] is not None],
                              values, p.name, p.name, o.scoring, logx=p.log)
                      for p in numeric]
            items.append(Figure(Panels(slices, height=2.3, columns=min(2, len(slices))),
                                caption="Slice plot: each trial's score against one parameter's value."))
        param_names = [p.name for p in o.params]
        items.append(Table(["Trial", "Score", "± sd"] + param_names,
                           [[t["number"], t["value"], t["std"]] + [param_text(t["params"].get(n)) for n in param_names]
                            for t in r.top], caption=f"The {len(r.top)} best trials."))
        items += [Note(n, "warning") for n in o.notes]
        return items

