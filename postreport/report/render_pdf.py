"""PDF: the report's HTML with the print stylesheet, through WeasyPrint, which may fetch nothing but the
report's own inline resources (data: URLs). Files (metrics.json, the composed config) are attached."""
from __future__ import annotations


def render_pdf(html: str, report, attachments: list) -> bytes:
    """attachments: [(file name, text, description)]"""
    from weasyprint import HTML, Attachment, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    files = [Attachment(string=text, name=name, description=description, url_fetcher=fetcher)
             for name, text, description in attachments]
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    document.metadata.keywords = report.keywords
    return document.write_pdf(attachments=files, uncompressed_pdf=False)
