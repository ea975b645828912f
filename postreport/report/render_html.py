"""HTML: one self-contained file (inline CSS, figures as data URIs), Jinja with autoescaping on.
The PDF is made from the same HTML with the print stylesheet added."""
from __future__ import annotations

import importlib.util
import json
import math
import re
import traceback
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup

from postreport.errors import UserError
from postreport.run.gates import heading as gates_heading
from postreport.resources import resource_dir
from postreport.version import __version__
from postreport.report.figure_pool import data_uri
from postreport.report.format import fmt_date, fmt_number, script_safe
from postreport.report.model import Code, Estimate, Explorer, Figure, KeyValues, Link, Note, Paragraph, Table

ITEM_TEMPLATES = {
    Paragraph: "items/paragraph.html.j2",
    Note: "items/note.html.j2",
    KeyValues: "items/keyvalues.html.j2",
    Table: "items/table.html.j2",
    Figure: "items/figure.html.j2",
    Code: "items/code.html.j2",
}


@lru_cache(maxsize=None)
def environment(template_dirs: tuple):
    """One Jinja environment per template search path (a user's folder first, then the built-in one)."""
    env = Environment(loader=FileSystemLoader(list(template_dirs)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["date"] = fmt_date
    env.filters["gates_heading"] = gates_heading
    env.tests["estimate"] = lambda v: isinstance(v, Estimate)
    env.tests["link"] = lambda v: isinstance(v, Link)
    return env


LONG_RUN = re.compile(r"[^\s\u200b]{40,}")  # a run without a break opportunity, as a stranger's label can be
BREAK_EVERY = 20


def breakable(value):
    """Text with an invisible break opportunity (U+200B) every BREAK_EVERY characters of each run of 40 or more
    without one; anything else as it is. For the PDF's tables: WeasyPrint sizes a table cell that may break anywhere
    by laying its text out once per character (a 2,000-character label took 5 s, 10,000 over 3 minutes); with these
    breaks the cell's narrowest width is 20 characters and the same label takes a second."""
    if not isinstance(value, str) or isinstance(value, Markup):
        return value
    return LONG_RUN.sub(lambda m: "\u200b".join(m.group(0)[i:i + BREAK_EVERY]
                                                 for i in range(0, len(m.group(0)), BREAK_EVERY)), value)


def printable(item):
    """A table or key-value list with its text made breakable for the PDF (a copy; the screen keeps the text)."""
    if isinstance(item, Table):
        return replace(item, columns=[breakable(c) for c in item.columns], caption=breakable(item.caption),
                       rows=[[breakable(v) for v in row] for row in item.rows])
    if isinstance(item, KeyValues):
        return replace(item, caption=breakable(item.caption),
                       rows=[(breakable(k), breakable(v)) for k, v in item.rows])
    return item


def render_item(env, item, figures: dict, zoom: bool = False, plots: Optional[dict] = None) -> Markup:
    """zoom: the screen page (figures enlarge on click); plots: its interactive figures and widgets, when wanted."""
    extra = {}
    if isinstance(item, Table):
        extra["many"] = breaks_across_pages(item, item.print_rows if not zoom else None)
    if not zoom:
        item = printable(item)
    if isinstance(item, Explorer):  # interactive only: not in the PDF nor on a static page
        if not zoom or plots is None:
            return Markup("")
        return Markup(env.get_template(f"items/explorer_{item.kind}.html.j2").render(item=item, data=script_json(
            item.data)))
    if isinstance(item, Table):  # the screen shows every row; the PDF those the section chose, when it chose
        keep = item.print_rows if not zoom and item.print_rows is not None else range(len(item.rows))
        extra["shown"] = [(i, item.rows[i]) for i in keep]
        caption = item.caption
        if len(keep) < len(item.rows):
            caption = (f"{caption.rstrip('.')}. " if caption else "") + (
                f"This PDF prints {len(keep)} of the {len(item.rows)} rows: {item.print_why}; the HTML report lists "
                "them all.")
        extra["caption"] = caption
    if isinstance(item, Figure):
        if id(item) not in figures:  # drawn once, for the HTML and the PDF alike
            figures[id(item)] = data_uri(item.spec)
        extra["src"] = figures[id(item)]
        extra["fig_id"] = f"figure-{list(figures).index(id(item)) + 1}"
        extra["zoom"] = zoom
        extra["plot"] = (plots or {}).get(id(item)) if zoom else None
    return Markup(env.get_template(ITEM_TEMPLATES[type(item)]).render(item=item, **extra))


MANY_ROWS = 25  # a printed table of more rows than this may continue on the next page (print.css: many-rows)
MANY_LINES = 40  # and so may one whose rows wrap to more lines than this (a page holds about 60)
CHARS_PER_LINE = 110  # characters of a printed line across the page, shared by the table's columns


def breaks_across_pages(table: Table, rows=None) -> bool:
    """Whether the PDF may break this table across pages: long (in rows) or tall (rows of long text: a row is as
    tall as its longest cell wrapped in its share of the line), so that a section's heading is never left alone
    above a table that fits a page only by itself."""
    rows = [table.rows[i] for i in (range(len(table.rows)) if rows is None else rows)]
    width = CHARS_PER_LINE / max(len(table.columns), 1)
    lines = sum(max([1] + [math.ceil(len(str(v)) / width) for v in row]) for row in rows)
    return len(rows) > MANY_ROWS or lines > MANY_LINES


def script_json(value) -> Markup:
    """A value as JSON for a <script type="application/json"> element."""
    return Markup(script_safe(json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)))


@lru_cache(maxsize=2)
def plotly_js(bundle: str = "cartesian") -> Markup:
    """plotly.js inlined once per page (no CDN: the page works offline). The report's: the cartesian bundle shipped
    in templates/ (the trace types it draws: bar, heatmap, scatter; 1.5 MB, third-party links removed,
    bench/make_plotly_bundle.py); "full": plotly.py's bundle (4.8 MB), for the dashboard's parallel coordinates,
    read from the package's data without importing plotly."""
    if bundle == "cartesian":
        text = (resource_dir("templates") / "plotly-cartesian.min.js").read_text(encoding="utf-8")
        return Markup(text.replace("</script", "<\\/script"))
    found = importlib.util.find_spec("plotly")
    path = Path(found.submodule_search_locations[0]) / "package_data" / "plotly.min.js" if found else None
    if path is not None and path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        from plotly.offline import get_plotlyjs

        text = get_plotlyjs()
    return Markup(text.replace("</script", "<\\/script"))


def render_html(report, for_print: bool, figures: dict | None = None, template_dirs: tuple | None = None,
                plots: Optional[dict] = None) -> str:
    """The report as HTML; `figures` caches drawn figures between the screen and the print rendering; `plots`
    holds the interactive figures (screen only; None: a static page, without the interactive widgets)."""
    env = environment(template_dirs or (str(resource_dir("templates")),))
    figures = {} if figures is None else figures
    try:
        rendered = {s.id: [render_item(env, item, figures, zoom=not for_print, plots=plots) for item in s.items]
                    for s in report.sections + report.appendix}
        interactive = not for_print and plots is not None
        return env.get_template("report.html.j2").render(
            report=report, rendered=rendered, for_print=for_print, version=__version__, interactive=interactive,
            plotly_js=plotly_js() if interactive and plots else None,
        )
    except Exception as exc:
        if _template_frame(exc) is None and not _is_template_error(exc):
            raise
        raise template_error(exc) from None


def _is_template_error(exc) -> bool:
    return isinstance(exc, TemplateError)


def _template_frame(exc):
    """(file, line) of the innermost template frame in the traceback, or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return (frames[-1].filename, frames[-1].lineno) if frames else None


def template_error(exc, name: str | None = None):
    """A UserError naming the template file and line of a broken template."""
    where = _template_frame(exc)
    filename = getattr(exc, "filename", None) or (where[0] if where else None) or name or "a template"
    line = getattr(exc, "lineno", None) or (where[1] if where else None)
    message = getattr(exc, "message", None) or str(exc)
    return UserError(f"template {filename}" + (f", line {line}" if line else "") + f": {type(exc).__name__}: {message}")
