"""Report benchmark (issue 7): the default report's PDF and HTML sizes, and the time WeasyPrint takes to render its
PDF (median of --repeats renders of the same print HTML, in one warm process, as in a run).

    python bench/bench_report.py [--repeats 3]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import postreport.report.render_pdf as render
    from conftest import make_cfg
    from postreport.run.runner import run

    captured = {}
    original = render.render_pdf

    def keep(html, report, attachments):
        captured.update(html=html, report=report, attachments=attachments)
        return original(html, report, attachments)

    render.render_pdf = keep
    out = Path(tempfile.mkdtemp(prefix="postreport-bench-report-"))
    result = run(make_cfg([]), out)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        original(captured["html"], captured["report"], captured["attachments"])
        times.append(time.perf_counter() - start)
    pdf, html = (out / "report.pdf").stat().st_size, (out / "report.html").stat().st_size
    print(f"default report: report.pdf {pdf / 1e6:.2f} MB (target < 2 MB), report.html {html / 1e6:.2f} MB "
          f"(target < 3 MB)")
    print(f"PDF rendering (WeasyPrint, print HTML -> PDF): {statistics.median(times):.2f} s median of {args.repeats} "
          f"(target < 3 s); in the run: {result.timings['render pdf']:.2f} s")


if __name__ == "__main__":
    main()
