"""Confusion matrix: counts and row-normalized, TP/FN/FP/TN for binary, the most confused pairs,
per-class support and what the class balance means for the headline numbers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.report.figures import Heatmap, Panels
from postreport.report.model import (PRINT_ROWS, Figure, KeyValues, Note, Paragraph, Table, print_selection,
    undefined_last)
from postreport.stats.curves import confusion_matrix
from postreport.analyses.base import Analysis, classes


@dataclass
class ConfusionSettings:
    top_confusions: int = 5  # how many of the most confused class pairs to list (multiclass)


@dataclass
class ConfusionResult:
    labels: list
    matrix: np.ndarray  # counts, rows = true labels, columns = predicted labels
    positive_label: object = None
    top_confusions: list = field(default_factory=list)  # (true, predicted, count, share of the true class)

    @property
    def normalized(self) -> np.ndarray:
        support = self.matrix.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(support > 0, self.matrix / np.maximum(support, 1), np.nan)

    @property
    def support(self) -> np.ndarray:
        return self.matrix.sum(axis=1)

    @property
    def predicted(self) -> np.ndarray:
        return self.matrix.sum(axis=0)

    def binary_counts(self) -> Optional[dict]:
        if self.positive_label is None:
            return None
        p = self.labels.index(self.positive_label)
        n = 1 - p
        m = self.matrix
        return {"tp": int(m[p, p]), "fn": int(m[p, n]), "fp": int(m[n, p]), "tn": int(m[n, n])}

    def to_json(self) -> dict:
        normalized = [[None if np.isnan(v) else float(v) for v in row] for row in self.normalized]
        payload = {
            "labels": list(self.labels),
            "matrix": self.matrix.astype(int).tolist(),
            "normalized": normalized,
            "support": dict(zip(map(str, self.labels), self.support.astype(int).tolist())),
        }
        if self.positive_label is not None:
            payload["positive_label"] = self.positive_label
            payload.update(self.binary_counts())
        else:
            payload["top_confusions"] = [
                {"true": t, "predicted": p, "count": c, "share_of_true": s} for t, p, c, s in self.top_confusions
            ]
        return payload


def confusion(y_true, y_pred, labels: list, positive=None, top: int = 5, weight=None) -> ConfusionResult:
    """weight: rows per entry (aggregated input); the counts stay whole numbers."""
    extra = sorted(set(np.unique(y_pred).tolist()) - set(labels), key=str)
    labels = list(labels) + extra
    matrix = confusion_matrix(y_true, y_pred, labels, weight)
    if weight is not None:
        matrix = np.rint(matrix).astype(np.int64)
    pairs = []
    if positive is None:
        support = matrix.sum(axis=1)
        off = [(matrix[i, j], i, j) for i in range(len(labels)) for j in range(len(labels)) if i != j and matrix[i, j]]
        for count, i, j in sorted(off, key=lambda t: (-t[0], t[1], t[2]))[:top]:
            pairs.append((labels[i], labels[j], int(count), float(count / support[i])))
    return ConfusionResult(labels=labels, matrix=matrix, positive_label=positive, top_confusions=pairs)


class ConfusionMatrixAnalysis(Analysis):
    name = "confusion_matrix"
    aggregated = True
    title = "Confusion matrix"
    lead = "Which classes the model mistakes for which, in counts and as shares of each true class."
    Settings = ConfusionSettings

    needs = (classes("A confusion matrix needs"),)
    quick = True

    def compute(self, ctx, settings: ConfusionSettings) -> ConfusionResult:
        positive = ctx.data.positive_label if ctx.data.task == "binary" else None
        pred = ctx.predictions
        return confusion(pred.y_true, pred.y_pred, ctx.data.labels, positive, settings.top_confusions, pred.weight)

    def items(self, r: ConfusionResult) -> list:
        n = int(r.matrix.sum())
        # more classes than a page can label: the figure shows those in the most errors (as the true or the
        # predicted class), the shares still of each whole row
        errors = r.matrix.sum(axis=0) + r.matrix.sum(axis=1) - 2 * np.diag(r.matrix)
        drawn = print_selection(np.argsort(-errors, kind="stable"), len(r.labels)) or list(range(len(r.labels)))
        matrix, normalized = r.matrix[np.ix_(drawn, drawn)], r.normalized[np.ix_(drawn, drawn)]
        labels = [r.labels[k] for k in drawn]
        many = len(labels) > 6  # then the panels go one below the other, zeros blank, shares in percent
        counts = [["" if many and v == 0 else str(int(v)) for v in row] for row in matrix]
        shares = [["" if np.isnan(v) or (many and v == 0) else f"{v * 100:.0f}" if many else f"{v:.0%}" for v in row]
                  for row in normalized]
        common = dict(x_labels=labels, y_labels=labels, xlabel="Predicted", ylabel="True")
        part = (f" Drawn for the {len(labels)} of the {len(r.labels)} classes in the most errors (as the true or the "
                "predicted class); shares are of the whole row." if len(labels) < len(r.labels) else "")
        figure = Figure(
            Panels([
                Heatmap(matrix, title="Counts", annotations=counts, **common),
                Heatmap(normalized, title="Share of each true class" + (" (%)" if many else ""),
                        annotations=shares, vmin=0, vmax=1, **common),
            ], height=min(4.2, 1.2 + 0.26 * len(labels)) if many else 2.9, columns=1 if many else 0,
               width=5.0 if many else 6.4),
            caption=f"Confusion matrix on {n} test rows. Rows are true classes, columns predicted classes; "
                    "the second panel divides each row by its total, so its diagonal is the per-class recall." + part,
        )
        items = [figure]
        if r.positive_label is not None:
            c = r.binary_counts()
            pos = r.positive_label
            items.append(KeyValues([
                (f"True positives (is {pos!r}, predicted {pos!r})", c["tp"]),
                (f"False negatives (is {pos!r}, missed)", c["fn"]),
                (f"False positives (predicted {pos!r} wrongly)", c["fp"]),
                ("True negatives", c["tn"]),
            ], caption=f"Binary outcome counts with {pos!r} as the positive class."))
        rows = []
        for i, label in enumerate(r.labels):
            support, predicted = int(r.support[i]), int(r.predicted[i])
            recall = r.matrix[i, i] / support if support else None
            precision = r.matrix[i, i] / predicted if predicted else None
            rows.append([label, support, support / n if n else None, predicted, recall, precision])
        lowest = sorted(range(len(rows)), key=lambda k: undefined_last(rows[k][4]))
        items.append(Table(["Class", "Support (true)", "Share of test", "Predicted", "Recall", "Precision"], rows,
                           caption="Per-class support and the share of each class found (recall) and right "
                                   "when predicted (precision).", percent_columns=[2],
                           print_rows=print_selection(lowest, len(rows)),
                           print_why=f"the {PRINT_ROWS} classes with the lowest recall"))
        if r.top_confusions:
            items.append(Table(
                ["True class", "Predicted as", "Rows", "Share of the true class"],
                [[t, p, c, s] for t, p, c, s in r.top_confusions],
                caption="The most frequent confusions.", percent_columns=[3],
            ))
        items += self._insight(r, n)
        return items

    @staticmethod
    def _insight(r: ConfusionResult, n: int) -> list:
        if n == 0:
            return []
        support = r.support
        major = int(np.argmax(support))
        share = support[major] / n
        minor = int(np.argmin(np.where(support > 0, support, np.iinfo(int).max)))
        accuracy = np.trace(r.matrix) / n
        text = (f"The largest class, {r.labels[major]!r}, is {share:.0%} of the test rows: a model that always "
                f"predicts it scores {share:.1%} accuracy, against this model's {accuracy:.1%}.")
        items = [Paragraph(text)]
        ratio = support[major] / max(support[minor], 1)
        if ratio >= 3:
            items.append(Note(
                f"The classes are imbalanced ({ratio:.1f} : 1 between {r.labels[major]!r} and {r.labels[minor]!r}); "
                "read balanced accuracy, per-class recall and average precision rather than accuracy alone.",
                "warning"))
        return items
