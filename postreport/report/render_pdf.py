"""PDF: the report's HTML with the print stylesheet, through WeasyPrint, which may fetch nothing but the
report's own inline resources (data: URLs). Files (metrics.json, the composed config) are attached."""
from __future__ import annotations

import gc
import threading

from postreport.report import svg_text_runs


def warm_up():
    """Start importing WeasyPrint and parsing its default stylesheet in a background thread (about half a second),
    so that it overlaps the analyses; render_pdf joins it. Returns the thread."""
    def work():
        from weasyprint import HTML, URLFetcher

        svg_text_runs.install()
        HTML(string="<p>warm</p>", url_fetcher=URLFetcher(allowed_protocols={"data"})).render()

    thread = threading.Thread(target=work, name="weasyprint-warm-up", daemon=True)
    thread.start()
    return thread


def render_pdf(html: str, report, attachments: list) -> bytes:
    """attachments: [(file name, text, description)]"""
    from weasyprint import HTML, Attachment, URLFetcher

    svg_text_runs.install()
    fetcher = URLFetcher(allowed_protocols={"data"})
    files = [Attachment(string=text, name=name, description=description, url_fetcher=fetcher)
             for name, text, description in attachments]
    # WeasyPrint allocates a few hundred thousand objects; each collection they trigger would also scan everything
    # the run holds (data, models, results). Frozen, those are left out (0.2 s of the default report's 2.4 s).
    gc.freeze()
    try:
        document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
        document.metadata.keywords = report.keywords
        return document.write_pdf(attachments=files, uncompressed_pdf=False)
    finally:
        gc.unfreeze()
