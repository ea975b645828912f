"""`postreport-dashboard DIR [DIR ...] [--out FILE]`: one self-contained page over every run below the given folders.

A run folder is one that holds metrics.json (a single run, or a job of a sweep: a folder whose parent holds
multirun.yaml or sweep.json). Each run's row comes from its files (metrics.json, .hydra/overrides.yaml,
.hydra/config.yaml, job.json) and is cached beside the page (.postreport-dashboard-cache.json), keyed by the
files' modification times and sizes, so a rebuild reads only new or changed runs. A run whose files cannot be read
is listed with the reason, never a traceback. Exit status: 0, or 2 when a folder does not exist or holds no run."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional
from urllib.parse import quote

import yaml

from postreport.data.run_files import HYDRA_CONFIG, HYDRA_OVERRIDES, JOB, METRICS, REPORT_HTML
from postreport.run.atomic import write_atomic
from postreport.report.render_html import environment, plotly_js, script_json
from postreport.resources import resource_dir
from postreport.version import __version__

log = logging.getLogger("postreport")
CACHE = ".postreport-dashboard-cache.json"
CACHE_VERSION = 2
SKIP_DIRS = {".hydra", ".hydra.next", ".submitit", ".git", "__pycache__", "node_modules", ".ci-venv", "venv", ".venv"}
HEADLINE = {"binary": ["roc_auc", "f1", "accuracy"], "multiclass": ["accuracy", "f1_macro", "roc_auc"],
            "regression": ["rmse", "mae", "r2"]}


class DashboardError(Exception):
    """Bad input: the message names the folder."""


def find_runs(folders: list) -> list:
    """Every folder below the given ones that holds metrics.json, in a stable order."""
    runs = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise DashboardError(f"{folder}: not a folder")
        for current, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".ci"))
            if METRICS in files:
                runs.append(Path(current))
    return sorted(set(runs))


def _stamp(run: Path) -> list:
    stamp = []
    for name in (METRICS, JOB, HYDRA_OVERRIDES):
        try:
            st = (run / name).stat()
            stamp += [st.st_mtime_ns, st.st_size]
        except OSError:
            stamp += [0, 0]
    return stamp


class RunFileError(ValueError):
    """What is wrong with a run's file, in words (the dashboard's reason for skipping the run)."""


SHAPES = {"metrics": dict, "results": dict, "model": dict, "sections": list, "gates": list}  # a run's keys' types


def read_metrics_json(path: Path) -> dict:
    """A run's metrics.json, checked: valid JSON without NaN or Infinity (postreport never writes them: the page's
    data could not be JSON), an object with `metrics`, each key of the type postreport writes."""
    def refuse(constant):
        raise RunFileError(f"metrics.json holds {constant}, which postreport never writes (a number must be finite "
                           "or null); was the file edited or written by another tool?")

    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
    except UnicodeDecodeError:
        raise RunFileError("metrics.json is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise RunFileError(f"metrics.json is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") \
            from None
    if not isinstance(doc, dict) or "metrics" not in doc:
        raise RunFileError("metrics.json has no 'metrics' object (not a postreport run?)")
    for key, kind in SHAPES.items():
        if doc.get(key) is not None and not isinstance(doc[key], kind):
            raise RunFileError(f"metrics.json's {key!r} is a {type(doc[key]).__name__}, not "
                               f"{'an object' if kind is dict else 'a list'} as postreport writes it")
        if kind is list and any(not isinstance(v, dict) for v in doc.get(key) or []):
            raise RunFileError(f"metrics.json's {key!r} holds entries that are not objects")
    return doc


def read_run(run: Path) -> dict:
    """One run's row (raises on a file that cannot be read)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = read_metrics_json(run / METRICS)
    overrides, data_name, model_name = [], None, (doc.get("model") or {}).get("name")
    if (run / HYDRA_OVERRIDES).is_file():
        overrides = [str(o) for o in (yaml.load((run / HYDRA_OVERRIDES).read_text(), Loader=loader) or [])]
    if (run / HYDRA_CONFIG).is_file():
        config = yaml.load((run / HYDRA_CONFIG).read_text(), Loader=loader) or {}
        data_name = (config.get("data") or {}).get("name")
        model_name = model_name or (config.get("model") or {}).get("name")
    job = json.loads((run / JOB).read_text()) if (run / JOB).is_file() else None
    payload = (doc.get("results") or {}).get("metrics") or {}
    metrics = {k: v for k, v in (doc.get("metrics") or {}).items() if isinstance(v, (int, float)) or v is None}
    sections = doc.get("sections") or []
    failed = [s["name"] for s in sections if s.get("status") == "failed"]
    gates = [{"name": g.get("name"), "status": g.get("status")} for g in doc.get("gates") or []]
    status = (job or {}).get("status") or ("gate failed" if any(g["status"] == "fail" for g in gates) else
                                           "section failed" if failed else "ok")
    comparison = (doc.get("results") or {}).get("comparison")
    return {
        "time": datetime.fromtimestamp((run / METRICS).stat().st_mtime, timezone.utc).isoformat(
            timespec="seconds"),
        "task": doc.get("task"), "data": data_name, "model": model_name, "overrides": overrides,
        "params": dict(o.lstrip("+~").split("=", 1) for o in overrides if "=" in o),
        "metrics": metrics,
        "ci": {k[:-3]: v for k, v in payload.items() if k.endswith("_ci") and isinstance(v, list)},
        "status": status, "failed_sections": failed, "gates": gates,
        "comparison": {k: v.get("verdict") for k, v in (comparison or {}).get("metrics", {}).items()}
        if comparison else None,
        "n_test": doc.get("n_test"),
    }


def collect(folders: list, out: Path) -> tuple:
    """(rows, skipped, number of runs read now): every run, from the cache where its files are unchanged."""
    cache_path = out.parent / CACHE
    cache = {}
    try:
        stored = json.loads(cache_path.read_text())
        if stored.get("version") == CACHE_VERSION:
            cache = stored["runs"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    rows, skipped, fresh, read = [], [], {}, 0
    for run in find_runs(folders):
        key, stamp = str(run.resolve()), _stamp(run)
        entry = cache.get(key)
        if entry is None or entry["stamp"] != stamp:
            read += 1
            try:
                entry = {"stamp": stamp, "row": read_run(run), "error": None}
            except RunFileError as exc:  # one unreadable run is a skipped row with its reason
                entry = {"stamp": stamp, "row": None, "error": str(exc)}
            except Exception as exc:  # e.g. a broken .hydra/overrides.yaml: named with the error
                entry = {"stamp": stamp, "row": None, "error": f"a file of the run cannot be read: "
                                                               f"{type(exc).__name__}: {exc}"}
        fresh[key] = entry
        link = os.path.relpath(run, out.parent)
        if entry["row"] is None:
            skipped.append({"run": link, "reason": entry["error"]})
            continue
        sweep = run.parent if ((run.parent / "multirun.yaml").is_file() or (run.parent / "sweep.json").is_file()) \
            else None
        row = {**entry["row"], "run": link, "id": len(rows),
               "sweep": os.path.relpath(sweep, out.parent) if sweep else None,
               "report": quote(Path(link, REPORT_HTML).as_posix()) if (run / REPORT_HTML).is_file() else None}
        rows.append(row)
    try:
        write_atomic(cache_path, json.dumps({"version": CACHE_VERSION, "runs": fresh}, separators=(",", ":")))
    except OSError as exc:
        log.warning("the dashboard cache could not be written (%s); the next build reads every run again", exc)
    return rows, skipped, read


def render(rows: list, skipped: list, title: str) -> str:
    tasks = sorted({r["task"] for r in rows if r["task"]})
    metric_names = []
    for task in tasks:
        metric_names += [m for m in HEADLINE.get(task, []) if m not in metric_names]
    present = {m for r in rows for m in r["metrics"]}
    metric_names = [m for m in metric_names if m in present] or sorted(present)[:4]
    env = environment((str(resource_dir("templates")),))
    return env.get_template("dashboard.html.j2").render(
        title=title, rows=rows, skipped=skipped, metric_names=metric_names, version=__version__,
        data=script_json({"rows": rows, "metrics": metric_names, "all_metrics": sorted(present)}),
        plotly_js=plotly_js("full"), created=datetime.now(timezone.utc).strftime("%d %B %Y, %H:%M UTC"))


def build(folders: list, out: Optional[Path] = None, title: str = "postreport runs") -> tuple:
    """Write the dashboard; returns (page path, rows, skipped, runs read now)."""
    if not folders:
        raise DashboardError("give at least one folder to search for runs")
    out = Path(out) if out else Path(folders[0]) / "dashboard.html"
    rows, skipped, read = collect(folders, out)
    if not rows and not skipped:
        raise DashboardError(f"no run found below {', '.join(map(str, folders))} (a run folder holds metrics.json)")

    write_atomic(out, render(rows, skipped, title))
    return out, rows, skipped, read


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(prog="postreport-dashboard", description=(
        "One self-contained HTML page over every postreport run and sweep below the given folders."))
    parser.add_argument("folders", nargs="+", metavar="DIR", help="folders to search (e.g. outputs multirun)")
    parser.add_argument("--out", metavar="FILE", help="the page to write (default: dashboard.html in the first DIR)")
    parser.add_argument("--title", default="postreport runs")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        out, rows, skipped, read = build(args.folders, Path(args.out) if args.out else None, args.title)
    except DashboardError as exc:
        print(f"postreport-dashboard: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"postreport-dashboard: {out} ({len(rows)} runs, {read} read now, the rest from the cache"
          + (f"; {len(skipped)} skipped: see the page" if skipped else "") + f"; {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
