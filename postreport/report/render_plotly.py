"""The interactive renderer: the same figure specs the SVG renderer draws (postreport.report.figures), as Plotly figures
for report.html (hover with exact values, zoom, pan, legend toggles). No second computation: only the specs.

The figures are written as plotly.js's JSON directly (traces and layout as in plotly.js's schema): building them
with plotly.py's graph objects cost about 60 ms a figure (its make_subplots and per-property validation), a second
on the default report; this costs a few ms. plotly.py provides plotly.js itself (render_html.plotly_js). The JSON goes
into a <script type="application/json"> with <, > and & escaped, so no label can close the script."""
from __future__ import annotations

import html
import json

import numpy as np

from postreport.report.figures import Bars, Beeswarm, Heatmap, Histogram, ImageGrid, Lines, Panels, Scatter, Waterfall
from postreport.report.format import script_safe
from postreport.report.render_svg import PALETTE, figure_height

PX = 96  # pixels per inch of the specs' heights
SPACING = 0.12  # between panels, as a share of the figure
AXIS_STYLE = {"showline": True, "linecolor": "#444", "ticks": "outside", "tickcolor": "#444", "showgrid": False,
              "zeroline": False, "automargin": True}
# The SVG figures' colour maps as explicit scales (plotly.js's named scales run differently from matplotlib's)
BLUES = [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]]
DIVERGING = [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#b2182b"]]  # RdBu_r: blue low, red high
COLORSCALES = {"Blues": BLUES, "RdBu_r": DIVERGING, "RdBu": DIVERGING[::-1], "coolwarm": DIVERGING}
GREYS = [[0, "#ffffff"], [1, "#000000"]]  # gray_r: ink on paper
LOW_HIGH = [[0, PALETTE[0]], [0.5, "#d9dee7"], [1, PALETTE[1]]]  # the beeswarm's feature values


def figure_json(spec) -> str:
    """The spec as Plotly figure JSON, safe inside a <script> element."""
    return script_safe(json.dumps(figure_dict(spec), separators=(",", ":"), allow_nan=False))


class Panel:
    """One panel's axes (x<k>, y<k>, and a second y axis on the right when asked) in the figure's layout."""

    def __init__(self, figure: dict, k: int, domain_x: list, domain_y: list, secondary: int = 0):
        self.figure, self.x, self.y = figure, f"x{k if k > 1 else ''}", f"y{k if k > 1 else ''}"
        self.domain_x, self.domain_y = domain_x, domain_y
        layout = figure["layout"]
        layout[f"xaxis{k if k > 1 else ''}"] = {**AXIS_STYLE, "domain": domain_x, "anchor": self.y}
        layout[f"yaxis{k if k > 1 else ''}"] = {**AXIS_STYLE, "domain": domain_y, "anchor": self.x}
        self.y2 = None
        if secondary:
            self.y2 = f"y{secondary}"
            layout[f"yaxis{secondary}"] = {**AXIS_STYLE, "overlaying": self.y, "side": "right", "anchor": self.x}

    def add(self, trace: dict, secondary: bool = False) -> None:
        trace["xaxis"], trace["yaxis"] = self.x, (self.y2 if secondary else self.y)
        self.figure["data"].append(trace)

    def axis(self, which: str, **props) -> None:
        name = {"x": self.x, "y": self.y, "y2": self.y2}[which]
        self.figure["layout"][f"{name[0]}axis{name[1:]}"].update(props)

    def line(self, x=None, y=None, label: str = "") -> None:
        """A dotted reference line across the panel at x (vertical) or y (horizontal)."""
        shape = {"type": "line", "line": {"dash": "dot", "color": "#555", "width": 1}}
        if x is not None:
            shape.update(xref=self.x, x0=x, x1=x, yref=f"{self.y} domain", y0=0, y1=1)
        else:
            shape.update(yref=self.y, y0=y, y1=y, xref=f"{self.x} domain", x0=0, x1=1)
        self.figure["layout"].setdefault("shapes", []).append(shape)
        if label and x is not None:
            self.figure["layout"]["annotations"].append({
                "text": _h(label), "x": x, "xref": self.x, "y": 1, "yref": f"{self.y} domain", "showarrow": False,
                "textangle": -90, "xanchor": "right", "yanchor": "top", "font": {"size": 10, "color": "#555"}})


def figure_dict(spec) -> dict:
    panels = spec.panels if isinstance(spec, Panels) else [spec]
    columns = (spec.columns if isinstance(spec, Panels) else 0) or len(panels)
    rows = -(-len(panels) // columns)
    height = (spec.height if isinstance(spec, Panels) else figure_height(spec)) * rows
    figure = {"data": [], "layout": {
        "height": int(max(height, 2.2) * PX), "autosize": True, "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "font": {"family": "DejaVu Sans, sans-serif", "size": 12},
        "legend": {"font": {"size": 11}}, "hoverlabel": {"font": {"size": 12}}, "colorway": PALETTE,
        "hovermode": "closest", "annotations": []}}
    labels = [len(str(v)) for p in panels[1:] for v in getattr(p, "labels", None) or getattr(p, "y_labels", None) or []]
    gap = min(0.35, max(SPACING, 0.0075 * max(labels) + 0.05)) if labels and columns > 1 else SPACING  # y labels
    if columns > 1 and any(isinstance(p, Heatmap) for p in panels[:-1]):
        gap += 0.08  # room for a colour bar between panels
    width = (1 - gap * (columns - 1)) / columns
    tall = (1 - SPACING * (rows - 1)) / rows
    extra = len(panels)  # second y axes are numbered after the panels' own
    for k, spec_k in enumerate(panels):
        r, c = divmod(k, columns)
        x0, y1 = c * (width + gap), 1 - r * (tall + SPACING)
        secondary = isinstance(spec_k, Lines) and spec_k.bars is not None
        if secondary:
            extra += 1
        panel = Panel(figure, k + 1, [x0, min(1.0, x0 + width)], [max(0.0, y1 - tall), y1],
                      extra if secondary else 0)
        if getattr(spec_k, "title", ""):
            figure["layout"]["annotations"].append({
                "text": _h(spec_k.title), "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper",
                "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
        DRAWERS[type(spec_k)](panel, spec_k)
    if extra > len(panels):  # a right-hand axis: the legend goes beyond its tick labels
        figure["layout"]["legend"].update(x=1.1, xanchor="left")
        figure["layout"]["margin"]["r"] = 170
    return _compact(figure)


def _compact(value):
    """Numbers to 5 significant digits (what a hover shows, and a third of the bytes of full precision); NaN and
    infinities as null."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_compact(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (float, np.floating)):
        return float(f"{value:.5g}") if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _titles(panel: Panel, xlabel="", ylabel="", xlim=None, ylim=None) -> None:
    panel.axis("x", **({"title": {"text": _h(xlabel)}} if xlabel else {}), **({"range": list(xlim)} if xlim else {}))
    panel.axis("y", **({"title": {"text": _h(ylabel)}} if ylabel else {}), **({"range": list(ylim)} if ylim else {}))


def _values(seq) -> list:
    return [None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v
            for v in np.asarray(seq, dtype=object).tolist()]


def _whiskers(values: list, errors) -> dict:
    """Plotly error bars from [low, high] per point (None: no whisker)."""
    high = [None if e is None or v is None else e[1] - v for v, e in zip(values, errors)]
    low = [None if e is None or v is None else v - e[0] for v, e in zip(values, errors)]
    return {"type": "data", "symmetric": False, "array": high, "arrayminus": low, "color": "#333", "thickness": 1}


def _lines(panel: Panel, spec: Lines) -> None:
    if spec.bars is not None:
        edges, counts = np.asarray(spec.bars[0], float), np.asarray(spec.bars[1], float)
        panel.add({"type": "bar", "x": (edges[:-1] + edges[1:]) / 2, "y": counts, "width": np.diff(edges),
                   "marker": {"color": "#d9dee7"}, "name": "rows", "showlegend": False,
                   "hovertemplate": "%{x:.3f}: %{y} rows<extra></extra>"}, secondary=True)
        panel.axis("y2", title={"text": "rows"})
    if spec.diagonal:
        low, high = spec.xlim or (0, 1)
        panel.add({"type": "scatter", "x": [low, high], "y": [low, high], "mode": "lines", "hoverinfo": "skip",
                   "line": {"dash": "dot", "color": "#999"}, "showlegend": False})
    for s in spec.series:
        line = {"dash": "dash" if s.style == "dashed" else "solid", "shape": "hv" if s.style == "step" else "linear",
                "width": 0.8 if s.thin else 2}
        if s.color:
            line["color"] = s.color
        label = s.label or spec.title or "curve"
        y = _values(s.y)
        trace = {"type": "scatter", "x": _values(s.x), "y": y, "mode": "lines+markers" if s.marker else "lines",
                 "name": _h(label), "showlegend": bool(s.label), "line": line, "opacity": 0.6 if s.thin else 1.0,
                 "hovertemplate": f"{_h(spec.xlabel) or 'x'} %{{x:.4g}}<br>{_h(spec.ylabel) or 'y'} %{{y:.4g}}"
                                  + ("<br>%{text}" if s.hover else "") + f"<extra>{_h(label)}</extra>"}
        if s.hover:
            trace["text"] = [_h(t) for t in s.hover]
        if s.errors is not None:
            trace["error_y"] = _whiskers(y, s.errors)
        panel.add(trace)
    for m in spec.markers or []:
        panel.add({"type": "scatter", "x": [m.x], "y": [m.y], "mode": "markers", "name": _h(m.label),
                   "showlegend": bool(m.label), "marker": {"size": 10, "color": "#000"},
                   "hovertemplate": f"{_h(m.label)}<br>%{{x:.4g}}, %{{y:.4g}}<extra></extra>"})
    for x, label in spec.vlines or []:
        panel.line(x=x, label=label)
    if spec.xticklabels:
        panel.axis("x", tickvals=list(range(len(spec.xticklabels))), ticktext=[_h(t) for t in spec.xticklabels])
    _titles(panel, spec.xlabel, spec.ylabel, spec.xlim, spec.ylim)


def _bars(panel: Panel, spec: Bars) -> None:
    labels, values = [_h(v) for v in spec.labels], _values(spec.values)
    text = [_h(t) for t in spec.value_labels] if spec.value_labels else None
    trace = {"x": values, "y": labels, "showlegend": False,
             "hovertemplate": "%{y}: %{x:.4g}" + ("<br>%{text}" if text else "") + "<extra></extra>"}
    if text:
        trace["text"] = text
    if spec.errors is not None:
        trace["error_x"] = _whiskers(values, spec.errors)
    if spec.points:
        trace.update(type="scatter", mode="markers", marker={"size": 8, "color": PALETTE[0]})
        panel.line(x=0)
    else:
        trace.update(type="bar", orientation="h", marker={"color": PALETTE[0]}, textposition="outside" if text else None)
    if not spec.toggle:
        panel.add(trace)
    else:  # one trace per bar: the legend hides and shows each
        for k, name in enumerate(labels):
            single = {key: ([v[k]] if isinstance(v, list) and len(v) == len(labels) else v) for key, v in trace.items()}
            if "error_x" in trace:
                single["error_x"] = {**trace["error_x"], "array": [trace["error_x"]["array"][k]],
                                     "arrayminus": [trace["error_x"]["arrayminus"][k]]}
            single.update(name=name, showlegend=True, legendgroup=name,
                          marker={**single.get("marker", {}), "color": PALETTE[k % len(PALETTE)]})
            panel.add(single)
        panel.axis("y", categoryorder="array", categoryarray=labels)
    panel.axis("y", autorange="reversed", type="category")
    _titles(panel, spec.xlabel, "", spec.xlim)


def _heatmap(panel: Panel, spec: Heatmap) -> None:
    values = np.asarray(spec.values, dtype=float)
    zmin, zmax = spec.vmin, spec.vmax
    if spec.center is not None and np.isfinite(values).any():
        reach = float(np.nanmax(np.abs(values - spec.center))) or 1.0
        zmin, zmax = spec.center - reach, spec.center + reach
    trace = {"type": "heatmap", "z": values, "x": [_h(v) for v in spec.x_labels], "y": [_h(v) for v in spec.y_labels],
             "colorscale": COLORSCALES.get(spec.cmap, BLUES), "zmin": zmin, "zmax": zmax,
             "colorbar": {"title": {"text": _h(spec.colorbar_label)}, "thickness": 12, "xanchor": "left",
                          "x": panel.domain_x[1] + 0.01, "len": panel.domain_y[1] - panel.domain_y[0],
                          "y": panel.domain_y[0], "yanchor": "bottom"},
             "hovertemplate": f"{_h(spec.ylabel) or 'row'} %{{y}}<br>{_h(spec.xlabel) or 'column'} %{{x}}<br>"
                              f"{_h(spec.colorbar_label) or 'value'} %{{z:.4g}}"
                              + ("<br>%{text}" if spec.annotations is not None else "") + "<extra></extra>"}
    if spec.annotations is not None:
        trace["text"] = [[_h(a) for a in row] for row in spec.annotations]
        if values.size <= 400:
            trace["texttemplate"] = "%{text}"
    panel.add(trace)
    panel.axis("y", autorange="reversed", type="category")
    panel.axis("x", type="category")
    _titles(panel, spec.xlabel, spec.ylabel)


def _scatter(panel: Panel, spec: Scatter) -> None:
    x, y = _values(spec.x), _values(spec.y)
    panel.add({"type": "scatter", "x": x, "y": y, "mode": "markers", "showlegend": False,
               "marker": {"size": 4, "opacity": 0.5, "color": PALETTE[0]},
               "hovertemplate": f"{_h(spec.xlabel) or 'x'} %{{x:.4g}}<br>{_h(spec.ylabel) or 'y'} %{{y:.4g}}"
                                "<extra></extra>"})
    finite = [v for v in x + y if v is not None]
    if spec.diagonal and finite:
        low, high = min(finite), max(finite)
        panel.add({"type": "scatter", "x": [low, high], "y": [low, high], "mode": "lines", "hoverinfo": "skip",
                   "line": {"dash": "dot", "color": "#999"}, "showlegend": False})
    if spec.hline is not None:
        panel.line(y=spec.hline)
    if spec.logx:
        panel.axis("x", type="log")
    _titles(panel, spec.xlabel, spec.ylabel)


def _histogram(panel: Panel, spec: Histogram) -> None:
    edges = np.asarray(spec.edges, float)
    panel.add({"type": "bar", "x": (edges[:-1] + edges[1:]) / 2, "y": _values(spec.counts), "width": np.diff(edges),
               "marker": {"color": PALETTE[0]}, "showlegend": False,
               "customdata": np.column_stack([edges[:-1], edges[1:]]),
               "hovertemplate": "[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y}<extra></extra>"})
    _titles(panel, spec.xlabel, spec.ylabel)


def _waterfall(panel: Panel, spec: Waterfall) -> None:
    names = [_h(f) for f, _ in spec.contributions] + ["other features"]
    values = [float(v) for _, v in spec.contributions] + [float(spec.other)]
    # drawn as floating bars (each from the running total before it), so the report's plotly.js needs no waterfall
    # trace module: the same picture as plotly's waterfall with relative measures, bottom bar first
    names, values = names[::-1], values[::-1]
    starts = float(spec.base) + np.concatenate([[0.0], np.cumsum(values)[:-1]])
    panel.add({"type": "bar", "orientation": "h", "y": names, "x": values, "base": starts.tolist(),
               "marker": {"color": [PALETTE[3] if v >= 0 else PALETTE[0] for v in values]}, "showlegend": False,
               "hovertemplate": "%{y}: %{x:+.4g}<extra></extra>"})
    panel.line(x=float(spec.base))
    _titles(panel, f"base {spec.base:.3g} → prediction {spec.total:.3g}", "")


def _beeswarm(panel: Panel, spec: Beeswarm) -> None:
    values = np.asarray(spec.values, dtype=float)
    rng = np.random.default_rng(0)
    for j, label in enumerate(spec.labels):
        marker = {"size": 4, "color": PALETTE[0]}
        if spec.colour_values is not None:
            marker = {"size": 4, "color": _values(np.asarray(spec.colour_values, float)[:, j]), "colorscale": LOW_HIGH,
                      "cmin": 0, "cmax": 1, "showscale": j == 0,
                      "colorbar": {"title": {"text": "feature value"}, "tickvals": [0, 1], "ticktext": ["low", "high"]}}
        panel.add({"type": "scatter", "x": _values(values[:, j]), "y": j + rng.uniform(-0.3, 0.3, len(values)),
                   "mode": "markers", "marker": marker, "name": _h(label), "showlegend": False,
                   "hovertemplate": f"{_h(label)}<br>attribution %{{x:.4g}}<extra></extra>"})
    panel.axis("y", tickvals=list(range(len(spec.labels))), ticktext=[_h(v) for v in spec.labels],
               autorange="reversed")
    _titles(panel, spec.xlabel, "")


def _image_grid(panel: Panel, spec: ImageGrid) -> None:
    """Images side by side in one panel: each image (and its overlay) at its own offset."""
    gap = 1
    per_row = max(1, min(spec.columns, len(spec.images)))
    for k, image in enumerate(spec.images):
        image = np.asarray(image, dtype=float)
        h, w = image.shape
        r, c = divmod(k, per_row)
        x0, y0 = c * (w + gap), r * (h + gap)
        xs, ys = np.arange(w) + x0, np.arange(h) + y0
        title = _h(spec.titles[k])
        panel.add({"type": "heatmap", "z": image, "x": xs, "y": ys, "colorscale": GREYS, "showscale": False,
                   "hovertemplate": f"{title}<br>pixel %{{z:.3g}}<extra></extra>"})
        if spec.overlays is not None:
            overlay = np.asarray(spec.overlays[k], dtype=float)
            reach = (float(np.nanmax(np.abs(overlay))) or 1.0) if np.isfinite(overlay).any() else 1.0
            panel.add({"type": "heatmap", "z": overlay, "x": xs, "y": ys, "colorscale": DIVERGING,
                       "opacity": 0.55, "zmin": -reach, "zmax": reach, "showscale": False,
                       "hovertemplate": f"{title}<br>attribution %{{z:.3g}}<extra></extra>"})
        panel.figure["layout"]["annotations"].append({
            "text": title, "x": x0 + w / 2, "y": y0 - 0.8, "xref": panel.x, "yref": panel.y, "showarrow": False,
            "font": {"size": 10}})
    panel.axis("y", autorange="reversed", scaleanchor=panel.x, visible=False)
    panel.axis("x", visible=False)


def _h(text) -> str:
    """A label as Plotly shows it: plotly.js renders a subset of HTML in text, so the label's own <, > and & are
    escaped, and '%{' is broken so that no label becomes a hover-template field (labels are data)."""
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")


DRAWERS = {Lines: _lines, Bars: _bars, Heatmap: _heatmap, Scatter: _scatter, Histogram: _histogram,
           Waterfall: _waterfall, Beeswarm: _beeswarm, ImageGrid: _image_grid}
