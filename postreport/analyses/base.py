"""What an analysis is: a name, a settings schema, what it needs of the run, its planned cost, a computation, and the
items that show its result. The runner and the planner ask these, never an analysis's name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Protocol, Union, runtime_checkable

import numpy as np

from postreport.config import NoSettings

IMAGES = ("Image data: pixels are not columns to slice by, compare one by one or rank; the saliency section "
          "shows which regions of the images drive the predictions.")


@runtime_checkable
class Result(Protocol):
    """What `compute` returns: `to_json()`, its payload under results.<name> in metrics.json. Optional, read through
    finding() and gate_values() below: `headline() -> str | None`, one sentence for the executive summary and the
    model card; `gate_values() -> {name: (value, [low, high] or None)}`, the values quality gates are judged on."""

    def to_json(self) -> dict: ...


def finding(result) -> Optional[str]:
    """The result's one-sentence finding (its `headline()`), or None."""
    headline = getattr(result, "headline", None)
    return headline() if callable(headline) else None


def gate_values(result) -> dict:
    """The values the result offers quality gates (its `gate_values()`), or none."""
    values = getattr(result, "gate_values", None)
    return values() if callable(values) else {}


@dataclass(frozen=True)
class Need:
    """One thing an analysis needs of the run: `met(ctx)`, the reason shown when it is not (a text, or made from the
    run), and, where the data's shape and the config decide it before any model is fitted, the same test on the plan
    (`planned(plan)`), so that the plan leaves out a section that will skip."""

    met: Callable
    reason: Union[str, Callable]
    planned: Optional[Callable] = None

    def why_not(self, ctx) -> Optional[str]:
        if self.met(ctx):
            return None
        return self.reason(ctx) if callable(self.reason) else self.reason


def classes(subject: str) -> Need:
    """Classes (not a regression task). subject: the reason's opening, e.g. "A confusion matrix needs"."""
    return Need(lambda ctx: ctx.data.task != "regression", f"{subject} classes; this is a regression task.",
                lambda plan: plan.shape.task != "regression")


def binary(reason: str) -> Need:
    return Need(lambda ctx: ctx.data.task == "binary", lambda ctx: reason.format(task=ctx.data.task),
                lambda plan: plan.shape.task == "binary")


def regression(reason: str) -> Need:
    return Need(lambda ctx: ctx.data.task == "regression", reason, lambda plan: plan.shape.task == "regression")


def model(what: str) -> Need:
    """A model to query (not logged predictions, not the fold models of a cross-validation)."""
    return Need(lambda ctx: ctx.model.estimator is not None, lambda ctx: no_model(ctx, what), lambda plan: plan.queried)


def no_model(ctx, what: str) -> str:
    """Why there is no model to query: logged predictions, or a cross-validation's folds."""
    cv = getattr(ctx, "cross_validation", None)
    if cv is not None:
        return (f"Cross-validation: the report reads the out-of-fold predictions of {cv.k} fold models; {what} needs "
                "one model to query (the cross-validation section shows how the folds' fits differ).")
    return f"There is no model (logged predictions): {what} needs a model to query."


def probabilities(reason: str) -> Need:
    """Every class's probability (or score) per row; `reason` when the model gives none (no_scores words the
    aggregated case)."""
    return Need(lambda ctx: ctx.encoded.proba is not None, lambda ctx: no_scores(ctx, reason))


def two_classes(reason: str) -> Need:
    """Both (or more) classes among the test rows."""
    return Need(lambda ctx: len(np.unique(ctx.encoded.y_idx)) >= 2, reason)


TABULAR = Need(lambda ctx: not ctx.data.image_shape, IMAGES, lambda plan: not plan.shape.image_pixels)


class Analysis:
    """Subclass this (or provide the same attributes) and register it under `postreport.analyses`."""

    name: ClassVar[str]
    title: ClassVar[str]
    lead: ClassVar[str] = ""
    Settings: ClassVar[type] = NoSettings  # a dataclass; the config's `analyses.<name>` is validated against it
    aggregated: ClassVar[bool] = False  # computes from aggregated input too (cells of rows, `data.weights`)
    # shows work the run did before the sections (the tuning search, the ensembles' fits): not cut by
    # budget.max_seconds once that work is done, which would throw it away
    shows_prepared: ClassVar[bool] = False
    needs: ClassVar[tuple] = ()  # Need: checked in order, before skip_reason; the first unmet one skips the section
    quick: ClassVar[bool] = False  # in budget.profile=quick's report (cheap: no model is queried again)
    # work of the run's preparation it shows: "tuning" (a search), "ensembles" (members fitted), "out_of_fold"
    # (the configured model's out-of-fold predictions); none runs unless a section of the report uses it
    uses: ClassVar[frozenset] = frozenset()
    implied_by: ClassVar[Optional[str]] = None  # a config key that, when set, adds the section first
    thorough: ClassVar[dict] = {}  # budget.profile=thorough: setting -> the factor it is scaled by (unless given)

    def plan(self, plan, settings) -> list:
        """The section's planned steps (postreport.planning.plan.Step): what it computes, on how much, and its
        seconds on the reference machine, from `plan.shape`, `plan.cost`, `plan.cfg` and the settings, never from a
        clock. None: its fixed cost, within the plan's "sections" step. Read-only on the plan but for
        `plan.sizes` (what it decided, for compute to read back) and `plan.once(key)`."""
        return []

    def check(self, data, settings) -> None:
        """Raise UserError when the settings cannot fit the data. Runs before any model is fitted."""

    def offers_gate(self, name: str) -> bool:
        """Whether a quality gate of this name is judged on this analysis's result, whose `gate_values()` returns
        {name: (value, [low, high] or None)}. The run's own metrics are always offered; this is for the others."""
        return False

    gate_missing: ClassVar[str] = "it gives no value for it"  # why a gate it offers has no value though it ran

    def skip_reason(self, ctx, settings) -> Optional[str]:
        """Why the inputs (and this analysis's settings) cannot support it, or None when they can. A plugin's
        `skip_reason(self, ctx)` without settings is called as such."""
        return None

    def compute(self, ctx, settings) -> Any:
        """A result object with `to_json() -> dict` (the payload in metrics.json)."""
        raise NotImplementedError

    def items(self, result) -> list:
        """Report items (postreport.report.model) that show the result."""
        raise NotImplementedError

    reviews: ClassVar[bool] = False  # review() is called once every section has computed

    def review(self, result, others: dict, ctx) -> None:
        """Add to this section's result what the other sections found (others: name -> result of each that ran),
        before its items are built: a section shown first may sum up what is computed later."""


def no_scores(ctx, reason: str) -> str:
    """Why there are no per-row scores: the model gives none (`reason`), or multiclass scores were aggregated."""
    a = ctx.data.aggregation
    if a is not None and ctx.data.task == "multiclass" and ctx.data.logged.score_columns:
        return (f"The multiclass scores were aggregated by {a.engine} into counts of (true, predicted) labels with "
                "their log losses and squared errors: this section needs every row's scores (data.engine=pandas).")
    return reason


def unmet(analysis, ctx) -> Optional[str]:
    """The reason of the first need the run does not meet, or None."""
    for need in getattr(analysis, "needs", ()):
        why = need.why_not(ctx)
        if why:
            return why
    return None


def planned_to_run(analysis, plan) -> bool:
    """Whether the needs the plan can decide are met (a section that will skip is not planned)."""
    return all(need.planned(plan) for need in getattr(analysis, "needs", ()) if need.planned is not None)
