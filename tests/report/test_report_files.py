"""The files a user receives: PDF (pypdf), HTML (a parser), metrics.json."""
import json
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from conftest import run_report

SECTION_TITLES = ["Executive summary", "Summary", "Checks of the experiment", "Evaluation metrics", "Per-class performance", "Confusion matrix",
                  "ROC and precision-recall curves", "Calibration", "Conformal prediction", "Decision threshold", "Performance by slice",
                  "Data drift",
                  "Error analysis", "Feature importance", "Saliency", "Hyperparameter tuning", "Leaderboard and ensembles",
                  "Sections not applicable",
                  "Provenance"]


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value is not None:
                self.urls.append(value)

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    p = Collect()
    p.feed(html)
    return p


@pytest.mark.slow
def test_default_run_writes_three_files(default_report):
    result, out = default_report
    assert result.exit_code == 0
    for name in ("report.html", "report.pdf", "metrics.json"):
        assert (out / name).stat().st_size > 1000
    doc = json.loads((out / "metrics.json").read_text())
    assert set(doc) >= {"task", "n_train", "n_test", "metrics", "results", "sections"}
    assert doc == result.metrics
    assert not list(out.glob(".*.tmp"))  # no leftovers of the atomic writes


@pytest.mark.slow
def test_pdf_pages_text_bookmarks_metadata_attachments(default_report):
    result, out = default_report
    reader = PdfReader(out / "report.pdf")
    assert len(reader.pages) >= 5
    text = "\n".join(page.extract_text() for page in reader.pages)
    accuracy = result.metrics["metrics"]["accuracy"]
    assert f"{accuracy:.3f}" in text
    for title in SECTION_TITLES:
        assert title in text
    assert f"page 2 of {len(reader.pages)}" in text
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert outline == SECTION_TITLES
    assert reader.metadata.title == "Model report" and reader.metadata.author == "QA team"
    attachments = reader.attachments
    assert json.loads(attachments["metrics.json"][0]) == json.loads((out / "metrics.json").read_text())
    assert b"data:" in attachments["config.yaml"][0] or b"model:" in attachments["config.yaml"][0]


def scripts(html: str) -> tuple:
    """(the page's inline code, the texts of its JSON data elements); a script with a src fails the caller."""
    import re

    found = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert all("src" not in attrs for attrs, _ in found)
    return ([text for attrs, text in found if "application/json" not in attrs],
            [text for attrs, text in found if "application/json" in attrs])


@pytest.mark.slow
def test_html_is_self_contained(default_report):
    _, out = default_report
    html = (out / "report.html").read_text()
    p = parse(html)
    assert p.urls, "the report has figures and navigation links"
    for url in p.urls:
        assert url.startswith("#") or url.startswith("data:image/"), url
    code, data = scripts(html)
    assert len(code) <= 3 and "link" not in p.tags and "iframe" not in p.tags  # tables, plotly.js, the figures
    assert "<script src" not in html and all("<" not in d for d in data)
    assert "@import" not in html and "url(http" not in html
    assert sum(1 for t in p.tags if t == "img") >= 2  # class balance + confusion matrix
    text = " ".join(p.text)
    for title in SECTION_TITLES:
        assert title in text


@pytest.mark.slow
def test_stranger_controlled_names_are_escaped(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 120
    x = rng.normal(size=n)
    frame = pd.DataFrame({
        "<script>x</script>": x,
        "other": rng.normal(size=n),
        "label": np.where(x > 0, "<img src=x onerror=alert(1)>", "plain"),
    })
    path = tmp_path / "evil.csv"
    frame.to_csv(path, index=False)
    result, out = run_report(tmp_path, ["data=file", f"data.path={path}", "data.target=label",
                                        "report.title='<b>t</b>'"], formats=("html", "json"))
    html = (out / "report.html").read_text()
    p = parse(html)
    code, data = scripts(html)
    assert len(code) == 3 and all("<" not in d and ">" not in d for d in data)  # names stay data in the JSON
    assert p.tags.count("img") == sum(1 for u in p.urls if u.startswith("data:image/"))
    assert "&lt;script&gt;x&lt;/script&gt;" in html or "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>t</b>" not in html and "&lt;b&gt;t&lt;/b&gt;" in html
    assert all(u.startswith(("#", "data:image/")) for u in p.urls)
    assert result.metrics["results"]["confusion_matrix"]["labels"] == ["<img src=x onerror=alert(1)>", "plain"]


def test_pdf_fetches_nothing_outside_the_report(tmp_path):
    """A report whose HTML names a remote image, a remote stylesheet and a local file: the PDF renderer opens none
    of them (a local HTTP server counts requests; a fetched file image would be embedded in the PDF)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from io import BytesIO

    from pypdf import PdfReader

    from postreport.report.render_pdf import render_pdf

    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5b6d5c00000000049454e44ae426082")
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = png if self.path.endswith(".png") else b"body { background: url(/bg.png); }"
            self.send_response(200)
            self.send_header("Content-Type", "image/png" if self.path.endswith(".png") else "text/css")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        (tmp_path / "local.png").write_bytes(png)
        html = (f'<html><head><link rel="stylesheet" href="{url}/style.css"></head><body>'
                f'<img src="{url}/remote.png"><img src="{(tmp_path / "local.png").as_uri()}"><p>hi</p></body></html>')

        class R:
            keywords = []

        pdf = render_pdf(html, R(), [("a.json", "{}", "")])
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert requests == [], f"the PDF renderer fetched {requests}"
    assert not PdfReader(BytesIO(pdf)).pages[0].images, "a file: image was embedded"
    import gc

    assert gc.get_freeze_count() == 0  # the objects frozen while WeasyPrint runs are collectable again
