"""The report as a person receives it: opened in a real browser, printed to PDF pages, made twice, styled."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from conftest import cli, run_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own background traffic (updates, time, accounts), not the page's
BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")


def not_blank(png: Path) -> bool:
    from matplotlib.image import imread

    pixels = imread(png)
    return pixels.size > 0 and float(np.std(pixels)) > 0.01


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt-get)")
def test_html_opens_in_chromium_without_console_errors_or_network_requests(default_report, tmp_path):
    _, out = default_report
    netlog = tmp_path / "net.json"
    shot = tmp_path / "shot.png"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                           f"--log-net-log={netlog}", "--window-size=1280,2000", f"--screenshot={shot}",
                           (out / "report.html").resolve().as_uri()], capture_output=True, text=True, timeout=120)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    events = json.loads(netlog.read_text())["events"]
    urls = {e["params"]["url"] for e in events if "url" in e.get("params", {})}
    from_page = [u for u in urls if not u.startswith(("file:", "data:"))
                 and not any(host in u.split("/")[2] for host in BROWSER_HOSTS)]
    assert from_page == [], from_page
    assert shot.exists() and not_blank(shot)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed")
def test_pdf_pages_render_and_are_not_blank(default_report, tmp_path):
    _, out = default_report
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(out / "report.pdf"), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(out / "report.pdf").pages)
    assert all(not_blank(p) for p in pages)


@pytest.mark.slow
def test_sizes_and_metadata(default_report):
    _, out = default_report
    assert (out / "report.pdf").stat().st_size < 2_000_000
    assert (out / "report.html").stat().st_size < 6_000_000  # with plotly.js (4.8 MB) inlined for interactive figures
    meta = PdfReader(out / "report.pdf").metadata
    assert meta.subject and "breast_cancer" in meta.subject
    assert "lightgbm" in meta.get("/Keywords", "")


@pytest.mark.slow
def test_the_same_config_gives_the_same_pdf_text_and_attachments(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764000000")
    texts, attachments = [], []
    for run in ("a", "b"):
        _, out = run_report(tmp_path / run, ["data=wine", "model=logistic", "report.timings=false", "tuning.n_trials=3", "ensemble=none",
                                             "report.analyses=[metrics,curves,tuning,leaderboard]"],
                            formats=("pdf", "json"))  # the sections that show durations, and a figure
        reader = PdfReader(out / "report.pdf")
        texts.append("\n".join(page.extract_text() for page in reader.pages))
        attachments.append({name: content for name, content in reader.attachments.items()})
    assert texts[0] == texts[1]
    assert attachments[0] == attachments[1]
    assert "2025-11-24" in texts[0]  # the one run timestamp, from SOURCE_DATE_EPOCH


@pytest.mark.slow
def test_logo_theme_and_template_override(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 0.4))
    fig.text(0.1, 0.3, "ACME")
    fig.savefig(tmp_path / "logo.png")
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "report.html.j2").write_text(
        '{% extends "base.html.j2" %}\n{% block footer %}<footer class="wrap">Confidential: {{ report.title }}'
        '</footer>{% endblock %}\n')
    result, out = run_report(tmp_path, ["data=iris", "report.analyses=[metrics]", f"report.logo={tmp_path / 'logo.png'}",
                                        "+report.theme.accent='#aa3377'", f"report.template_dir={templates}"],
                             formats=("html", "pdf"))
    html = (out / "report.html").read_text()
    assert 'class="logo" src="data:image/png;base64,' in html
    assert "--accent: #aa3377" in html
    assert "Confidential: Model report" in html
    page_one = PdfReader(out / "report.pdf").pages[0]
    assert page_one.images  # the logo on the cover


@pytest.mark.parametrize("args,fragments", [
    (["report.logo=missing.png"], ["report.logo", "missing.png"]),
    (["+report.theme.accent='red; } body { display: none'"], ["report.theme.accent", "colour"]),
    (["+report.theme.glow='#fff'"], ["report.theme.glow", "accent"]),
])
@pytest.mark.slow
def test_bad_look_settings_exit_2(tmp_path, args, fragments):
    proc = cli(["data=iris", "report.analyses=[metrics]", *args], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.slow
def test_a_broken_user_template_names_the_template_and_line(tmp_path):
    templates = tmp_path / "tpl"
    (templates / "items").mkdir(parents=True)
    (templates / "items" / "note.html.j2").write_text("<div>\n{{ item.text }\n</div>\n")
    proc = cli(["data=iris", f"report.template_dir={templates}"], cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "note.html.j2" in proc.stderr and "line 2" in proc.stderr
    (templates / "items" / "note.html.j2").write_text("<div>\n{{ item.text.nosuch.deeper }}\n</div>\n")
    proc = cli(["data=iris", "report.analyses=[metrics]", f"report.template_dir={templates}",
                "report.formats=[html]"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "note.html.j2" in proc.stderr and "line 2" in proc.stderr
