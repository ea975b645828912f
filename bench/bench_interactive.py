"""Issue 13's budgets: the interactive report.html <= 6 MB for the default report and interactive <= 2 s after load
in headless Chromium; the default run with interactive HTML <= +1 s over the static one; the dashboard over 1,000
run folders <= 10 s first build, <= 2 s on a rebuild with 10 new runs, page <= 10 MB.

    python bench/bench_interactive.py [--repeats 3] [--runs 1000]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTREPORT = [sys.executable, "-c", "from postreport.cli import console; console()"]


def timed(cmd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def browser_timings(page: Path) -> dict:
    """Load (navigation start to the load event); then, the first figure scrolled into view, until it is interactive
    (figures are drawn when they come near the screen); then until every figure is (each scrolled into view in
    turn), in headless Chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(page.resolve().as_uri())
        load = driver.execute_script("return performance.timing.loadEventEnd - performance.timing.navigationStart")
        start = time.perf_counter()
        driver.execute_script("document.querySelector('figure.interactive').scrollIntoView()")
        while not driver.execute_script("return document.querySelectorAll('figure.live').length"):
            time.sleep(0.01)
        in_view = time.perf_counter() - start
        total = driver.execute_script("return document.querySelectorAll('figure.interactive').length")
        start = time.perf_counter()
        for k in range(total):
            driver.execute_script("document.querySelectorAll('figure.interactive')[arguments[0]].scrollIntoView()", k)
        while driver.execute_script("return document.querySelectorAll('figure.live').length") < total:
            time.sleep(0.01)
        every = time.perf_counter() - start
    finally:
        driver.quit()
    return {"load_seconds": round(load / 1000, 2), "first_figure_interactive_after_scroll": round(in_view, 2),
            "all_figures_drawn_seconds": round(every, 2), "figures": total}


def fake_runs(root: Path, metrics_doc: dict, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        sweep, job = divmod(k, 50)
        folder = root / f"sweep{sweep:03d}" / str(job)
        (folder / ".hydra").mkdir(parents=True, exist_ok=True)
        (folder.parent / "multirun.yaml").write_text("hydra: {}\n")
        (folder / ".hydra" / "overrides.yaml").write_text(
            f"- model.params.num_leaves={7 + job}\n- model.params.learning_rate={0.01 * (1 + job % 5)}\n")
        (folder / ".hydra" / "config.yaml").write_text("data:\n  name: breast_cancer\nmodel:\n  name: lightgbm\n")
        doc = dict(metrics_doc, metrics={**metrics_doc["metrics"], "roc_auc": 0.9 + (k % 97) / 1000})
        (folder / "metrics.json").write_text(json.dumps(doc))
        (folder / "job.json").write_text('{"status": "ok", "exit_code": 0, "error": null}')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        static, interactive = [], []
        for i in range(args.repeats):  # alternated, so that drift in the machine's speed hits both alike
            static.append(timed([*POSTREPORT, "report.interactive=false", f"hydra.run.dir={tmp}/static{i}"]))
            interactive.append(timed([*POSTREPORT, f"hydra.run.dir={tmp}/interactive{i}"]))
        page = tmp / "interactive0" / "report.html"

        print(json.dumps({"case": "default report", "static_seconds": round(statistics.median(static), 1),
                          "interactive_seconds": round(statistics.median(interactive), 1),
                          "extra_seconds": round(statistics.median(interactive) - statistics.median(static), 2),
                          "goal_extra_seconds": 1, "report_html_mb": round(page.stat().st_size / 1e6, 2),
                          "static_html_mb": round((tmp / "static0" / "report.html").stat().st_size / 1e6, 2),
                          "goal_mb": 6}), flush=True)
        if shutil.which("chromium") and shutil.which("chromedriver"):
            print(json.dumps({"case": "report.html in headless Chromium", **browser_timings(page), "goal_seconds": 2}), flush=True)
        doc = json.loads((tmp / "interactive0" / "metrics.json").read_text())
        runs = tmp / "runs"
        fake_runs(runs, doc, args.runs)
        command = [sys.executable, "-c", "from postreport.integrations.dashboard import main; main()", str(runs)]
        first = timed(command)
        fake_runs(runs, doc, 10, start=args.runs)
        again = timed(command)
        print(json.dumps({"case": f"dashboard over {args.runs} runs", "first_build_seconds": round(first, 2),
                          "rebuild_with_10_new_seconds": round(again, 2),
                          "page_mb": round((runs / "dashboard.html").stat().st_size / 1e6, 2),
                          "metrics_json_kb_each": round(len(json.dumps(doc)) / 1e3), "goals": "10 s, 2 s, 10 MB"}), flush=True)


if __name__ == "__main__":
    main()
