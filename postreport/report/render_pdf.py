"""PDF: the report's HTML with the print stylesheet, through WeasyPrint, which may fetch nothing but the
report's own inline resources (data: URLs). metrics.json and the composed config are attached."""
from __future__ import annotations


def render_pdf(html: str, report, metrics_json: str, config_yaml: str) -> bytes:
    from weasyprint import HTML, Attachment, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    attachments = [
        Attachment(string=metrics_json, name="metrics.json", description="Metrics of this report (JSON)",
                   url_fetcher=fetcher),
        Attachment(string=config_yaml, name="config.yaml", description="The composed Hydra configuration",
                   url_fetcher=fetcher),
    ]
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    document.metadata.keywords = report.keywords
    return document.write_pdf(attachments=attachments, uncompressed_pdf=False)
