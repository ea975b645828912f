"""Issue 13: the interactive report.html (Plotly figures from the same specs, the threshold explorer, filterable
tables) and postreport-dashboard over many runs; checked in the files and, where Chromium, chromedriver and Selenium
are installed, in a real browser."""
import html.parser
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


class Scripts(html.parser.HTMLParser):
    """Each <script>'s attributes and text; and the ids of interactive figures."""

    def __init__(self):
        super().__init__()
        self.scripts, self.figures, self._open = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._open = [attrs, ""]
        if tag == "figure" and "interactive" in (attrs.get("class") or ""):
            self.figures.append(attrs["id"])

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append(tuple(self._open))
            self._open = None


def parse(path: Path) -> Scripts:
    parser = Scripts()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def binary_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interactive")
    return run_report(tmp, ["report.analyses=[metrics,confusion_matrix,curves,thresholds,slices]"],
                      formats=("html", "json", "pdf"))


def plots_of(out: Path) -> dict:
    parsed = parse(out / "report.html")
    plots = {a["id"]: json.loads(text) for a, text in parsed.scripts
             if a.get("type") == "application/json" and a.get("id", "").endswith("-plot")}
    assert len(plots) == len(parsed.figures)
    return plots


@pytest.mark.slow
def test_every_figure_has_its_interactive_version_and_plotly_is_inlined_once(binary_report):
    result, out = binary_report
    page = (out / "report.html").read_text()
    plots = plots_of(out)
    assert len(plots) >= 4
    assert len(re.findall(r"\* plotly\.js [^\n]*v\d", page)) == 1 and "<script src=" not in page
    # the partial bundle (templates/plotly-cartesian.min.js): no third-party URL, only XML namespace names
    assert {u for u in re.findall(r"https?://[^\s\"'<>)]+", page) if not u.startswith("http://www.w3.org/")} == set()
    # the ROC panel's curve is the curves payload (to the 5 significant digits the page keeps)
    roc = result.metrics["results"]["curves"]["roc"]["positive"]
    traces = [t for fig in plots.values() for t in fig["data"] if t.get("x") and len(t["x"]) == len(roc["fpr"])
              and "threshold" in json.dumps(t.get("text"))]
    assert traces, "no ROC trace with thresholds on hover"
    np.testing.assert_allclose(traces[0]["x"], roc["fpr"], rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(traces[0]["y"], roc["tpr"], rtol=1e-4, atol=1e-9)


@pytest.mark.slow
def test_the_explorer_counts_are_the_test_rows_at_each_threshold(binary_report):
    result, out = binary_report
    curve = result.metrics["results"]["thresholds"]["curve"]
    preds = pd.read_parquet(out / "predictions.parquet")
    positive = "malignant"
    y = (preds["y_true"] == positive).to_numpy()
    score = preds[f"score_{positive}"].to_numpy()
    for i in range(0, len(curve["threshold"]), max(1, len(curve["threshold"]) // 7)):
        flagged = score >= curve["threshold"][i]
        assert curve["tp"][i] == np.sum(flagged & y) and curve["fp"][i] == np.sum(flagged & ~y)
    data = [json.loads(text) for a, text in parse(out / "report.html").scripts
            if "explorer-data" in (a.get("class") or "")]
    assert len(data) == 1 and data[0]["tp"] == curve["tp"] and data[0]["P"] == y.sum() and data[0]["N"] == (~y).sum()


@pytest.mark.slow
def test_the_pdf_and_a_static_page_are_left_as_they_were(binary_report, tmp_path):
    from pypdf import PdfReader

    _, out = binary_report
    text = "".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert "Move the threshold" not in text and "Filter rows" not in text
    _, static = run_report(tmp_path, ["report.analyses=[metrics,confusion_matrix,curves,thresholds,slices]",
                                      "report.interactive=false"], formats=("html",))
    page = (static / "report.html").read_text()
    assert not re.search(r"\* plotly\.js [^\n]*v\d", page) and "data-explorer" not in page
    assert not parse(static / "report.html").figures
    assert (static / "report.html").stat().st_size < (out / "report.html").stat().st_size - 1_400_000  # no plotly.js


@pytest.mark.slow
def test_labels_cannot_close_the_scripts(tmp_path):
    """Class labels and column names a stranger controls stay data inside the figure JSON."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 3))
    evil = "</script><img src=x onerror=alert(1)>&"
    y = np.where(x[:, 0] + rng.normal(0, 1, n) > 0, evil, "ok")
    frame = pd.DataFrame(x, columns=["a", "b</script>", "c&d"]).assign(y=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    _, out = run_report(tmp_path, ["data=file", f"data.path={tmp_path / 'd.csv'}", "data.target=y",
                                   f"data.positive_label='{evil}'", "report.analyses=[metrics,curves,thresholds,"
                                   "feature_importance]"], formats=("html",))
    parsed = parse(out / "report.html")
    blobs = [t for a, t in parsed.scripts if a.get("type") == "application/json"]
    assert blobs and all("<" not in t and ">" not in t and "&" not in t for t in blobs)
    explorer = next(json.loads(t) for a, t in parsed.scripts if "explorer-data" in (a.get("class") or ""))
    assert explorer["positive"] == evil  # the label is whole once parsed
    # in the figures a label is text for plotly.js, which renders a little HTML: escaped, it shows as written
    assert any("b&lt;/script&gt;" in json.dumps(json.loads(t), ensure_ascii=False) for t in blobs)


# --- the dashboard ---------------------------------------------------------------------------------------------


def fake_run(folder: Path, metrics: dict, overrides=(), task="binary", model="lightgbm", status=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".hydra").mkdir(exist_ok=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides) or "[]\n")
    (folder / ".hydra" / "config.yaml").write_text(f"data:\n  name: synthetic\nmodel:\n  name: {model}\n")
    payload = {**metrics, **{f"{k}_ci": [v - 0.01, v + 0.01] for k, v in metrics.items()}}
    (folder / "metrics.json").write_text(json.dumps({
        "task": task, "model": {"name": model}, "metrics": metrics, "gates": [], "sections": [],
        "results": {"metrics": payload}}))
    if status:
        (folder / "job.json").write_text(json.dumps({"status": status, "exit_code": 0 if status == "ok" else 1}))
    return folder


def dashboard(*args):
    return subprocess.run([sys.executable, "-c", "from postreport.integrations.dashboard import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_dashboard_over_runs_and_a_sweep_with_a_cache(tmp_path, binary_report):
    _, real = binary_report
    shutil.copytree(real, tmp_path / "outputs" / "real run #1")
    sweep = tmp_path / "multirun" / "s"
    for k, leaves in enumerate((7, 15, 31)):
        fake_run(sweep / str(k), {"roc_auc": 0.9 + k / 100, "accuracy": 0.8}, [f"model.params.num_leaves={leaves}"],
                 status="ok")
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    (tmp_path / "outputs" / "broken").mkdir()
    (tmp_path / "outputs" / "broken" / "metrics.json").write_text("{ not json")
    for name, text in (("nan", '{"metrics": {"accuracy": NaN}}'), ("inf", '{"metrics": {"f1": -Infinity}}'),
                       ("shape", '{"metrics": {}, "gates": ["a"]}')):
        (tmp_path / "outputs" / name).mkdir()
        (tmp_path / "outputs" / name / "metrics.json").write_text(text)
    proc = dashboard(tmp_path / "outputs", tmp_path / "multirun", "--out", tmp_path / "dash.html")
    assert proc.returncode == 0, proc.stderr
    assert "4 runs, 8 read now" in proc.stdout and "4 skipped" in proc.stdout
    page = (tmp_path / "dash.html").read_text()
    data = next(json.loads(t) for a, t in parse(tmp_path / "dash.html").scripts if a.get("id") == "dashboard-data")
    rows = {r["run"]: r for r in data["rows"]}
    assert rows["outputs/real run #1"]["report"] == "outputs/real%20run%20%231/report.html"
    assert 'href="outputs/real%20run%20%231/report.html"' in page
    assert rows["multirun/s/2"]["params"] == {"model.params.num_leaves": "31"}
    assert rows["multirun/s/2"]["sweep"] == "multirun/s" and rows["multirun/s/2"]["metrics"]["roc_auc"] == pytest.approx(0.92)
    doc = json.loads((real / "metrics.json").read_text())
    assert rows["outputs/real run #1"]["metrics"]["roc_auc"] == doc["metrics"]["roc_auc"]
    # each broken run is a skipped row with its reason in words (one NaN took the whole page down)
    assert "metrics.json is not valid JSON (line 1, column 3" in page
    assert "metrics.json holds NaN, which postreport never writes" in page
    assert "metrics.json holds -Infinity" in page and "&#39;gates&#39; holds entries that are not objects" in page
    again = dashboard(tmp_path / "outputs", tmp_path / "multirun", "--out", tmp_path / "dash.html")
    assert "0 read now" in again.stdout
    fake_run(sweep / "3", {"roc_auc": 0.95}, ["model.params.num_leaves=63"], status="ok")
    third = dashboard(tmp_path / "outputs", tmp_path / "multirun", "--out", tmp_path / "dash.html")
    assert "5 runs, 1 read now" in third.stdout


def test_dashboard_bad_folders_exit_2(tmp_path):
    missing = dashboard(tmp_path / "nope")
    assert missing.returncode == 2 and "not a folder" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = dashboard(tmp_path / "empty")
    assert empty.returncode == 2 and "no run found" in empty.stderr


# --- in a real browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them with apt-get)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--enable-unsafe-swiftshader"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def page_requests(driver) -> list:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if not u.startswith(("file:", "data:", "blob:"))]


def severe(driver) -> list:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def not_blank(driver, path: Path) -> bool:
    from matplotlib.image import imread

    driver.save_screenshot(str(path))
    return float(np.std(imread(path))) > 0.01


@pytest.mark.slow
def test_the_report_in_a_browser(browser, binary_report, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    result, out = binary_report
    browser.get((out / "report.html").resolve().as_uri())
    browser.get_log("browser"), browser.get_log("performance")  # from here on, this page only
    browser.get((out / "report.html").resolve().as_uri())
    # the threshold explorer: move the slider, read the cells, compare with the payload
    box = browser.find_element(By.CSS_SELECTOR, '.explorer[data-explorer="thresholds"]')
    browser.execute_script("arguments[0].scrollIntoView()", box)
    slider = box.find_element(By.CSS_SELECTOR, "input.threshold-slider")
    curve = result.metrics["results"]["thresholds"]["curve"]
    last = len(curve["threshold"]) - 1
    P, N = curve["tp"][-1], curve["fp"][-1]
    for value in (0, last // 3, last - 2):
        browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
                               slider, value)
        i = int(box.get_attribute("data-index"))
        assert i == last - value
        cells = {k: int(box.find_element(By.CSS_SELECTOR, f'[data-cell="{k}"]').text) for k in ("tp", "fn", "fp", "tn")}
        assert cells == {"tp": curve["tp"][i], "fn": P - curve["tp"][i], "fp": curve["fp"][i], "tn": N - curve["fp"][i]}
        shown = box.find_element(By.CSS_SELECTOR, '[data-metric="cost"]').text
        assert shown == f"{curve['cost'][i]:.3f}"
    # hover the ROC curve: the tooltip names the threshold
    figure = browser.find_element(By.CSS_SELECTOR, "#analysis-curves figure.interactive")
    browser.execute_script("arguments[0].scrollIntoView()", figure)
    deadline = time.time() + 10
    while "live" not in (figure.get_attribute("class") or "") and time.time() < deadline:
        time.sleep(0.1)
    plot = figure.find_element(By.CSS_SELECTOR, ".plot")
    # where a point of the ROC curve is on the screen, from the plot's own axes, relative to the plot's centre
    dx, dy, expected = browser.execute_script("""
        var gd = arguments[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        var tr = gd.data.filter(function (t) { return t.text && String(t.text[0]).indexOf("threshold") >= 0; })[0];
        var i = Math.floor(tr.x.length / 2), box = gd.getBoundingClientRect();
        return [xa._offset + xa.l2p(tr.x[i]) - box.width / 2, ya._offset + ya.l2p(tr.y[i]) - box.height / 2,
                tr.text[i]];""", plot)
    ActionChains(browser).move_to_element_with_offset(plot, int(dx), int(dy)).perform()
    time.sleep(0.5)
    hovered = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".hoverlayer .hovertext"))
    assert expected.startswith("threshold") and expected in hovered and "True positive rate" in hovered
    # a long table can be filtered
    assert severe(browser) == []
    assert page_requests(browser) == []
    assert not_blank(browser, tmp_path / "report.png")


@pytest.mark.slow
def test_the_dashboard_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By

    for k in range(6):
        fake_run(tmp_path / "runs" / f"run{k}", {"roc_auc": 0.5 + k / 20, "f1": 0.9 - k / 50},
                 [f"model={'lightgbm' if k % 2 else 'logistic'}"], model="lightgbm" if k % 2 else "logistic")
    assert dashboard(tmp_path / "runs").returncode == 0
    browser.get((tmp_path / "runs" / "dashboard.html").resolve().as_uri())
    browser.get_log("browser"), browser.get_log("performance")
    browser.get((tmp_path / "runs" / "dashboard.html").resolve().as_uri())
    table = browser.find_element(By.ID, "runs")
    heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    column = heads.index("roc_auc")
    table.find_elements(By.CSS_SELECTOR, "thead th")[column].click()

    def column_values():
        return [float(r.find_elements(By.TAG_NAME, "td")[column].text.split()[0])
                for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]

    assert column_values() == sorted(column_values()) and len(column_values()) == 6
    table.find_elements(By.CSS_SELECTOR, "thead th")[column].click()
    assert column_values() == sorted(column_values(), reverse=True)
    search = browser.find_element(By.ID, "search")
    search.send_keys("logistic")
    assert len(column_values()) == 3
    search.clear()
    search.send_keys("x")
    search.clear()
    browser.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    picks = table.find_elements(By.CSS_SELECTOR, "input.pick")
    picks[0].click()
    picks[1].click()
    compare = browser.find_element(By.ID, "compare")
    assert compare.is_displayed()
    diff = compare.find_element(By.CSS_SELECTOR, '[data-metric="roc_auc"]').text
    rows = [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")][:2]
    first, second = (float(r.find_elements(By.TAG_NAME, "td")[column].text.split()[0]) for r in rows)
    assert float(diff) == pytest.approx(second - first, abs=1e-4)
    assert browser.find_elements(By.CSS_SELECTOR, "#over-time .main-svg")
    assert severe(browser) == []
    assert page_requests(browser) == []
    assert not_blank(browser, tmp_path / "dashboard.png")


def test_the_leaderboard_figure_toggles_each_candidate():
    """Bars(toggle=True) is one legend entry per bar (a click hides or shows that candidate), whiskers kept."""
    from postreport.report.figures import Bars
    from postreport.report.render_plotly import figure_dict

    spec = Bars(["lightgbm", "logistic", "stacking (a+b)"], [0.91, 0.88, 0.93], "ROC AUC by model", "ROC AUC",
                errors=[[0.89, 0.93], [0.85, 0.9], [0.91, 0.95]], points=True, toggle=True)
    traces = figure_dict(spec)["data"]
    assert [t["name"] for t in traces] == spec.labels and all(t["showlegend"] for t in traces)
    assert [t["x"] for t in traces] == [[0.91], [0.88], [0.93]]
    assert [t["error_x"]["array"][0] for t in traces] == pytest.approx([0.02, 0.02, 0.02])
