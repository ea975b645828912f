"""The SVG renderer: every figure spec (postreport.report.figures) drawn in one style with matplotlib's Figure API
(no pyplot global state). The HTML embeds the SVG; the PDF is made from the same HTML."""
from __future__ import annotations

import io
import warnings

import numpy as np

from postreport.report.figures import (WIDTH, Bars, Beeswarm, Heatmap, Histogram, ImageGrid, Lines, Panels, Scatter,
    Waterfall)
from postreport.report.svg_compact import compact

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
    "text.parse_math": False,  # names and labels are data: '$' is a dollar sign, never mathtext
}
MAX_ANNOTATED_CELLS = 400
RASTER_DPI = 150  # dense layers (scatter clouds) are embedded as images at this resolution



def draw_svg(spec) -> str:
    """The figure as an SVG document."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from cycler import cycler
    from matplotlib.figure import Figure

    panels = spec.panels if isinstance(spec, Panels) else [spec]
    width = spec.width if isinstance(spec, Panels) else WIDTH
    height = spec.height if isinstance(spec, Panels) else figure_height(spec)
    columns = (spec.columns if isinstance(spec, Panels) else 0) or len(panels)
    rows = -(-len(panels) // columns)
    with matplotlib.rc_context({**STYLE, "axes.prop_cycle": cycler(color=PALETTE)}), warnings.catch_warnings():
        # a label in a script DejaVu Sans lacks is drawn with boxes; the SVG keeps the text, the browser shows it
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        # a figure with very long labels is drawn without the layout's spacing rather than a warning on the console
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig = Figure(figsize=(width, height * rows), layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, panel in zip(axes, panels):
            DRAWERS[type(panel)](fig, ax, panel)
        buf = io.StringIO()
        # no metadata block (its RDF names third-party URLs) and no XML prolog or DOCTYPE (a DTD URL): the <svg> alone
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
                    dpi=RASTER_DPI)
    text = buf.getvalue()
    return compact(text[text.index("<svg"):])


def figure_height(spec) -> float:
    """A figure's height in inches from what it shows (bars, heat-map rows, beeswarm rows): one rule for SVG and
    Plotly."""
    if isinstance(spec, Bars):
        return min(8.0, 0.9 + 0.28 * len(spec.labels))
    if isinstance(spec, Heatmap):
        return min(7.0, 1.6 + 0.35 * len(spec.y_labels))
    if isinstance(spec, Beeswarm):
        return min(7.0, 1.0 + 0.32 * len(spec.labels))
    if isinstance(spec, ImageGrid):
        return 1.45 * -(-len(spec.images) // min(spec.columns, len(spec.images)))
    return 3.2


def _heatmap(fig, ax, spec: Heatmap) -> None:
    values = np.asarray(spec.values, dtype=float)
    vmin, vmax = spec.vmin, spec.vmax
    if spec.center is not None:
        reach = float(np.nanmax(np.abs(values - spec.center))) if np.isfinite(values).any() else 1.0
        vmin, vmax = spec.center - (reach or 1.0), spec.center + (reach or 1.0)
    image = ax.imshow(values, cmap=spec.cmap, vmin=vmin, vmax=vmax, aspect="auto")
    tilt = len(spec.x_labels) > 4 and max(len(str(x)) for x in spec.x_labels) > 3
    upright = len(spec.x_labels) > 20  # too many to tilt without overlapping
    ax.set_xticks(range(len(spec.x_labels)), [_clip_text(x) for x in spec.x_labels],
                  rotation=90 if upright else 45 if tilt else 0, ha="right" if tilt and not upright else "center")
    ax.set_yticks(range(len(spec.y_labels)), [_clip_text(y) for y in spec.y_labels])
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(spec.title)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    if spec.annotations is not None and values.size <= MAX_ANNOTATED_CELLS:
        finite = values[np.isfinite(values)]
        hi = vmax if vmax is not None else (finite.max() if finite.size else 1.0)
        lo = vmin if vmin is not None else (finite.min() if finite.size else 0.0)
        size = 8 if values.shape[0] <= 6 else 7 if values.shape[0] <= 12 else 5
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if spec.center is not None:  # dark at both ends of a diverging scale
                    strong = np.isfinite(v) and abs(v - spec.center) > 0.6 * (hi - spec.center)
                else:
                    strong = np.isfinite(v) and v > lo + (hi - lo) / 2
                colour = "white" if strong else "#222222"
                ax.text(j, i, spec.annotations[i][j], ha="center", va="center", color=colour, fontsize=size,
                        rasterized=values.size > 48)  # many numbers: one raster layer, not a text node each
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.outline.set_visible(False)
    if spec.colorbar_label:
        bar.set_label(spec.colorbar_label)


def _bars(fig, ax, spec: Bars) -> None:
    positions = np.arange(len(spec.labels))
    if spec.points:
        ax.plot(spec.values, positions, "o", color=PALETTE[0], markersize=5, zorder=3)
        ax.grid(True, axis="x", color="#eef0f4", linewidth=0.6)
    else:
        ax.barh(positions, spec.values, color=PALETTE[0])
    if spec.errors:
        for pos, value, interval in zip(positions, spec.values, spec.errors):
            if interval is not None:
                ax.plot(interval, [pos, pos], color="#1d2330", linewidth=1.2)
                ax.plot(interval, [pos, pos], color="#1d2330", marker="|", markersize=7, linestyle="none")
    ax.set_yticks(positions, [_clip_text(label) for label in spec.labels])
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
    dense = sum(s.thin for s in spec.series) > 20  # many background lines (ICE): drawn as one raster image
    for s in spec.series:
        colour = s.color or PALETTE[turn % len(PALETTE)]
        turn += s.color is None
        kwargs = dict(color=colour, label=_clip_text(s.label, 40) if s.label else None,
                      linewidth=0.7 if s.thin else 1.4,
                      marker="o" if s.marker else None, markersize=3.5, rasterized=dense and s.thin)
        if s.style == "step":
            ax.step(s.x, s.y, where="post", **kwargs)
        else:
            ax.plot(s.x, s.y, linestyle="--" if s.style == "dashed" else "-", **kwargs)
        if s.errors:
            for x, interval in zip(s.x, s.errors):
                if interval is not None:  # None: no interval at that point
                    ax.plot([x, x], interval, color=colour, linewidth=0.9)
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
    if spec.xticklabels is not None:
        ax.set_xticks(range(len(spec.xticklabels)), [_clip_text(t, 10) for t in spec.xticklabels], rotation=30, ha="right")
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(_clip_text(spec.title, 80))
    ax.grid(True, color="#eef0f4", linewidth=0.6)
    if any(s.label for s in spec.series):
        ax.legend(loc="best")


def _scatter(fig, ax, spec: Scatter) -> None:
    few = len(spec.x) < 200
    ax.scatter(spec.x, spec.y, s=16 if few else 6, alpha=0.8 if few else 0.45, color=PALETTE[0], linewidths=0,
               rasterized=len(spec.x) > 500)
    if spec.logx:
        ax.set_xscale("log")
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


def _waterfall(fig, ax, spec: Waterfall) -> None:
    labels = ["base"] + [_clip_text(f, 14) for f, _ in spec.contributions] + ["other features", "prediction"]
    steps = [v for _, v in spec.contributions] + [spec.other]
    level = spec.base
    y = np.arange(len(labels))
    ax.barh(0, spec.base, color="#8a94a6")
    for i, v in enumerate(steps, start=1):
        ax.barh(i, v, left=level, color=PALETTE[3] if v > 0 else PALETTE[0])
        level += v
    ax.barh(len(labels) - 1, spec.total, color="#1d2330")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.axvline(spec.base, color="#9aa5b8", linewidth=0.8, linestyle=":")
    ax.set_title(_clip_text(spec.title, 48), fontsize=8)
    ax.set_xlabel("contribution")


def _beeswarm(fig, ax, spec: Beeswarm) -> None:
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("lowhigh", [PALETTE[0], "#d9dee7", PALETTE[1]])
    values = np.asarray(spec.values, dtype=float)
    n, F = values.shape
    rng = np.random.default_rng(0)
    for j in range(F):
        y = j + rng.uniform(-0.3, 0.3, n)
        colour = None if spec.colour_values is None else np.asarray(spec.colour_values)[:, j]
        if colour is None or np.all(np.isnan(colour)):
            ax.scatter(values[:, j], y, s=5, color="#8a94a6", alpha=0.7, linewidths=0, rasterized=n * F > 2000)
        else:
            ax.scatter(values[:, j], y, s=5, c=colour, cmap=cmap, vmin=0, vmax=1, alpha=0.8, linewidths=0,
                       rasterized=n * F > 2000)
    ax.axvline(0, color="#9aa5b8", linewidth=0.8)
    ax.set_yticks(range(F), [_clip_text(label) for label in spec.labels])
    ax.invert_yaxis()
    ax.set_xlabel(spec.xlabel)
    ax.set_title(spec.title)


def _image_grid(fig, ax, spec: ImageGrid) -> None:
    """Draws into a grid of inset axes that fill the panel."""
    ax.set_axis_off()
    n = len(spec.images)
    cols = min(spec.columns, n)
    rows = -(-n // cols)
    def reach(arrays):
        finite = np.concatenate([np.abs(np.asarray(a, float)).ravel() for a in arrays])
        return float(np.nanmax(finite)) if finite.size and np.nanmax(finite) > 0 else 1.0

    shared = reach(spec.overlays) if spec.overlays is not None and not spec.normalize else None
    for i in range(n):
        r, c = divmod(i, cols)
        sub = ax.inset_axes([c / cols + 0.01, 1 - (r + 1) / rows + 0.06 / rows, 1 / cols - 0.02, 1 / rows - 0.12 / rows])
        sub.imshow(spec.images[i], cmap=spec.grey, interpolation="nearest", alpha=0.55)
        if spec.overlays is not None:
            limit = shared or reach([spec.overlays[i]])
            sub.imshow(spec.overlays[i], cmap="RdBu_r" if spec.symmetric else "magma", alpha=0.75,
                       vmin=-limit if spec.symmetric else 0, vmax=limit, interpolation="nearest")
        sub.set_xticks([])
        sub.set_yticks([])
        for side in sub.spines.values():
            side.set_visible(False)
        sub.set_title(spec.titles[i], fontsize=6.5)


def _clip_text(label, limit: int = 18) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


DRAWERS = {Heatmap: _heatmap, Bars: _bars, Lines: _lines, Scatter: _scatter, Histogram: _histogram,
           Beeswarm: _beeswarm, ImageGrid: _image_grid, Waterfall: _waterfall}
