"""The figures' SVG made cheaper for the PDF, with the same picture: name-only groups and no-op rotations removed
(svg_compact), labels drawn by WeasyPrint as runs rather than one character at a time (svg_text_runs). Each is
checked against what it replaces: the same drawing instructions in the same order, the same pixels."""
import importlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from urllib.parse import quote

import numpy as np
import pytest

from postreport.report.figures import Bars, Heatmap, Lines, Marker, Panels, Series
from postreport.report import render_svg
from postreport.report.svg_compact import compact

SVG = "{http://www.w3.org/2000/svg}"
SPECS = [
    Bars(labels=["alpha", "beta <&> 'gamma'", "δ"], values=[0.3, -0.2, 0.9], title="Bars", xlabel="value"),
    Panels(panels=[Lines(series=[Series([0, 0.5, 1], [0, 0.8, 1], "model")], title="ROC", xlabel="FPR",
                         ylabel="TPR", diagonal=True, markers=[Marker(0.5, 0.8, "labels")]),
                   Lines(series=[Series([0, 1], [1, 0.4], "pr", style="step")], title="PR", xlabel="recall",
                         ylabel="precision")]),
    Heatmap(values=[[5, 1], [2, 7]], x_labels=["a", "b"], y_labels=["a", "b"], annotations=[["5", "1"], ["2", "7"]],
            title="Confusion", xlabel="predicted", ylabel="true"),
]


def matplotlib_svg(spec, monkeypatch) -> str:
    """The figure as matplotlib wrote it, before compact."""
    with monkeypatch.context() as m:
        m.setattr(render_svg, "compact", lambda svg: svg)
        return render_svg.draw_svg(spec)


def drawing(svg: str) -> list:
    """Every element that is not a group, in document order, with its attributes (a rotation by 0 dropped) and the
    attributes of the groups around it that have any but a name: what decides how it is drawn."""
    out = []

    def walk(element, context):
        for child in element:
            attrib = dict(child.attrib)
            if child.tag == f"{SVG}g":
                attrib.pop("id", None)
                walk(child, context + ((tuple(sorted(attrib.items())),) if attrib else ()))
                continue
            if re.fullmatch(r"rotate\(-?0 \S+ \S+\)", attrib.get("transform", "")):
                del attrib["transform"]
            out.append((child.tag, tuple(sorted(attrib.items())), (child.text or "").strip(), context))
            walk(child, context)

    walk(ET.fromstring(svg), ())
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: type(s).__name__)
def test_compact_keeps_every_drawing_instruction_in_order(spec, monkeypatch):
    original = matplotlib_svg(spec, monkeypatch)
    compacted = compact(original)
    assert drawing(compacted) == drawing(original)
    assert compacted.count("<g") < 0.2 * original.count("<g")
    assert 'transform="rotate(-0 ' not in compacted
    assert render_svg.draw_svg(spec) == compacted  # what the report embeds


def test_compact_leaves_what_it_cannot_follow_alone():
    assert compact("<svg><g>\n</svg>") == "<svg><g>\n</svg>"  # a group left open
    unbalanced = '<svg xmlns="http://www.w3.org/2000/svg">\n<path d="M 0 0"/>\n</g>\n</svg>'
    assert compact(unbalanced) == unbalanced
    clipped = '<g clip-path="url(#p1)">\n<path d="M 0 0"/>\n</g>'
    named = '<g id="a">\n<text x="1">&lt;g&gt;</text>\n</g>'
    assert compact(f"<svg>\n{clipped}\n{named}\n</svg>") == f'<svg>\n{clipped}\n<text x="1">&lt;g&gt;</text>\n</svg>'


# ---- the PDF: the same pixels --------------------------------------------------------------------------------------

def pixels(svg: str, tmp_path, name: str) -> np.ndarray:
    """The SVG as WeasyPrint puts it in a PDF, rasterised by poppler."""
    from PIL import Image
    from weasyprint import HTML, URLFetcher

    pdf = tmp_path / f"{name}.pdf"
    HTML(string=f'<img style="width:16cm" src="data:image/svg+xml;charset=utf-8,{quote(svg)}">',
         url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(tmp_path / name)], check=True)
    return np.asarray(Image.open(tmp_path / f"{name}.png").convert("L"), dtype=float)


def stock_text(monkeypatch):
    """WeasyPrint's own SVG text function back in place (for the duration of the test)."""
    import weasyprint.svg as svg

    stock = importlib.import_module("weasyprint.svg.text").text
    monkeypatch.setattr(svg, "text", stock)
    for tag in ("a", "text", "textPath", "tspan"):
        monkeypatch.setitem(svg.TAGS, tag, stock)


needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")


@needs_poppler
def test_compact_svg_prints_the_same_pixels(monkeypatch, tmp_path):
    original = matplotlib_svg(SPECS[1], monkeypatch)
    stock_text(monkeypatch)
    assert np.array_equal(pixels(original, tmp_path, "original"), pixels(compact(original), tmp_path, "compact"))


def installed() -> bool:
    import weasyprint

    from postreport.report import svg_text_runs

    if int(weasyprint.__version__.split(".")[0]) != svg_text_runs.TESTED_MAJOR:
        pytest.skip(f"svg_text_runs is written for WeasyPrint {svg_text_runs.TESTED_MAJOR}; this is "
                    f"{weasyprint.__version__}, which draws text its own way")
    return svg_text_runs.install()


@needs_poppler
def test_labels_drawn_as_runs_look_the_same_and_read_as_words(monkeypatch, tmp_path):
    from pypdf import PdfReader

    assert installed()
    svg = render_svg.draw_svg(SPECS[0])
    runs = pixels(svg, tmp_path, "runs")
    with monkeypatch.context() as m:
        stock_text(m)
        letters = pixels(svg, tmp_path, "letters")
    assert runs.shape == letters.shape
    # kerning moves a glyph by a fraction of a pixel: no more than a few grey levels on average, no glyph missing
    assert np.abs(runs - letters).mean() < 1.0
    assert abs((runs < 128).sum() - (letters < 128).sum()) < 0.02 * (letters < 128).sum()
    text = PdfReader(tmp_path / "runs.pdf").pages[0].extract_text()
    for label in ("alpha", "beta <&> 'gamma'", "Bars", "value"):
        assert label in text
    # one text object per label (11), not one per character (48)
    assert 3 * text_shows(tmp_path / "runs.pdf") < text_shows(tmp_path / "letters.pdf")


def text_shows(pdf) -> int:
    """How many text-showing operators (Tj, TJ) the page and the forms it draws hold."""
    from pypdf import PdfReader

    def count(stream) -> int:
        forms = stream.get("/Resources", {}).get("/XObject", {})
        data = stream.get_data()
        return data.count(b"Tj") + data.count(b"TJ") + sum(count(f.get_object()) for f in forms.values())

    page = PdfReader(pdf).pages[0]
    return count(page.get_contents()) + sum(count(f.get_object()) for f in page["/Resources"]["/XObject"].values())


@needs_poppler
def test_text_with_per_character_positions_is_left_to_weasyprint(monkeypatch, tmp_path):
    assert installed()
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="60pt" viewBox="0 0 200 60">'
           '<text x="10" y="20" dx="0 4 8" style="font-size: 12px; font-family: DejaVu Sans">spaced</text>'
           '<text x="10 30 50" y="45" style="font-size: 12px; font-family: DejaVu Sans">abc</text>'
           '<text x="120" y="45" letter-spacing="3" style="font-size: 12px">wide</text></svg>')
    patched = pixels(svg, tmp_path, "patched")
    with monkeypatch.context() as m:
        stock_text(m)
        stock = pixels(svg, tmp_path, "stock")
    assert np.array_equal(patched, stock)
    assert (patched < 128).sum() > 50  # the text was drawn


@needs_poppler
def test_a_label_the_run_cannot_lay_out_is_drawn_the_stock_way(monkeypatch, tmp_path):
    from postreport.report import svg_text_runs

    assert installed()
    svg = render_svg.draw_svg(SPECS[0])
    with monkeypatch.context() as m:
        stock_text(m)
        stock = pixels(svg, tmp_path, "stock")

    calls = []

    def fail(*args):
        calls.append(args)
        raise ValueError("a WeasyPrint this was not written for")

    monkeypatch.setattr(svg_text_runs, "lay_out", fail)
    assert np.array_equal(pixels(svg, tmp_path, "fallback"), stock)
    assert len(calls) >= 5  # every label tried the run first
