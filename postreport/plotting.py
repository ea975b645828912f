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
        fig.savefig(buf, format="svg", metadata={"Date": None})
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
    ax.set_yticks(positions, [_short(label) for label in spec.labels])
    ax.invert_yaxis()
    ax.set_xlabel(spec.xlabel)
    ax.set_title(spec.title)
    if spec.value_labels:
        for pos, value, text in zip(positions, spec.values, spec.value_labels):
            ax.text(value, pos, f" {text}", va="center", fontsize=7)
        ax.set_xlim(0, max(spec.values) * 1.2 if len(spec.values) else 1)


def _short(label, limit: int = 18) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


DRAWERS = {Heatmap: _heatmap, Bars: _bars}
