"""Per-class precision, recall, F1 and support, each with its bootstrap interval."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.report.figures import Bars
from postreport.stats.metrics import FEW_ERRORS, MIN_CLASS_ROWS, RARE, candidate_metrics, rare_proportion
from postreport.report.model import PRINT_ROWS, Estimate, Figure, Table, print_selection, undefined_last
from postreport.stats.counts import f1_from_counts
from postreport.stats.intervals import percentile_interval
from postreport.stats.proportions import wilson, z_for
from postreport.analyses.base import Analysis, classes
from postreport.analyses.metrics import intervals_step

METRICS = ("precision", "recall", "f1")


@dataclass
class ClassRow:
    label: object
    support: int
    values: dict  # metric -> float or None
    ci: dict  # metric -> [low, high] or None
    ci_method: str = "bootstrap"  # "wilson" for precision and recall of a class under MIN_CLASS_ROWS test rows
    counts: tuple = (0, 0)  # (true positives, rows predicted as this class)
    flags: dict = field(default_factory=dict)  # metric -> "Wilson" or "unreliable" where not the plain bootstrap's


RULE = ("A class is named the weakest when the interval of (the lowest F1 among the other classes minus its F1), "
        "from the same resamples, lies above 0.")  # binary reports name none: the summary gives the positive's F1


@dataclass
class PerClassResult:
    rows: list
    ci_level: Optional[float]
    gap: Optional[float] = None  # next-lowest class's F1 minus the lowest's
    gap_ci: Optional[list] = None  # its interval: (min over the others − the lowest) per resample
    next_lowest: Optional[ClassRow] = None
    binary: bool = False

    @property
    def worst(self) -> Optional[ClassRow]:
        """The class with the lowest F1 (a point estimate: see `clearly_weakest`)."""
        scored = [r for r in self.rows if r.support > 0 and r.values["f1"] is not None]
        return min(scored, key=lambda r: r.values["f1"]) if scored else None

    @property
    def clearly_weakest(self) -> Optional[bool]:
        """True when the gap's interval lies above 0, False when it holds 0, None when there is no interval."""
        return None if self.gap_ci is None else self.gap_ci[0] > 0

    def headline(self) -> Optional[str]:
        w, nxt = self.worst, self.next_lowest
        if w is None or nxt is None or self.binary:
            return None
        ci = w.ci["f1"]
        interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        gap = (f"{self.gap:.3f} [{self.gap_ci[0]:.3f}, {self.gap_ci[1]:.3f}]" if self.gap_ci else f"{self.gap:.3f}")
        if self.clearly_weakest:
            return (f"Weakest class: {w.label!r} with F1 {w.values['f1']:.3f}{interval} (recall "
                    f"{w.values['recall']:.3f}, {w.support:,} test rows), clearly below the next lowest, "
                    f"{nxt.label!r} (F1 {nxt.values['f1']:.3f}; difference {gap}).")
        if self.gap_ci is None:
            return (f"Lowest F1: {w.label!r} {w.values['f1']:.3f}{interval}, next {nxt.label!r} "
                    f"{nxt.values['f1']:.3f}; whether it is clearly the weakest cannot be told (no interval: "
                    + ("too few test rows in one of them)." if self.ci_level else "intervals are off)."))
        return (f"No class is clearly the weakest: the lowest F1, {w.label!r} {w.values['f1']:.3f}{interval}, is "
                f"within noise of the next lowest, {nxt.label!r} {nxt.values['f1']:.3f} (difference {gap}: the "
                "interval holds 0).")

    def to_json(self) -> dict:
        out = {}
        for r in self.rows:
            entry = {"support": r.support}
            for m in METRICS:
                entry[m] = r.values[m]
                entry[f"{m}_ci"] = r.ci[m]
            if r.flags:
                entry.update(ci_methods={m: f.lower() for m, f in r.flags.items()})
            if r.ci_method != "bootstrap":
                entry.update(ci_method=r.ci_method, f1_ci_unreliable=r.ci["f1"] is not None)
            out[str(r.label)] = entry
        return {"classes": out, "ci_level": self.ci_level, "worst_class": None if self.worst is None else
                self.worst.label, "clearly_weakest": self.clearly_weakest, "gap_to_next": self.gap,
                "gap_to_next_ci": self.gap_ci, "weakest_rule": RULE}


def per_class(y_idx, pred_idx, labels: list, weight=None) -> list:
    """Point estimates per label (labels = the data's labels), as sklearn's precision_recall_fscore_support.
    weight: rows per entry (aggregated input)."""
    w = np.ones(len(y_idx)) if weight is None else weight
    rows = []
    for k, label in enumerate(labels):
        tp = int(round(np.dot(w, (y_idx == k) & (pred_idx == k))))
        support = int(round(np.dot(w, y_idx == k)))
        predicted = int(round(np.dot(w, pred_idx == k)))
        values = {"precision": tp / predicted if predicted else None, "recall": tp / support if support else None,
                  "f1": f1_from_counts(tp, predicted, support) if support + predicted else None}
        rows.append(ClassRow(label, support, values, {m: None for m in METRICS}, counts=(tp, predicted)))
    return rows


def weakest_gap(result: PerClassResult, f1_samples: Optional[np.ndarray], level: Optional[float],
                columns: list) -> PerClassResult:
    """The lowest-F1 class's gap to the next lowest, and that gap's interval: per resample, the lowest F1 among the
    other classes minus the class's own (joint resamples, so a class that is low only by noise gets an interval
    holding 0). No interval when the class has a Wilson (small-class) F1, which the resamples cannot vary.
    columns: each row's column in f1_samples."""
    w = result.worst
    others = [r for r in result.rows if r is not w and r.support > 0 and r.values["f1"] is not None]
    if w is None or not others:
        return result
    result.next_lowest = min(others, key=lambda r: r.values["f1"])
    result.gap = result.next_lowest.values["f1"] - w.values["f1"]
    if f1_samples is None or "f1" in w.flags or "f1" in result.next_lowest.flags:
        return result
    own = f1_samples[:, columns[result.rows.index(w)]]
    rest = np.nanmin(f1_samples[:, [columns[result.rows.index(r)] for r in others]], axis=1)
    result.gap_ci = percentile_interval(rest - own, level, len(own))
    return result


def honest_intervals(row: ClassRow, level: float) -> None:
    """Where the bootstrap's interval is known to be too narrow (metrics.MetricsResult.honest_for_small_classes):
    precision and recall with fewer than RARE rows right or wrong (or a class under MIN_CLASS_ROWS rows) get Wilson
    score intervals; F1 is marked unreliable when the class has fewer than FEW_ERRORS errors (missed or wrongly
    predicted rows) or fewer than MIN_CLASS_ROWS rows."""
    tp, predicted = row.counts
    small = 0 < row.support < MIN_CLASS_ROWS
    if small:
        row.ci_method = "wilson"
    z = z_for(level)
    for metric, m in (("recall", row.support), ("precision", predicted)):
        if m > 0 and (small or rare_proportion(tp, m)):
            row.ci[metric] = wilson(tp, m, z)
            row.flags[metric] = "Wilson"
    errors = (row.support - tp) + (predicted - tp)
    if row.ci["f1"] is not None and (small or errors < FEW_ERRORS):
        row.flags["f1"] = "unreliable"


class PerClassAnalysis(Analysis):
    name = "per_class"
    aggregated = True
    title = "Per-class performance"
    lead = "How well each class is found (recall) and how often a prediction of it is right (precision)."

    needs = (classes("Per-class metrics need"),)
    quick = True

    def plan(self, plan, settings) -> list:
        return intervals_step(plan)

    def compute(self, ctx, settings) -> PerClassResult:
        enc = ctx.encoded
        rows = per_class(enc.y_idx, enc.pred_idx, ctx.data.labels, enc.weight)
        intervals = candidate_metrics(ctx, ctx.model).intervals
        if intervals is not None:
            for k, row in enumerate(rows):
                column = k if ctx.data.task == "multiclass" else int(k == enc.positive_idx)
                for m in METRICS:
                    if row.values[m] is not None:
                        row.ci[m] = intervals.interval(f"class_{m}", column)
                honest_intervals(row, intervals.level)
        result = PerClassResult(rows, None if intervals is None else intervals.level,
                                binary=ctx.data.task == "binary")
        return weakest_gap(result, None if intervals is None else intervals.samples.get("class_f1"),
                           None if intervals is None else intervals.level,
                           [k if ctx.data.task == "multiclass" else int(k == enc.positive_idx)
                            for k in range(len(rows))])

    def items(self, r: PerClassResult) -> list:
        worst = r.worst if r.clearly_weakest and not r.binary else None
        level = f" [{r.ci_level:.0%} CI]" if r.ci_level else ""
        # many classes: the PDF's table and the figure show the weakest (lowest F1; classes without one last)
        weakest = sorted(range(len(r.rows)), key=lambda k: undefined_last(r.rows[k].values["f1"]))
        printed = print_selection(weakest, len(r.rows))
        table = Table(
            ["Class", "Support", f"Precision{level}", f"Recall{level}", f"F1{level}"],
            [[row.label, row.support] + [Estimate(row.values[m], row.ci[m], row.flags.get(m, "")) for m in METRICS]
             for row in r.rows],
            caption="Per class on the test set" + (", the weakest highlighted. " if worst else ". ")
            + ("" if r.binary else RULE)
            + (f" Wilson: a Wilson score interval, for a proportion with fewer than {RARE} rows right or wrong (or a "
               f"class under {MIN_CLASS_ROWS} rows), where the bootstrap's is too narrow. Unreliable: an F1 interval "
               f"of a class with fewer than {FEW_ERRORS} errors or {MIN_CLASS_ROWS} rows (a resample cannot draw the "
               "errors that are not there)." if any(row.flags for row in r.rows) else ""),
            highlight_rows=[r.rows.index(worst)] if worst else [],
            print_rows=printed, print_why=f"the {PRINT_ROWS} classes with the lowest F1",
        )
        shown = [r.rows[k] for k in weakest if k in printed] if printed else r.rows  # weakest first
        scored = [row for row in shown if row.values["f1"] is not None]
        figure = Figure(Bars([str(row.label) for row in scored], [row.values["f1"] for row in scored],
                             title=f"F1 of the {len(scored)} weakest classes" if printed else "F1 per class",
                             xlabel="F1", errors=[row.ci["f1"] for row in scored] if r.ci_level else None,
                             xlim=(0, 1)),
                        caption=(f"F1 of the {len(scored)} classes with the lowest F1, of {len(r.rows)}" if printed
                                 else "F1 per class")
                        + (f"; whiskers: the {r.ci_level:.0%} bootstrap interval." if r.ci_level else "."))
        items = [table, figure]
        return items
