"""The report model: sections of typed items. Renderers map each item type to output;
analyses produce these items from their results and never format or draw themselves."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class Estimate:
    """A number with its confidence interval; renderers show it as `0.953 [0.921, 0.977]`."""

    value: Optional[float]
    ci: Optional[list] = None  # [low, high]
    flag: str = ""  # said after the interval: how it was computed when not the bootstrap, or "unreliable"


@dataclass
class Link:
    """A link to another local file (e.g. a job's report from the sweep report)."""

    text: str
    href: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Note:
    text: str
    kind: str = "info"  # info | warning | error


@dataclass
class KeyValues:
    rows: list  # [(key, value)], values formatted by the renderer
    caption: str = ""


PRINT_ROWS = 30  # a table of one row per class prints at most this many (chosen by its section); the HTML has all


def print_selection(order, n: int) -> Optional[list]:
    """The rows a PDF table of n rows prints: the first PRINT_ROWS of `order` (row indices, most telling first), in
    the table's own order; None (every row) when there are no more than PRINT_ROWS."""
    return None if n <= PRINT_ROWS else sorted(int(k) for k in list(order)[:PRINT_ROWS])


def undefined_last(value, descending: bool = False) -> tuple:
    """A sort key for choosing rows: numbers ascending (or descending), then None and nan."""
    undefined = value is None or value != value
    return undefined, 0.0 if undefined else (-value if descending else value)


@dataclass
class Table:
    columns: list
    rows: list  # raw values; numbers are formatted by the renderer
    caption: str = ""
    highlight_rows: list = field(default_factory=list)  # indices of rows to emphasise
    percent_columns: list = field(default_factory=list)  # indices of columns holding shares (0..1)
    print_rows: Optional[list] = None  # indices of the rows the PDF prints (None: every row); the HTML shows all
    print_why: str = ""  # which rows those are, e.g. "the 30 classes with the lowest F1"


@dataclass
class Figure:
    spec: Any  # a figure spec (postreport.report.figures), drawn by the renderer
    caption: str = ""


@dataclass
class Explorer:
    """An interactive widget of the HTML report (left out of the PDF): `kind` names its template
    (items/explorer_<kind>.html.j2), `data` is what its script reads (JSON)."""

    kind: str
    data: dict
    caption: str = ""


@dataclass
class Code:
    text: str
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    items: list = field(default_factory=list)
    status: str = "ok"  # ok | failed | skipped | cut
    error: Optional[str] = None
    seconds: Optional[float] = None
    lead: str = ""  # one sentence saying what the section shows


@dataclass
class Report:
    title: str
    author: str
    created: str  # ISO timestamp of the run, used everywhere a date is shown
    subtitle: str
    keywords: list
    headline: list  # [(metric name, value)] shown on the cover
    sections: list  # body sections, in order
    appendix: list  # appendix sections
    logo: Optional[str] = None  # data URI
    theme: dict = field(default_factory=dict)  # CSS colour variables
    gates: list = field(default_factory=list)  # postreport.run.gates.GateResult, shown at the top


def param_text(value, limit: int = 80):
    """A model or search parameter as a table shows it: floats to 4 significant digits, long values cut; None
    stays None (the renderer shows 'n/a')."""
    if value is None:
        return None
    text = f"{value:.4g}" if isinstance(value, float) else value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "…"
