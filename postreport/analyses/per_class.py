"""Per-class precision, recall, F1 and support, each with its bootstrap interval."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..figures import Bars
from ..metrics import MIN_CLASS_ROWS, candidate_metrics
from ..report.model import Estimate, Figure, Table
from ..stats.proportions import wilson, z_for
from .base import Analysis

METRICS = ("precision", "recall", "f1")


@dataclass
class ClassRow:
    label: object
    support: int
    values: dict  # metric -> float or None
    ci: dict  # metric -> [low, high] or None
    ci_method: str = "bootstrap"  # "wilson" for precision and recall of a class under MIN_CLASS_ROWS test rows
    counts: tuple = (0, 0)  # (true positives, rows predicted as this class)


@dataclass
class PerClassResult:
    rows: list
    ci_level: Optional[float]

    @property
    def worst(self) -> Optional[ClassRow]:
        scored = [r for r in self.rows if r.support > 0 and r.values["f1"] is not None]
        return min(scored, key=lambda r: r.values["f1"]) if scored else None

    def headline(self) -> Optional[str]:
        w = self.worst
        if w is None or len(self.rows) < 2:
            return None
        ci = w.ci["f1"]
        interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        return (f"Weakest class: {w.label!r} with F1 {w.values['f1']:.3f}{interval} "
                f"(recall {w.values['recall']:.3f}, {w.support:,} test rows).")

    def to_json(self) -> dict:
        out = {}
        for r in self.rows:
            entry = {"support": r.support}
            for m in METRICS:
                entry[m] = r.values[m]
                entry[f"{m}_ci"] = r.ci[m]
            if r.ci_method != "bootstrap":
                entry.update(ci_method=r.ci_method, f1_ci_unreliable=r.ci["f1"] is not None)
            out[str(r.label)] = entry
        return {"classes": out, "ci_level": self.ci_level, "worst_class": None if self.worst is None else
                self.worst.label}


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
                  "f1": 2 * tp / (support + predicted) if support + predicted else None}
        rows.append(ClassRow(label, support, values, {m: None for m in METRICS}, counts=(tp, predicted)))
    return rows


def _flag(row: ClassRow, metric: str) -> str:
    if row.ci_method != "wilson":
        return ""
    return "unreliable" if metric == "f1" else "Wilson"


class PerClassAnalysis(Analysis):
    name = "per_class"
    aggregated = True
    title = "Per-class performance"
    lead = "How well each class is found (recall) and how often a prediction of it is right (precision)."

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if ctx.data.task == "regression":
            return "Per-class metrics need classes; this is a regression task."
        return None

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
                if 0 < row.support < MIN_CLASS_ROWS:  # a resample cannot vary a handful of rows: Wilson
                    z = z_for(intervals.level)
                    tp, predicted = row.counts
                    row.ci_method = "wilson"
                    row.ci["recall"] = wilson(tp, row.support, z)
                    row.ci["precision"] = wilson(tp, predicted, z) if predicted else None
        return PerClassResult(rows, None if intervals is None else intervals.level)

    def items(self, r: PerClassResult) -> list:
        worst = r.worst
        level = f" [{r.ci_level:.0%} CI]" if r.ci_level else ""
        table = Table(
            ["Class", "Support", f"Precision{level}", f"Recall{level}", f"F1{level}"],
            [[row.label, row.support] + [Estimate(row.values[m], row.ci[m], _flag(row, m)) for m in METRICS]
             for row in r.rows],
            caption="Per class on the test set" + (", the weakest (lowest F1) highlighted." if worst else ".")
            + (f" Classes with fewer than {MIN_CLASS_ROWS} test rows have Wilson score intervals for precision and "
               "recall; their F1 interval is unreliable." if any(row.ci_method == "wilson" for row in r.rows) else ""),
            highlight_rows=[r.rows.index(worst)] if worst else [],
        )
        scored = [row for row in r.rows if row.values["f1"] is not None]
        figure = Figure(Bars([str(row.label) for row in scored], [row.values["f1"] for row in scored],
                             title="F1 per class", xlabel="F1",
                             errors=[row.ci["f1"] for row in scored] if r.ci_level else None, xlim=(0, 1)),
                        caption="F1 per class" + (f"; whiskers: the {r.ci_level:.0%} bootstrap interval."
                                                  if r.ci_level else "."))
        items = [table, figure]
        return items
