"""The interactive renderer: the same figure specs the SVG renderer draws (postreport.figures), as Plotly figures
for report.html (hover with exact values, zoom, pan, legend toggles). No second computation: only the specs. The
JSON goes into a <script type="application/json"> with <, > and & escaped, so no label can close the script."""
from __future__ import annotations

import json

import numpy as np

from ..figures import Bars, Beeswarm, Heatmap, Histogram, ImageGrid, Lines, Panels, Scatter, Waterfall
from .render_svg import PALETTE, _height

PX = 96  # pixels per inch of the specs' heights
COLORSCALES = {"Blues": "Blues", "RdBu_r": "RdBu_r", "RdBu": "RdBu", "coolwarm": "RdBu_r", "viridis": "Viridis",
               "Greys": "Greys", "Reds": "Reds", "Greens": "Greens", "bwr": "RdBu_r"}


def figure_json(spec) -> str:
    """The spec as Plotly figure JSON, safe inside a <script> element."""
    from plotly.utils import PlotlyJSONEncoder

    text = json.dumps(_compact(figure_dict(spec)), cls=PlotlyJSONEncoder, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _compact(value):
    """Numbers to 5 significant digits (what a hover shows, and a third of the bytes of full precision)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_compact(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, float):
        return float(f"{value:.5g}") if np.isfinite(value) else None
    return value


def figure_dict(spec) -> dict:
    from plotly.subplots import make_subplots

    panels = spec.panels if isinstance(spec, Panels) else [spec]
    columns = (spec.columns if isinstance(spec, Panels) else 0) or len(panels)
    rows = -(-len(panels) // columns)
    height = (spec.height if isinstance(spec, Panels) else _height(spec)) * rows
    secondary = [[{"secondary_y": isinstance(p, Lines) and p.bars is not None} for p in panels[r * columns:
                  (r + 1) * columns]] + [{}] * (columns - len(panels[r * columns:(r + 1) * columns]))
                 for r in range(rows)]
    fig = make_subplots(rows=rows, cols=columns, specs=secondary, horizontal_spacing=0.12,
                        vertical_spacing=0.12 if rows > 1 else 0.0,
                        subplot_titles=[getattr(p, "title", "") or "" for p in panels])
    for k, panel in enumerate(panels):
        row, col = k // columns + 1, k % columns + 1
        DRAWERS[type(panel)](fig, panel, row, col)
    fig.update_layout(template="simple_white", height=int(max(height, 2.2) * PX), autosize=True,
                      margin={"l": 60, "r": 20, "t": 40, "b": 50}, font={"family": "DejaVu Sans, sans-serif", "size": 12},
                      legend={"font": {"size": 11}}, hoverlabel={"font_size": 12}, colorway=PALETTE)
    fig.update_annotations(font_size=13)
    return fig.to_plotly_json()


def _axes(fig, row, col, xlabel="", ylabel="", xlim=None, ylim=None, secondary=False):
    fig.update_xaxes(title_text=xlabel or None, row=row, col=col, **({"range": list(xlim)} if xlim else {}))
    fig.update_yaxes(title_text=ylabel or None, row=row, col=col, **({"range": list(ylim)} if ylim else {}),
                     **({"secondary_y": False} if secondary else {}))


def _values(seq) -> list:
    return [None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v
            for v in np.asarray(seq, dtype=object).tolist()]


def _lines(fig, spec: Lines, row, col) -> None:
    import plotly.graph_objects as go

    secondary = spec.bars is not None
    where = {"row": row, "col": col, **({"secondary_y": False} if secondary else {})}
    if secondary:
        edges, counts = np.asarray(spec.bars[0], float), np.asarray(spec.bars[1], float)
        fig.add_trace(go.Bar(x=((edges[:-1] + edges[1:]) / 2).tolist(), y=counts.tolist(),
                             width=np.diff(edges).tolist(), marker_color="#d9dee7", name="rows", showlegend=False,
                             hovertemplate="%{x:.3f}: %{y} rows<extra></extra>"), row=row, col=col, secondary_y=True)
        fig.update_yaxes(title_text="rows", showgrid=False, row=row, col=col, secondary_y=True)
    if spec.diagonal:
        low, high = spec.xlim or (0, 1)
        fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": "#999"},
                                 hoverinfo="skip", showlegend=False), **where)
    for s in spec.series:
        line = {"dash": "dash" if s.style == "dashed" else "solid", "shape": "hv" if s.style == "step" else "linear",
                "width": 0.8 if s.thin else 2}
        if s.color:
            line["color"] = s.color
        errors = None
        if s.errors is not None:
            low = [None if e is None else y - e[0] for y, e in zip(s.y, s.errors)]
            high = [None if e is None else e[1] - y for y, e in zip(s.y, s.errors)]
            errors = {"type": "data", "symmetric": False, "array": _values(high), "arrayminus": _values(low)}
        label = s.label or spec.title or "curve"
        hover = (f"{_h(spec.xlabel) or 'x'} %{{x:.4g}}<br>{_h(spec.ylabel) or 'y'} %{{y:.4g}}"
                 + ("<br>%{text}" if s.hover else "") + f"<extra>{_h(label)}</extra>")
        fig.add_trace(go.Scatter(x=_values(s.x), y=_values(s.y), mode="lines+markers" if s.marker else "lines",
                                 name=s.label or label, showlegend=bool(s.label), line=line, error_y=errors,
                                 text=list(s.hover) if s.hover else None, hovertemplate=hover,
                                 opacity=0.6 if s.thin else 1.0), **where)
    for m in spec.markers or []:
        fig.add_trace(go.Scatter(x=[m.x], y=[m.y], mode="markers", marker={"size": 10, "color": "#000"},
                                 name=m.label, showlegend=bool(m.label),
                                 hovertemplate=f"{_h(m.label)}<br>%{{x:.4g}}, %{{y:.4g}}<extra></extra>"), **where)
    for x, label in spec.vlines or []:
        fig.add_vline(x=x, line_dash="dot", line_color="#555", annotation_text=label, annotation_font_size=10,
                      row=row, col=col)
    if spec.xticklabels:
        fig.update_xaxes(tickvals=list(range(len(spec.xticklabels))), ticktext=[str(t) for t in spec.xticklabels],
                         row=row, col=col)
    _axes(fig, row, col, spec.xlabel, spec.ylabel, spec.xlim, spec.ylim, secondary)


def _bars(fig, spec: Bars, row, col) -> None:
    import plotly.graph_objects as go

    labels = [str(v) for v in spec.labels]
    values = _values(spec.values)
    errors = None
    if spec.errors is not None:
        high = [None if e is None or v is None else e[1] - v for v, e in zip(values, spec.errors)]
        low = [None if e is None or v is None else v - e[0] for v, e in zip(values, spec.errors)]
        errors = {"type": "data", "symmetric": False, "array": high, "arrayminus": low, "color": "#333"}
    text = [str(t) for t in spec.value_labels] if spec.value_labels else None
    hover = f"%{{y}}: %{{x:.4g}}{'<br>%{text}' if text else ''}<extra></extra>"
    if spec.points:
        fig.add_trace(go.Scatter(x=values, y=labels, mode="markers", marker={"size": 8, "color": PALETTE[0]},
                                 error_x=errors, text=text, hovertemplate=hover, showlegend=False), row=row, col=col)
        fig.add_vline(x=0, line_color="#999", line_dash="dot", row=row, col=col)
    else:
        fig.add_trace(go.Bar(x=values, y=labels, orientation="h", marker_color=PALETTE[0], error_x=errors,
                             text=text, textposition="outside" if text else None, hovertemplate=hover,
                             showlegend=False), row=row, col=col)
    fig.update_yaxes(autorange="reversed", type="category", row=row, col=col)
    _axes(fig, row, col, spec.xlabel, "", spec.xlim)


def _heatmap(fig, spec: Heatmap, row, col) -> None:
    import plotly.graph_objects as go

    values = np.asarray(spec.values, dtype=float)
    zmin, zmax = spec.vmin, spec.vmax
    if spec.center is not None and np.isfinite(values).any():
        reach = float(np.nanmax(np.abs(values - spec.center))) or 1.0
        zmin, zmax = spec.center - reach, spec.center + reach
    text = [[str(a) for a in r] for r in spec.annotations] if spec.annotations is not None else None
    fig.add_trace(go.Heatmap(
        z=[_values(r) for r in values], x=[str(v) for v in spec.x_labels], y=[str(v) for v in spec.y_labels],
        zmin=zmin, zmax=zmax, colorscale=COLORSCALES.get(spec.cmap, "Blues"), text=text,
        texttemplate="%{text}" if text is not None and values.size <= 400 else None,
        hovertemplate=(f"{_h(spec.ylabel) or 'row'} %{{y}}<br>{_h(spec.xlabel) or 'column'} %{{x}}<br>"
                       f"{_h(spec.colorbar_label) or 'value'} %{{z:.4g}}" + ("<br>%{text}" if text else "")
                       + "<extra></extra>"),
        colorbar={"title": {"text": spec.colorbar_label}, "len": 0.8}, showscale=True), row=row, col=col)
    fig.update_yaxes(autorange="reversed", type="category", row=row, col=col)
    fig.update_xaxes(type="category", row=row, col=col)
    _axes(fig, row, col, spec.xlabel, spec.ylabel)


def _scatter(fig, spec: Scatter, row, col) -> None:
    import plotly.graph_objects as go

    x, y = _values(spec.x), _values(spec.y)
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", marker={"size": 4, "opacity": 0.5, "color": PALETTE[0]},
                             showlegend=False, hovertemplate=f"{_h(spec.xlabel) or 'x'} %{{x:.4g}}<br>"
                                                             f"{_h(spec.ylabel) or 'y'} %{{y:.4g}}<extra></extra>"),
                  row=row, col=col)
    finite = [v for v in x + y if v is not None]
    if spec.diagonal and finite:
        low, high = min(finite), max(finite)
        fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", line={"dash": "dot", "color": "#999"},
                                 hoverinfo="skip", showlegend=False), row=row, col=col)
    if spec.hline is not None:
        fig.add_hline(y=spec.hline, line_dash="dot", line_color="#999", row=row, col=col)
    if spec.logx:
        fig.update_xaxes(type="log", row=row, col=col)
    _axes(fig, row, col, spec.xlabel, spec.ylabel)


def _histogram(fig, spec: Histogram, row, col) -> None:
    import plotly.graph_objects as go

    edges = np.asarray(spec.edges, float)
    fig.add_trace(go.Bar(x=((edges[:-1] + edges[1:]) / 2).tolist(), y=_values(spec.counts),
                         width=np.diff(edges).tolist(), marker_color=PALETTE[0], showlegend=False,
                         customdata=np.column_stack([edges[:-1], edges[1:]]).tolist(),
                         hovertemplate="[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y}<extra></extra>"),
                  row=row, col=col)
    _axes(fig, row, col, spec.xlabel, spec.ylabel)


def _waterfall(fig, spec: Waterfall, row, col) -> None:
    import plotly.graph_objects as go

    names = [str(f) for f, _ in spec.contributions] + ["other features"]
    values = [float(v) for _, v in spec.contributions] + [float(spec.other)]
    fig.add_trace(go.Waterfall(orientation="h", y=names[::-1], x=values[::-1], base=float(spec.base),
                               measure=["relative"] * len(values), showlegend=False,
                               increasing={"marker": {"color": PALETTE[3]}}, decreasing={"marker": {"color": PALETTE[0]}},
                               hovertemplate="%{y}: %{x:+.4g}<extra></extra>"), row=row, col=col)
    fig.add_vline(x=float(spec.base), line_dash="dot", line_color="#999", row=row, col=col)
    _axes(fig, row, col, f"base {spec.base:.3g} → prediction {spec.total:.3g}", "")


def _beeswarm(fig, spec: Beeswarm, row, col) -> None:
    import plotly.graph_objects as go

    values = np.asarray(spec.values, dtype=float)
    rng = np.random.default_rng(0)
    for j, label in enumerate(spec.labels):
        colours = None if spec.colour_values is None else _values(np.asarray(spec.colour_values, float)[:, j])
        fig.add_trace(go.Scatter(
            x=_values(values[:, j]), y=(j + rng.uniform(-0.3, 0.3, len(values))).tolist(), mode="markers",
            marker={"size": 4, "color": colours, "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                    "showscale": j == 0 and colours is not None,
                    "colorbar": {"title": {"text": "feature value"}, "tickvals": [0, 1], "ticktext": ["low", "high"]}},
            name=str(label), showlegend=False,
            hovertemplate=f"{_h(label)}<br>attribution %{{x:.4g}}<extra></extra>"), row=row, col=col)
    fig.update_yaxes(tickvals=list(range(len(spec.labels))), ticktext=[str(v) for v in spec.labels],
                     autorange="reversed", row=row, col=col)
    _axes(fig, row, col, spec.xlabel, "")


def _image_grid(fig, spec: ImageGrid, row, col) -> None:
    """Images side by side in one panel: each image (and its overlay) on its own x offset."""
    import plotly.graph_objects as go

    gap = 1
    for k, image in enumerate(spec.images):
        image = np.asarray(image, dtype=float)
        h, w = image.shape
        r, c = divmod(k, max(1, min(spec.columns, len(spec.images))))
        x0, y0 = c * (w + gap), r * (h + gap)
        xs, ys = (np.arange(w) + x0).tolist(), (np.arange(h) + y0).tolist()
        fig.add_trace(go.Heatmap(z=image.tolist(), x=xs, y=ys, colorscale="Greys", showscale=False,
                                 hovertemplate=f"{_h(spec.titles[k])}<br>pixel %{{z:.3g}}<extra></extra>"),
                      row=row, col=col)
        if spec.overlays is not None:
            overlay = np.asarray(spec.overlays[k], dtype=float)
            reach = float(np.nanmax(np.abs(overlay))) or 1.0 if spec.normalize else None
            fig.add_trace(go.Heatmap(z=overlay.tolist(), x=xs, y=ys, colorscale="RdBu_r", opacity=0.55,
                                     zmin=-reach if reach else None, zmax=reach, showscale=False,
                                     hovertemplate=f"{_h(spec.titles[k])}<br>attribution %{{z:.3g}}<extra></extra>"),
                          row=row, col=col)
        fig.add_annotation(x=x0 + w / 2, y=y0 - 0.8, text=str(spec.titles[k]), showarrow=False, font_size=10,
                           row=row, col=col)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False, row=row, col=col)
    fig.update_xaxes(visible=False, row=row, col=col)


def _h(text) -> str:
    """Text inside a Plotly hover template: its %{...} and HTML are literal (labels are data)."""
    import html

    return html.escape(str(text)).replace("%{", "%&#123;")


DRAWERS = {Lines: _lines, Bars: _bars, Heatmap: _heatmap, Scatter: _scatter, Histogram: _histogram,
           Waterfall: _waterfall, Beeswarm: _beeswarm, ImageGrid: _image_grid}
