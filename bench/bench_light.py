"""Issue 29's budgets, side by side in one run (median of --repeats fresh processes, the quiet 2-core machine):
- logged predictions of 171 rows, every default section, HTML + JSON, against the bare script
  (bench/baseline_evaluation.py: scikit-learn and matplotlib, point metrics, ROC, PR, confusion matrix): <= 1.2x;
  the same with 800,000 rows (bench_evaluation.py's data, made once into --data): <= 1.5x;
- which of scikit-learn, scipy and lightgbm the logged-predictions run imports (-X importtime): none wanted;
- the default report (HTML + PDF + JSON, every section): <= 10 s, its PDF step <= 2.5 s, report.html <= 2.5 MB;
- `postreport --help` <= 0.6 s; `import postreport` <= 0.1 s.

    python bench/bench_light.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSTREPORT = [sys.executable, "-c", "from postreport.cli import console; console()"]


def seconds(cmd, cwd, repeats: int, clean=None) -> float:
    times = []
    for _ in range(repeats):
        if clean:
            shutil.rmtree(clean, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def logged(path: Path, tmp: Path, repeats: int, label: str) -> None:
    out = tmp / "base"
    out.mkdir(exist_ok=True)
    base = seconds([sys.executable, str(HERE / "baseline_evaluation.py"), str(path), str(out)], tmp, repeats)
    args = ["data=predictions", f"data.path={path}", "data.scores=[score]", "data.prediction=null",
            "report.formats=[html,json]", f"hydra.run.dir={tmp / 'run'}"]
    tool = seconds([*POSTREPORT, *args], tmp, repeats, clean=tmp / "run")
    print(f"{label}: bare script {base:.2f} s, postreport {tool:.2f} s: {tool / base:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "postreport-bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import pandas as pd
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        X, y = load_breast_cancer(return_X_y=True)
        a, b, ya, yb = train_test_split(X, y, test_size=171, random_state=0)
        score = LogisticRegression(max_iter=5000).fit(a, ya).predict_proba(b)[:, 1]
        pd.DataFrame({"y_true": yb, "score": score}).to_parquet(tmp / "small.parquet")
        logged(tmp / "small.parquet", tmp, args.repeats, "logged predictions, 171 rows (budget 1.2x)")
        big = args.data / "preds.parquet"  # bench_evaluation.py's 800,000 logged predictions, made once
        if not big.exists():
            args.data.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, str(HERE / "bench_evaluation.py"), "--prepare", str(args.data)], check=True)
        logged(big, tmp, max(1, args.repeats // 2), "logged predictions, 800,000 rows (budget 1.5x)")
        trace = subprocess.run([sys.executable, "-X", "importtime", "-c",
                                "from postreport.cli import console; console()", "data=predictions",
                                f"data.path={tmp / 'small.parquet'}", "data.scores=[score]", "data.prediction=null",
                                "report.formats=[html,json]", f"hydra.run.dir={tmp / 'trace'}"],
                               capture_output=True, text=True).stderr
        heavy = sorted({m.group(1) for m in re.finditer(r"\|\s+(sklearn|scipy|lightgbm)$", trace, re.M)})
        print(f"  imported on that path: {heavy or 'none of scikit-learn, scipy, lightgbm'}")
        default = seconds([*POSTREPORT, f"hydra.run.dir={tmp / 'default'}"], tmp, max(1, args.repeats // 2),
                          clean=tmp / "default")
        log = (tmp / "default" / "postreport.log").read_text()
        pdf = re.findall(r"step render pdf: ([0-9.]+) s", log)
        size = (tmp / "default" / "report.html").stat().st_size
        print(f"default report: {default:.1f} s (budget 10 s), PDF step {pdf[-1] if pdf else '?'} s (budget 2.5 s), "
              f"report.html {size / 1e6:.2f} MB (budget 2.5 MB)")
        help_s = seconds([*POSTREPORT, "--help"], tmp, args.repeats)
        imp = seconds([sys.executable, "-c", "import postreport"], tmp, args.repeats)
        bare = seconds([sys.executable, "-c", "pass"], tmp, args.repeats)
        print(f"postreport --help {help_s:.2f} s (budget 0.6 s); import postreport {imp - bare:.3f} s over a bare "
              f"interpreter (budget 0.1 s)")


if __name__ == "__main__":
    main()
