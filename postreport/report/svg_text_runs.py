"""SVG labels drawn as runs of text in the PDF, not one character at a time.

WeasyPrint 70 draws each character of an SVG `<text>` on its own: a Pango layout and a PDF text object per character
(Kozea/WeasyPrint#2249; the fix, #2754, was not merged). That is what the per-character attributes (`x`/`y` lists,
`dx`, `dy`, `rotate`, `letter-spacing`, `textLength`) need, and matplotlib's labels use none of them: a label is one
string at one point. For such a `<text>` this draws the string as one run (as a browser does: one layout, kerned);
every other `<text>` goes to WeasyPrint's own function. It was a third of the default report's PDF drawing (2,500
characters in 407 labels).

WeasyPrint's internals change between versions, so this is installed only on the version it was written and tested
against (70); any other version draws text its own way."""
from __future__ import annotations

import importlib
from math import inf

TESTED_MAJOR = 70
PER_CHARACTER = frozenset({"dx", "dy", "rotate", "letter-spacing", "textLength", "lengthAdjust", "direction",
                           "display-anchor", "dominant-baseline", "alignment-baseline"})
_installed = False


def install() -> bool:
    """Route simple SVG text through draw_run (once per process). True when WeasyPrint is the tested version."""
    global _installed
    if _installed:
        return True
    import weasyprint
    import weasyprint.svg as svg

    stock = importlib.import_module("weasyprint.svg.text").text
    if int(weasyprint.__version__.split(".")[0]) != TESTED_MAJOR or svg.TAGS.get("text") is not stock:
        return False

    def text(image, node, font_size):
        if not _simple(node):
            return stock(image, node, font_size)
        try:
            run = lay_out(image, node, font_size)
        except Exception:  # whatever this text needs that a run does not give: WeasyPrint's own way
            return stock(image, node, font_size)
        draw_run(image, node, run)

    # the name `text` in weasyprint.svg is also what draw_node compares tags with, for text-anchor
    for tag in ("a", "text", "textPath", "tspan"):
        if svg.TAGS.get(tag) is stock:
            svg.TAGS[tag] = text
    svg.text = text
    _installed = True
    return True


def _simple(node) -> bool:
    """One string at one point: no child element, no per-character attribute, one x and one y at most."""
    if not node.text or node.tag != "text" or PER_CHARACTER.intersection(node.attrib) or list(node):
        return False
    return all(len(node.get(axis, "").replace(",", " ").split()) <= 1 for axis in ("x", "y"))


def lay_out(image, node, font_size) -> tuple:
    """The run's style, Pango layout, width, height, baseline and anchor point: nothing drawn, nothing changed."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.svg.text import Style
    from weasyprint.svg.utils import size
    from weasyprint.text.line_break import split_first_line

    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = image.font_config
    style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    weight = {"normal": 400, "bold": 700}.get(weight, weight)
    try:
        style["font_weight"] = int(weight)
    except ValueError:
        style["font_weight"] = 400
    style["font_size"] = font_size
    layout, _, _, width, height, baseline = split_first_line(node.text, style, image.context, inf, 0)
    x = size(node.get("x"), font_size, image.inner_width) if "x" in node.attrib else None
    y = size(node.get("y"), font_size, image.inner_height) if "y" in node.attrib else None
    return style, layout, width, height, baseline, x, y


def draw_run(image, node, run: tuple) -> None:
    """WeasyPrint's svg.text.text for a node that _simple accepts, with the string drawn once."""
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import TextBox

    style, layout, width, height, baseline, x, y = run
    # as the stock function for its first character: an x or y given resets the relative shift (which only an
    # earlier dx or dy can have set)
    if x:
        image.cursor_d_position[0] = 0
    if y:
        image.cursor_d_position[1] = 0
    x = image.cursor_position[0] if x is None else x
    y = image.cursor_position[1] if y is None else y
    image.cursor_position = x + width, y
    x_position, y_position = x + image.cursor_d_position[0], y + image.cursor_d_position[1]
    top = y_position - baseline
    node.text_bounding_box = extend_bounding_box(
        node.text_bounding_box, ((x_position, top), (x_position + width, top + height)))

    image.stream.push_state()
    fill, stroke = image.set_graphical_state(node, style["font_size"])
    image.stream.begin_text()
    layout.reactivate(style)
    image.fill_stroke(fill, stroke, text=True)
    box = TextBox(layout, style)
    box.baseline = baseline
    emojis = draw_first_line(image.stream, box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
    image.stream.end_text()
    image.stream.pop_state()
    draw_emojis(image.stream, style, x, y, emojis)
