"""How the report writes numbers, dates and data inside a <script>: one place, used by every renderer (HTML, PDF,
the executive summary, the console's closing line)."""
from __future__ import annotations

import math
from datetime import datetime

from postreport.report.model import Estimate


def fmt_number(value, percent: bool = False) -> str:
    """How every number in a report reads. None (undefined) reads as 'n/a'."""
    if isinstance(value, Estimate):
        text = fmt_number(value.value, percent)
        if value.ci is not None and value.value is not None:
            text += f" [{fmt_number(value.ci[0], percent)}, {fmt_number(value.ci[1], percent)}]"
            text += f" ({value.flag})" if value.flag else ""
        return text
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        return str(value)
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if percent:
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude < 1e-3:
        return f"{value:.2e}"
    if magnitude < 10:
        return f"{value:.3f}"
    if magnitude < 1000:
        return f"{value:.2f}"
    return f"{value:,.1f}"


def fmt_date(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d %B %Y, %H:%M UTC")


def script_safe(json_text: str) -> str:
    """JSON text for inside a <script> element: <, > and & as JSON escapes, so no string in it can close the script."""
    return json_text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
