"""Cross-validation (cv): the model fitted once per fold; each fold's metrics on its own rows (the numbers
scikit-learn's cross_validate gives with the same splitter), their mean with Nadeau and Bengio's corrected t
interval (the folds' training rows overlap, which the plain t interval ignores), the fits' and predictions' times,
the spread of the model's own importance over the folds; with several models, each pair's corrected resampled
t-test on their per-fold differences, so that a choice between them rests on a test, not on the best mean."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Optional

import numpy as np

from postreport.analyses.base import Analysis, Need
from postreport.report.figures import Bars
from postreport.report.model import Estimate, Figure, Note, Paragraph, Table
from postreport.stats.metrics import TASKS, label, lower_is_better, value_range
from postreport.stats.paired import BETTER, UNCLEAR, WORSE, corrected_t, holm

RULE = ("Interval: Nadeau and Bengio's corrected resampled t (2003): the mean of the k folds' values ± t(k-1) x "
        "sqrt((1/k + test rows / training rows) x their variance); the plain t interval, sqrt(variance / k), is too "
        "narrow because every two folds' models share most of their training rows. A pair of models is told apart "
        "when the interval of their per-fold differences excludes 0 (p-values Holm-corrected over the pairs).")
TOP = 15  # columns shown by their mean importance


@dataclass
class CrossValidationResult:
    splitter: str
    k: int
    n_rows: int
    level: float
    metrics: list  # names, in the order shown
    models: dict  # name -> {"folds": [...], "summary": {metric: {mean, ci, t, p}}}
    pairs: list = field(default_factory=list)  # [{a, b, metric, difference, ci, p, p_holm, verdict}]
    importance: Optional[dict] = None  # {kind, columns: [{column, mean, low, high, rank_best, rank_worst}]}
    timings: bool = True

    def headline(self) -> str:
        main = self.metrics[0]
        parts = []
        for name, m in self.models.items():
            s = m["summary"].get(main)
            if s:
                parts.append(f"{name} {label(main)} {s['mean']:.3f} [{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]")
        text = f"Cross-validation ({self.k} folds of {self.n_rows:,} rows): " + "; ".join(parts) + " (corrected t)."
        told = [p for p in self.pairs if p["metric"] == main and p["verdict"] != UNCLEAR]
        if len(self.models) > 1:
            text += (" " + "; ".join(f"{p['a']} {p['verdict']} than {p['b']}" for p in told) + "." if told else
                     f" No pair of models is told apart on {label(main)}.")
        return text

    def to_json(self) -> dict:
        models = {}
        for name, m in self.models.items():
            folds = [{k: v for k, v in f.items() if self.timings or not k.endswith("_seconds")} for f in m["folds"]]
            models[name] = {"folds": folds, "summary": m["summary"]}
        return {"splitter": self.splitter, "k": self.k, "rows": self.n_rows, "level": self.level,
                "interval": "Nadeau-Bengio corrected t", "metrics": self.metrics, "models": models,
                "pairs": self.pairs, "importance": self.importance}


class CrossValidationAnalysis(Analysis):
    name = "cross_validation"
    title = "Cross-validation"
    lead = ("The model fitted once per fold: each fold's metrics, their mean with an interval that accounts for the "
            "folds' overlap, the fits' times, and how stable the model's own importance is from fold to fold.")
    implied_by = "cv"  # cv set: this section comes first
    quick = True
    needs = (Need(lambda ctx: ctx.cross_validation is not None,
                  "Not a cross-validation run (cv=null): the report is on a held-out test set."),)

    def compute(self, ctx, settings) -> CrossValidationResult:
        cv, task = ctx.cross_validation, ctx.data.task
        level = ctx.cfg.bootstrap.level
        first = next(iter(cv.folds.values()))
        names = [m for m in TASKS[task].headline if all(m in f.metrics for f in first)]
        names += [m for m in TASKS[task].all if m not in names and all(m in f.metrics for f in first)]
        test_rows = float(np.mean([len(f.rows) for f in first]))
        train_rows = float(np.mean([f.train_rows for f in first]))
        models = {}
        for name, folds in cv.folds.items():
            summary = {m: within(m, corrected_t([f.metrics[m] for f in folds], test_rows, train_rows, level))
                       for m in names if all(m in f.metrics for f in folds)}
            models[name] = {"folds": [{"rows": len(f.rows), "train_rows": f.train_rows, "fit_seconds": f.fit_seconds,
                                       "predict_seconds": f.predict_seconds, "metrics": f.metrics} for f in folds],
                            "summary": summary}
        result = CrossValidationResult(cv.splitter, cv.k, cv.n_rows, level, names, models,
                                       timings=bool(ctx.cfg.report.timings))
        result.pairs = pairs(cv.folds, names, test_rows, train_rows, level)
        result.importance = importance_spread(cv)
        return result

    def items(self, r: CrossValidationResult) -> list:
        items: list = [Paragraph(f"{r.k} folds ({r.splitter}) of {r.n_rows:,} rows; each model cloned and fitted on "
                                 "the other folds' rows, then scored on its fold's. The other sections read the "
                                 "out-of-fold predictions of every row.")]
        shown = r.metrics[:6]
        rows = [[label(k)] + [Estimate(m["summary"][k]["mean"], m["summary"][k]["ci"]) if k in m["summary"] else None
                              for m in r.models.values()] for k in r.metrics]
        items.append(Table(["Metric"] + list(r.models), rows,
                           caption=f"The mean over the folds, with its {r.level:.0%} corrected t interval (cut to "
                                   "the values the metric can take)."))
        main = r.metrics[0]
        spread = [(name, m["summary"][main]) for name, m in r.models.items() if main in m["summary"]]
        items.append(Figure(Bars([name for name, _ in spread], [s["mean"] for _, s in spread],
                                 f"{label(main)} by model", label(main), errors=[s["ci"] for _, s in spread],
                                 points=True),
                            caption=f"Dots: the folds' mean {label(main)}; whiskers: its corrected t interval."))
        for name, m in r.models.items():
            columns = ["Fold", "Test rows", "Training rows"] + [label(k) for k in shown]
            fold_rows = [[i + 1, f["rows"], f["train_rows"]] + [f["metrics"].get(k) for k in shown]
                         for i, f in enumerate(m["folds"])]
            if r.timings:
                columns += ["Fit s", "Predict s"]
                for row, f in zip(fold_rows, m["folds"]):
                    row += [f["fit_seconds"], f["predict_seconds"]]
            items.append(Table(columns, fold_rows, caption=f"{name}: each fold's numbers on its own rows."))
        if r.pairs:
            items.append(Table(["Model", "Against", "Metric", "Difference [CI]", "p (Holm)", "Verdict"],
                               [[p["a"], p["b"], label(p["metric"]), Estimate(p["difference"], p["ci"]), p["p_holm"],
                                 p["verdict"]] for p in r.pairs if p["metric"] in shown[:3]],
                               caption="Each pair's per-fold differences (same folds for both), corrected resampled "
                                       "t-test."))
        if r.importance:
            imp = r.importance
            items.append(Table(["Column", "Mean share", "Lowest", "Highest", "Best rank", "Worst rank"],
                               [[c["column"], c["mean"], c["low"], c["high"], c["rank_best"], c["rank_worst"]]
                                for c in imp["columns"][:TOP]],
                               caption=f"The first model's own importance ({imp['kind']}) in each fold's fit, as a "
                                       "share of the fold's total: its range over the folds, and its rank's.",
                               percent_columns=[1, 2, 3]))
        items.append(Note(RULE))
        return items


def within(metric: str, test: Optional[dict]) -> Optional[dict]:
    """The corrected t interval cut to the values the metric can take (accuracy's at 1, log loss's at 0)."""
    if test is None:
        return None
    low, high = value_range(metric)
    test["ci"] = [max(test["ci"][0], low), min(test["ci"][1], high)]
    return test


def pairs(folds: dict, names: list, test_rows: float, train_rows: float, level: float) -> list:
    """Each pair of models on each metric: the corrected t of their per-fold differences; Holm over the pairs."""
    out = []
    for metric in names:
        found = []
        for a, b in combinations(folds, 2):
            diffs = [fa.metrics.get(metric, np.nan) - fb.metrics.get(metric, np.nan)
                     for fa, fb in zip(folds[a], folds[b])]
            if not np.all(np.isfinite(diffs)):
                continue
            test = corrected_t(diffs, test_rows, train_rows, level)
            ci = test["ci"]
            up = ci[0] > 0
            told = ci[0] > 0 or ci[1] < 0
            verdict = (BETTER if up != lower_is_better(metric) else WORSE) if told else UNCLEAR
            found.append({"a": a, "b": b, "metric": metric, "difference": test["mean"], "ci": ci, "p": test["p"],
                          "verdict": verdict})
        for f, p in zip(found, holm([f["p"] for f in found])):
            f["p_holm"] = p
        out += found
    return out


def importance_spread(cv) -> Optional[dict]:
    """The first model's native importance over the folds: mean share, range, and the range of its rank."""
    folds = next(iter(cv.folds.values()))
    if not folds or any(f.importance is None for f in folds):
        return None
    shares = np.vstack([f.importance for f in folds])  # folds x columns
    ranks = (-shares).argsort(axis=1, kind="mergesort").argsort(axis=1) + 1
    order = np.argsort(-shares.mean(axis=0), kind="mergesort")
    return {"kind": cv.importance_kind, "columns": [
        {"column": cv.columns[j], "mean": float(shares[:, j].mean()), "low": float(shares[:, j].min()),
         "high": float(shares[:, j].max()), "rank_best": int(ranks[:, j].min()), "rank_worst": int(ranks[:, j].max())}
        for j in order]}
