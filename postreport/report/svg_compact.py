"""Fewer SVG elements for the same picture. matplotlib wraps every artist in a group that only names it
(`<g id="xtick_3">`, `<g id="line2d_7">`, and bare `<g>` around each tick mark): more than half of a report figure's
elements, each of which WeasyPrint cascades and saves and restores the graphics state for when it draws the PDF. Such a
group has no attribute but its name, so its children drawn in its place look the same; nothing refers to those names
(the figure is an image, and matplotlib's references point at clip paths and markers, which are kept). The
`rotate(-0 x y)` matplotlib puts on every horizontal label is a rotation by nothing and goes too."""
from __future__ import annotations

import re

NAME_ONLY = re.compile(r'<g(?: id="[^"<>]*")?>')  # a group start tag with no attribute but its name
NO_ROTATION = re.compile(r' transform="rotate\(-?0(?:\.0*)? [-+0-9.e]+ [-+0-9.e]+\)"')


def compact(svg: str) -> str:
    """The same picture with fewer elements. matplotlib writes each start and end tag of a group on a line of its
    own (user text inside is escaped, so it cannot look like one); anything else is returned as it is."""
    kept: list = []  # for each open group: is it kept?
    out = []
    for line in svg.split("\n"):
        tag = line.strip()
        if (tag == "<g>" or tag.startswith("<g ")) and not tag.endswith("/>"):
            kept.append(NAME_ONLY.fullmatch(tag) is None)
            if not kept[-1]:
                continue
        elif tag == "</g>":
            if not kept:
                return svg
            if not kept.pop():
                continue
        elif tag.startswith("<text "):
            line = NO_ROTATION.sub("", line, count=1)
        out.append(line)
    return svg if kept else "\n".join(out)
