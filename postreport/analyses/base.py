"""What an analysis is: a name, a settings schema, a computation, and the items that show its result."""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from postreport.config import NoSettings

IMAGES = ("Image data: pixels are not columns to slice by, compare one by one or rank; the saliency section "
          "shows which regions of the images drive the predictions.")


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


def no_scores(ctx, reason: str) -> str:
    """Why there are no per-row scores: the model gives none (`reason`), or multiclass scores were aggregated."""
    a = ctx.data.aggregation
    if a is not None and ctx.data.task == "multiclass" and ctx.data.logged.score_columns:
        return (f"The multiclass scores were aggregated by {a.engine} into counts of (true, predicted) labels with "
                "their log losses and squared errors: this section needs every row's scores (data.engine=pandas).")
    return reason
