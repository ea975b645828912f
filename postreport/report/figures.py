"""What a figure shows, as data: the specs analyses return. Renderers draw them (report/render_svg.py for
the HTML and the PDF); analyses never draw."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

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
    cmap: str = "Blues"
    center: Optional[float] = None  # a diverging scale symmetric around this value


@dataclass
class Bars:
    labels: list
    values: list
    title: str = ""
    xlabel: str = ""
    value_labels: Optional[list] = None
    errors: Optional[list] = None  # [low, high] (or None) per bar: drawn as whiskers
    xlim: Optional[tuple] = None
    points: bool = False  # dots with whiskers on a zoomed axis instead of bars from zero (a forest plot)
    toggle: bool = False  # interactive figure: one legend entry per bar, to hide and show each (e.g. candidates)


@dataclass
class Series:
    x: list
    y: list
    label: str = ""
    style: str = "line"  # line | dashed | step
    color: Optional[str] = None  # None: the next colour of the palette
    thin: bool = False  # a background line (e.g. one of many classes)
    marker: bool = False  # mark each point (few points, e.g. calibration bins)
    errors: Optional[list] = None  # [low, high] per point: drawn as vertical whiskers
    hover: Optional[list] = None  # text per point for the interactive figure (e.g. the threshold of a curve point)


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
    xticklabels: Optional[list] = None  # category names at x = 0, 1, ...


@dataclass
class Waterfall:
    """One prediction built up from the base value by each feature's contribution."""

    title: str
    contributions: list  # [(feature, value)], largest first
    other: float  # the remaining features, summed
    base: float
    total: float


@dataclass
class Beeswarm:
    """One row of dots per feature: each dot a test row's attribution, coloured by the feature's value."""

    values: np.ndarray  # (rows, features)
    labels: list
    colour_values: Optional[np.ndarray] = None  # (rows, features) in 0..1, NaN for none
    title: str = ""
    xlabel: str = ""


@dataclass
class ImageGrid:
    """Images with an optional heat map over each (saliency)."""

    images: list  # 2-D arrays
    titles: list
    overlays: Optional[list] = None  # 2-D arrays, same shapes; drawn with a diverging colour map
    columns: int = 6
    symmetric: bool = True  # overlay colour scale centred on 0
    normalize: bool = True  # each overlay scaled to its own largest magnitude (shapes compare, sizes do not)
    grey: str = "gray_r"  # the images' colour map: gray_r (ink on paper, e.g. digits) or gray (photographs)


@dataclass
class Scatter:
    x: list
    y: list
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    diagonal: bool = False
    hline: Optional[float] = None
    logx: bool = False


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
