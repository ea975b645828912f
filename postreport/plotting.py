"""Every figure of a report, in one style. Analyses describe figures with the specs below;
the renderer draws them here with matplotlib's Figure API (no pyplot global state)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import numpy as np

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",  # text stays text: smaller files, selectable in the PDF
    "svg.hashsalt": "postreport",  # deterministic element ids
}
MAX_ANNOTATED_CELLS = 400
WIDTH = 6.4  # inches: the text width of an A4 page
RASTER_DPI = 150  # dense layers (scatter clouds) are embedded as images at this resolution


@dataclass
class Heatmap:
    values: np.ndarray  # rows x columns
    x_labels: list
    y_labels: list
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    annotations: Optional[list] = None  # rows x columns of strings
    vmin: Optional[float] = None
    vmax: Optional[float] = None
    colorbar_label: str = ""


@dataclass
class Bars:
    labels: list
    values: list
    title: str = ""
    xlabel: str = ""
    value_labels: Optional[list] = None
    errors: Optional[list] = None  # [low, high] (or None) per bar: drawn as whiskers
    xlim: Optional[tuple] = None


@dataclass
class Series:
    x: list
    y: list
    label: str = ""
    style: str = "line"  # line | dashed | step
    color: Optional[str] = None  # None: the next colour of the palette
    thin: bool = False  # a background line (e.g. one of many classes)
    marker: bool = False  # mark each point (few points, e.g. calibration bins)


@dataclass
class Marker:
    x: float
    y: float
    label: str = ""


@dataclass
class Lines:
    series: list
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xlim: Optional[tuple] = None
    ylim: Optional[tuple] = None
    diagonal: bool = False  # the y = x reference line
    markers: list = None  # Marker points, e.g. operating points
    vlines: list = None  # [(x, label)]
    bars: Optional[tuple] = None  # (edges, counts): a histogram on a second y axis, e.g. score counts


@dataclass
class Scatter:
    x: list
    y: list
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    diagonal: bool = False
    hline: Optional[float] = None


@dataclass
class Histogram:
    edges: list
    counts: list
    title: str = ""
    xlabel: str = ""
    ylabel: str = "rows"


@dataclass
class Panels:
    """Several plots side by side in one figure."""

    panels: list
    height: float = 3.2  # of one row of panels
    width: float = WIDTH
    columns: int = 0  # panels per row; 0: all in one row


def draw_svg(spec) -> str:
    """The figure as an SVG document."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from cycler import cycler
    from matplotlib.figure import Figure

    panels = spec.panels if isinstance(spec, Panels) else [spec]
    width = spec.width if isinstance(spec, Panels) else WIDTH
    height = spec.height if isinstance(spec, Panels) else _height(spec)
    columns = (spec.columns if isinstance(spec, Panels) else 0) or len(panels)
    rows = -(-len(panels) // columns)
    with matplotlib.rc_context({**STYLE, "axes.prop_cycle": cycler(color=PALETTE)}):
        fig = Figure(figsize=(width, height * rows), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, panel in zip(axes, panels):
            DRAWERS[type(panel)](fig, ax, panel)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=RASTER_DPI)
    return buf.getvalue()


def _height(spec) -> float:
    if isinstance(spec, Bars):
        return min(8.0, 0.9 + 0.28 * len(spec.labels))
    if isinstance(spec, Heatmap):
        return min(7.0, 1.6 + 0.35 * len(spec.y_labels))
    return 3.2


def _heatmap(fig, ax, spec: Heatmap) -> None:
    values = np.asarray(spec.values, dtype=float)
    image = ax.imshow(values, cmap="Blues", vmin=spec.vmin, vmax=spec.vmax, aspect="auto")
    tilt = len(spec.x_labels) > 4 and max(len(str(x)) for x in spec.x_labels) > 3
    ax.set_xticks(range(len(spec.x_labels)), [_short(x) for x in spec.x_labels],
                  rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax.set_yticks(range(len(spec.y_labels)), [_short(y) for y in spec.y_labels])
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    if spec.annotations is not None and values.size <= MAX_ANNOTATED_CELLS:
        finite = values[np.isfinite(values)]
        hi = spec.vmax if spec.vmax is not None else (finite.max() if finite.size else 1.0)
        lo = spec.vmin if spec.vmin is not None else (finite.min() if finite.size else 0.0)
        mid = lo + (hi - lo) / 2
        size = 8 if values.shape[0] <= 6 else 7 if values.shape[0] <= 12 else 5
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                colour = "white" if np.isfinite(values[i, j]) and values[i, j] > mid else "#222222"
                ax.text(j, i, spec.annotations[i][j], ha="center", va="center", color=colour, fontsize=size)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.outline.set_visible(False)
    if spec.colorbar_label:
        bar.set_label(spec.colorbar_label)


def _bars(fig, ax, spec: Bars) -> None:
    positions = np.arange(len(spec.labels))
    ax.barh(positions, spec.values, color=PALETTE[0])
    if spec.errors:
        for pos, value, interval in zip(positions, spec.values, spec.errors):
            if interval is not None:
                ax.plot(interval, [pos, pos], color="#1d2330", linewidth=1.2)
                ax.plot(interval, [pos, pos], color="#1d2330", marker="|", markersize=7, linestyle="none")
    ax.set_yticks(positions, [_short(label) for label in spec.labels])
    ax.invert_yaxis()
    ax.set_xlabel(spec.xlabel)
    ax.set_title(spec.title)
    if spec.value_labels:
        for pos, value, text in zip(positions, spec.values, spec.value_labels):
            ax.text(value, pos, f" {text}", va="center", fontsize=7)
        ax.set_xlim(0, max(spec.values) * 1.2 if len(spec.values) else 1)
    if spec.xlim:
        ax.set_xlim(*spec.xlim)


def _lines(fig, ax, spec: Lines) -> None:
    if spec.bars is not None:
        edges, counts = spec.bars
        twin = ax.twinx()
        twin.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#d9dee7", zorder=0)
        twin.set_ylabel("rows")
        twin.spines["right"].set_visible(True)
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
    if spec.diagonal:
        ax.plot([0, 1], [0, 1], color="#9aa5b8", linestyle=":", linewidth=1)
    turn = 0
    for s in spec.series:
        colour = s.color or PALETTE[turn % len(PALETTE)]
        turn += s.color is None
        kwargs = dict(color=colour, label=s.label or None, linewidth=0.7 if s.thin else 1.4,
                      marker="o" if s.marker else None, markersize=3.5)
        if s.style == "step":
            ax.step(s.x, s.y, where="post", **kwargs)
        else:
            ax.plot(s.x, s.y, linestyle="--" if s.style == "dashed" else "-", **kwargs)
    for m in spec.markers or []:
        ax.plot([m.x], [m.y], marker="o", markersize=6, color="#000000", zorder=5)
        if m.label:
            ax.annotate(m.label, (m.x, m.y), textcoords="offset points", xytext=(6, -10), fontsize=7)
    merged: dict = {}
    for x, label in spec.vlines or []:  # one line, one label, where several marks coincide
        merged[x] = f"{merged[x]}, {label}" if x in merged else label
    for x, label in merged.items():
        ax.axvline(x, color="#5b6475", linestyle=":", linewidth=1)
        ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                    ha="right", va="top", color="#5b6475")
    if spec.xlim:
        ax.set_xlim(*spec.xlim)
    if spec.ylim:
        ax.set_ylim(*spec.ylim)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title)
    ax.grid(True, color="#eef0f4", linewidth=0.6)
    if any(s.label for s in spec.series):
        ax.legend(loc="best")


def _scatter(fig, ax, spec: Scatter) -> None:
    ax.scatter(spec.x, spec.y, s=6, alpha=0.45, color=PALETTE[0], linewidths=0, rasterized=len(spec.x) > 500)
    if spec.diagonal and len(spec.x):
        lo = float(min(np.min(spec.x), np.min(spec.y)))
        hi = float(max(np.max(spec.x), np.max(spec.y)))
        ax.plot([lo, hi], [lo, hi], color="#9aa5b8", linestyle=":", linewidth=1)
    if spec.hline is not None:
        ax.axhline(spec.hline, color="#9aa5b8", linestyle=":", linewidth=1)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title)


def _histogram(fig, ax, spec: Histogram) -> None:
    edges = np.asarray(spec.edges, dtype=float)
    ax.bar(edges[:-1], spec.counts, width=np.diff(edges), align="edge", color=PALETTE[0], edgecolor="white",
           linewidth=0.5)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title)


def _short(label, limit: int = 18) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


DRAWERS = {Heatmap: _heatmap, Bars: _bars, Lines: _lines, Scatter: _scatter, Histogram: _histogram}
