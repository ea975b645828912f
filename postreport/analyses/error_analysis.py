"""Error analysis: the most confident wrong predictions (classification) or the largest residuals
(regression), with the rows' feature values."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..report.model import Note, Table
from .base import Analysis


@dataclass
class ErrorSettings:
    top: int = 10  # rows to list
    max_features: int = 5  # feature columns shown beside them


@dataclass
class ErrorResult:
    columns: list
    rows: list
    n_errors: int
    n: int
    task: str
    omitted_features: int = 0
    notes: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"n_errors": self.n_errors, "n": self.n,
                "rows": [dict(zip(self.columns, row)) for row in self.rows]}


class ErrorAnalysis(Analysis):
    name = "errors"
    title = "Error analysis"
    lead = "The test rows the model gets most wrong, to read one by one."
    Settings = ErrorSettings

    def compute(self, ctx, settings: ErrorSettings) -> ErrorResult:
        data, pred = ctx.data, ctx.predictions
        features = list(data.X_test.columns[: settings.max_features])
        omitted = max(0, data.X_test.shape[1] - settings.max_features)
        if data.task == "regression":
            residual = pred.y_pred - pred.y_true
            order = np.argsort(-np.abs(residual), kind="mergesort")[: settings.top]
            columns = ["Row", "Actual", "Predicted", "Residual"]
            rows = [[int(i), pred.y_true[i], pred.y_pred[i], residual[i]] for i in order]
            n_errors = int(np.sum(residual != 0))
        else:
            enc = ctx.encoded
            wrong = np.flatnonzero(enc.y_idx != enc.pred_idx)
            columns = ["Row", "True", "Predicted"]
            if enc.proba is not None:
                p = np.column_stack([enc.proba, np.zeros((len(enc.y_idx), len(enc.labels) - enc.proba.shape[1]))])
                confidence = p[wrong, enc.pred_idx[wrong]]
                wrong = wrong[np.argsort(-confidence, kind="mergesort")]
                columns += ["P(predicted)", "P(true)"]
            top = wrong[: settings.top]
            rows = []
            for i in top:
                row = [int(i), enc.labels[enc.y_idx[i]], enc.labels[enc.pred_idx[i]]]
                if enc.proba is not None:
                    row += [float(p[i, enc.pred_idx[i]]), float(p[i, enc.y_idx[i]])]
                rows.append(row)
            order, n_errors = top, len(wrong)
        for row, i in zip(rows, order):
            row += [_plain(data.X_test.iloc[int(i)][f]) for f in features]
        return ErrorResult(columns + features, rows, n_errors, len(pred.y_true), data.task, omitted)

    def items(self, r: ErrorResult) -> list:
        if not r.rows:
            return [Note(f"No wrong predictions among the {r.n} test rows.")]
        what = ("largest absolute residuals" if r.task == "regression"
                else "wrong predictions the model was most sure of")
        caption = f"The {len(r.rows)} {what}"
        if r.task != "regression":
            caption += f", of {r.n_errors} wrong predictions in {r.n} rows"
        caption += "; Row is the position in the test set."
        if r.omitted_features:
            caption += f" {r.omitted_features} more feature columns are not shown (analyses.errors.max_features)."
        return [Table(r.columns, r.rows, caption=caption)]


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
