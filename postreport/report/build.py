"""Build the report model from the run context and the analyses' outcomes."""
from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
from omegaconf import OmegaConf

from postreport.analyses.base import finding
from postreport.data.held import held_name, is_held
from postreport.stats import metrics
from postreport.report.figures import Bars
from postreport.report.format import fmt_number
from postreport.report.model import (PRINT_ROWS, Code, Estimate, Figure, KeyValues, Note, Paragraph, Report, Section,
    Table, param_text, print_selection)

PACKAGES = ("postreport", "numpy", "pandas", "scikit-learn", "lightgbm", "matplotlib", "hydra-core", "omegaconf",
            "jinja2", "weasyprint", "skops", "pyarrow", "optuna", "hydra-joblib-launcher")
TASK_WORDS = {"binary": "binary classification", "multiclass": "multiclass classification",
              "regression": "regression"}


def build_report(ctx, outcomes, provenance: dict, logo=None, theme=None, gates=()) -> Report:
    """The report model from settled outcomes (each section's status and items are final; nothing changes them
    here). logo: a data URI; theme: checked CSS colours (report/style.py)."""
    cfg, data, model = ctx.cfg, ctx.data, ctx.model
    body = [analysis_section(o) for o in outcomes]
    shown = [s for s in body if s.status != "skipped"]
    skipped = [s for s in body if s.status == "skipped"]
    sections = [executive_summary(ctx, outcomes), summary_section(ctx, outcomes)] + shown
    if skipped:  # one short list instead of a near-empty page each
        sections.append(Section(
            id="skipped", title="Sections not applicable",
            lead="These sections were asked for, but the data or model cannot support them.",
            items=[Table(["Section", "Why it was skipped"], [[s.title, s.error] for s in skipped])]))
    return Report(
        title=cfg.report.title,
        author=cfg.report.author,
        created=provenance["started"].isoformat(),
        subtitle=f"{model.name} on {data.name} · {TASK_WORDS[data.task]}",
        keywords=["model report", data.task, model.name, data.name, *cfg.report.keywords],
        headline=headline(ctx, outcomes),
        logo=logo,
        theme=theme or {},
        gates=list(gates),
        sections=sections,
        appendix=[provenance_section(ctx, provenance)],
    )


def analysis_section(o) -> Section:
    a = o.analysis
    return Section(id=f"analysis-{o.name}", title=getattr(a, "title", o.name), lead=getattr(a, "lead", ""),
                   items=o.items, status=o.status, error=o.error, seconds=o.seconds)


def headline(ctx, outcomes) -> list:
    """[(metric name, Estimate)] of the three headline metrics of the task."""
    for o in outcomes:
        if o.name == "metrics" and o.result is not None:
            return [(metrics.label(k), Estimate(o.result.values.get(k), o.result.ci.get(k), o.result.flag(k)))
                    for k in metrics.TASKS[ctx.data.task].headline]
    return []


def executive_summary(ctx, outcomes) -> Section:
    """Written from the results: headline metrics with intervals, then each analysis's one-line finding."""
    data, model = ctx.data, ctx.model
    items: list = []
    heads = headline(ctx, outcomes)
    if heads:
        level = next((o.result.ci_level for o in outcomes if o.name == "metrics" and o.result), None)
        parts = [f"{name} {fmt_number(value)}" for name, value in heads]
        ci = f" (in brackets: {level:.0%} bootstrap confidence intervals)" if level else ""
        cv = getattr(ctx, "cross_validation", None)
        rows = (f"On the out-of-fold predictions of {data.n_test:,} rows ({cv.k}-fold cross-validation)"
                if cv is not None else f"On {data.n_test:,} held-out rows")
        items.append(Paragraph(f"{rows}, {model.name} scores " + ", ".join(parts) + ci + "."))
    for o in outcomes:
        text = finding(o.result) if o.result is not None else None
        if text:
            items.append(Paragraph(text))
    failed = [o.name for o in outcomes if o.status == "failed"]
    if failed:
        items.append(Note(f"Sections that failed: {', '.join(failed)}; their errors are shown in place.", "error"))
    return Section(id="executive-summary", title="Executive summary", items=items,
                   lead=f"{model.name} on {data.name}, {TASK_WORDS[data.task]}.")


def summary_section(ctx, outcomes) -> Section:
    data, model, pred = ctx.data, ctx.model, ctx.predictions
    items: list = []
    n_cat = len(data.categorical)
    n_missing = int(data.X_test.isna().sum().sum())
    rows = [
        ("Dataset", data.name),
        ("Source", data.source),
        ("Task", TASK_WORDS[data.task]),
        ("Target column", data.target),
        ("Training rows", data.n_train if data.X_train is not None else
         "none: cross-validation (each row trains the other folds' models)" if getattr(ctx, "cross_validation", None)
         is not None else "none (model trained elsewhere)"),
        ("Test rows", data.n_test),
        ("Features", f"{len(data.features)} ({len(data.features) - n_cat} numeric, {n_cat} categorical)"),
        ("Missing values in the test features", n_missing),
    ]
    if data.aggregation is not None:
        a = data.aggregation
        rows[-2:] = [("Read by", f"{a.engine}: {a.rows:,} rows from {a.files:,} file(s) in {len(a.passes)} passes, "
                                 f"aggregated into {a.cells:,} cells that hold every row (no sampling)")]
    if data.task == "binary":
        rows.append(("Positive class", repr(data.positive_label)))
    if data.image_shape:
        rows.append(("Image shape", " × ".join(map(str, data.image_shape))))
    items.append(KeyValues(rows, caption="Data"))
    if data.task != "regression":
        items += class_balance(data)
    model_rows = [
        ("Model", model.name),
        ("Estimator", model.estimator_class),
        ("Origin", model.origin),
        ("Preprocessing", PREPROCESSING_WORDS.get(model.preprocessing, model.preprocessing)),
    ]
    if model.fit_seconds is not None:
        model_rows.append(("Fit time", f"{model.fit_seconds:.2f} s"))
    if pred.seconds is not None:
        model_rows.append(("Predict time (test set)", f"{pred.seconds:.3f} s"))
    items.append(KeyValues(model_rows, caption="Model"))
    if model.params:
        items.append(Table(["Parameter", "Value"], [[k, param_text(v)] for k, v in sorted(model.params.items())],
                           caption="Model parameters"))
    items += [Note(n) for n in data.notes + model.notes + ctx.notes]
    return Section(id="summary", title="Summary", items=items,
                   lead=f"{model.name} ({model.origin}) evaluated on {data.n_test:,} "
                        + ("rows, each predicted by the fold model that did not see it, "
                           if getattr(ctx, "cross_validation", None) is not None else "held-out rows ")
                        + f"of {data.name}.")


PREPROCESSING_WORDS = {
    "none": "none",
    "native": "none: the model takes categoricals and missing values itself",
    "trees": "median imputation of numbers, ordinal codes for categories",
    "linear": "median imputation and standard scaling of numbers, one-hot categories",
}


def class_balance(data) -> list:
    parts = {"train": data.y_train, "test": data.y_test}
    counts = {k: (v.value_counts() if v is not None else None) for k, v in parts.items()}
    if data.weights is not None:  # aggregated input: each entry is a cell of rows
        counts["test"] = pd.Series(data.weights).groupby(data.y_test.to_numpy()).sum().round().astype(int)
    rows = []
    for label in data.labels:
        row = [label]
        for key in ("train", "test"):
            c = counts[key]
            n = int(c.get(label, 0)) if c is not None else None
            row += [n, (n / c.sum()) if c is not None and c.sum() else None]
        rows.append(row)
    test = counts["test"]
    # many classes: the PDF's table and the figure show the largest and the smallest
    size = sorted(range(len(data.labels)), key=lambda k: -int(test.get(data.labels[k], 0)))
    half = PRINT_ROWS // 2
    printed = print_selection(size[:half] + size[::-1][:PRINT_ROWS - half], len(rows))
    labels = [data.labels[k] for k in size if k in printed] if printed else data.labels  # largest first
    return [
        Table(["Class", "Train rows", "Train share", "Test rows", "Test share"], rows, caption="Class balance",
              percent_columns=[2, 4], print_rows=printed,
              print_why=f"the {half} largest and the {PRINT_ROWS - half} smallest classes in the test set"),
        Figure(Bars([str(label) for label in labels], [int(test.get(label, 0)) for label in labels],
                    title="Test rows per class" + (f" (the {half} largest and {PRINT_ROWS - half} smallest)"
                                                   if printed else ""), xlabel="rows",
                    value_labels=[f"{int(test.get(label, 0)):,} ({_share(test.get(label, 0) / test.sum())})"
                                  for label in labels]),
               caption="Class balance of the test set" + (f", {len(labels)} of its {len(data.labels)} classes."
                                                          if printed else ".")),
    ]


def _share(share: float) -> str:
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"


def command_line(overrides: list) -> tuple:
    """How the run was asked for: the command line, or postreport.evaluate with the overrides of its caller (those
    that name the objects it holds in memory left out)."""
    held_by = [o for o in overrides if is_held(o.split("=", 1)[-1])]
    if not held_by:
        return "Command line", " ".join(["postreport"] + overrides)
    own = [o for o in overrides if o not in held_by and o not in ("data=file", "model=file")
           and not o.startswith("data.name=")]
    return "Called as", "postreport.evaluate(estimator, X, y, ...) with " + " ".join(own)


def provenance_section(ctx, provenance: dict) -> Section:
    data = ctx.data
    rows = [
        ("Started (UTC)", provenance["started"].isoformat()),
        ("Duration until rendering", "not recorded (report.timings=false)" if provenance["elapsed"] is None
         else f"{provenance['elapsed']:.2f} s"),
        command_line(list(provenance["overrides"])),
        ("Seed", ctx.seed),
        ("Python", sys.version.split()[0]),
        ("Platform", platform.platform()),
        ("Data fingerprint (SHA-256 of the rows used)", data.fingerprint()),
    ]
    rows += [(f"Rows given in memory ({held_name(path)}), SHA-256" if is_held(path)
              else f"File SHA-256: {path}", digest) for path, digest in data.files.items()]
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    timings = [[name, provenance["starts"].get(name), seconds] for name, seconds in provenance["timings"].items()]
    rows.append(("Package versions", " · ".join(versions)))
    plan_items = []
    if getattr(ctx, "plan", None) is not None:
        plan_items.append(Table(
            ["Planned step", "Rows", "Folds", "Trials", "Repeats", "Planned s", "Measured s", "Why"],
            [[s.name, *("" if v is None else f"{v:,}" for v in (s.rows, s.folds, s.trials, s.repeats)),
              f"{s.seconds:.1f}" if s.runs else "not run",
              "" if s.measured_seconds is None else f"{s.measured_seconds:.1f}", s.why] for s in ctx.plan.steps],
            caption=f"The plan ({ctx.plan.profile} profile), decided from the data's shape and the config before any "
                    "model was fitted, never from a clock: planned seconds are on the reference machine (postreport/"
                    f"planning/costs.py and each section's plan), {ctx.plan.seconds:.0f} s in all; model fits use "
                    f"{ctx.plan.threads} thread(s). Measured: this run until rendering (Python's start is before the "
                    "timer; stacking is inside the ensemble members' time; the PDF is rendered after this table)."))
    return Section(
        id="provenance", title="Provenance", lead="How this report was made, so that it can be made again.",
        items=[
            KeyValues(rows, caption="Run"),
            *plan_items,
            Table(["Step", "Started (s after the run began)", "Seconds"], timings,
                  caption="Time per step" if timings else "Time per step: not recorded (report.timings=false)"),
            Code(OmegaConf.to_yaml(ctx.cfg), caption="The composed configuration"),
        ],
    )
