"""What an analysis is: a name, a settings schema, a computation, and the items that show its result."""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from ..config import NoSettings


class Analysis:
    """Subclass this (or provide the same attributes) and register it under `postreport.analyses`."""

    name: ClassVar[str]
    title: ClassVar[str]
    lead: ClassVar[str] = ""
    Settings: ClassVar[type] = NoSettings  # a dataclass; the config's `analyses.<name>` is validated against it
    aggregated: ClassVar[bool] = False  # computes from aggregated input too (cells of rows, `data.weights`)

    def check(self, data, settings) -> None:
        """Raise UserError when the settings cannot fit the data. Runs before any model is fitted."""

    def skip_reason(self, ctx) -> Optional[str]:
        """Why the inputs cannot support this analysis, or None when they can."""
        return None

    def compute(self, ctx, settings) -> Any:
        """A result object with `to_json() -> dict` (the payload in metrics.json)."""
        raise NotImplementedError

    def items(self, result) -> list:
        """Report items (postreport.report.model) that show the result."""
        raise NotImplementedError
