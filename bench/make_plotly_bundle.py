"""Writes templates/plotly-cartesian.min.js, the plotly.js the report inlines (issue 29), from the npm registry's
`plotly.js-cartesian-dist-min` of the same version plotly.py ships (its trace types: bar, box, contour, heatmap,
histogram(2d), image, pie, scatter, violin; no maps, 3-D or WebGL: 1.5 MB against 4.8 MB), and its licence.

Third-party URLs are taken out, so that the page names no server: licence banners' links (comments), error
messages' documentation links, the modebar logo's link (the report hides the logo), and two defaults of features the
bundle or the report never uses (the Chart Studio server, the map-tile folder of geo traces, which this bundle does
not have). The XML namespace identifiers (http://www.w3.org/...) stay: the DOM needs them and no one fetches them.

    python bench/make_plotly_bundle.py            # needs npm (the registry) once; the result is committed
"""
from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

VERSION = "4.1.1"  # plotly.py 7.1's plotly.js
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "templates" / "plotly-cartesian.min.js"
LICENCE = ROOT / "templates" / "plotly-LICENSE.txt"
KEEP = re.compile(r"^https?://www\.w3\.org/")
URL = re.compile(r"https?://[^\s\"'`)<>\\]+")
REPLACE = {
    '"https://cloud.plotly.com/newchart"': '""',  # plotlyServerURL: "Edit in Chart Studio", off by default
    '"https://cdn.plot.ly/un/"': '"topojson/"',  # topojsonURL: geo traces' map files (not in this bundle)
}


def clean(text: str) -> str:
    for old, new in REPLACE.items():
        text = text.replace(old, new)
    return URL.sub(lambda m: m.group(0) if KEEP.match(m.group(0)) else "", text)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"plotly.js-cartesian-dist-min@{VERSION}"], cwd=tmp, check=True,
                       capture_output=True)
        archive = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            js = tar.extractfile("package/plotly-cartesian.min.js").read().decode("utf-8")
            licence = tar.extractfile("package/LICENSE").read().decode("utf-8")
    cleaned = clean(js)
    left = sorted({u for u in URL.findall(cleaned) if not KEEP.match(u)})
    assert not left, left
    OUT.write_text(cleaned, encoding="utf-8")
    LICENCE.write_text(f"plotly.js {VERSION} (plotly.js-cartesian-dist-min), third-party links removed\n\n"
                       + licence, encoding="utf-8")
    print(f"{OUT}: {len(cleaned):,} bytes (from {len(js):,})")


if __name__ == "__main__":
    main()
