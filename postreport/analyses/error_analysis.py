"""Error analysis: the most confident wrong predictions (classification) or the largest residuals
(regression), with the rows' feature values."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postreport.report.figures import ImageGrid
from postreport.report.model import Figure, Note, Table
from postreport.analyses.base import Analysis
from postreport.explain.image_saliency import display


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
    aggregated: str = ""  # the engine that found the rows (aggregated input: no row positions)
    thumbnails: list = field(default_factory=list)  # image data: (2-D picture, title) per listed row
    grey: str = "gray_r"

    def to_json(self) -> dict:
        return {"n_errors": self.n_errors, "n": self.n,
                "rows": [dict(zip(self.columns, row)) for row in self.rows]}


class ErrorAnalysis(Analysis):
    name = "errors"
    title = "Error analysis"
    lead = "The test rows the model gets most wrong, to read one by one."
    Settings = ErrorSettings
    aggregated = True

    def compute(self, ctx, settings: ErrorSettings) -> ErrorResult:
        if ctx.data.warehouse is not None:
            return self._from_warehouse(ctx, settings)
        data, pred = ctx.data, ctx.predictions
        images = data.image_shape is not None  # pixels are shown as pictures, not as columns
        features = [] if images else list(data.X_test.columns[: settings.max_features])
        omitted = 0 if images else max(0, data.X_test.shape[1] - settings.max_features)
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
        result = ErrorResult(columns + features, rows, n_errors, len(pred.y_true), data.task, omitted)
        if images:
            channels = getattr(data, "channels", 1)
            result.grey = "gray" if channels == 3 else "gray_r"
            for row, i in zip(rows, order):
                title = f"#{int(i)}: {row[1]} → {row[2]}" + (f" ({row[3]:.0%})" if len(row) > 3 else "")
                result.thumbnails.append((display(data.X_test.iloc[int(i)].to_numpy(float), data.image_shape,
                                                  channels), title))
            if data.image_files:
                result.columns.append("File")
                for row, i in zip(rows, order):
                    row.append(Path(data.image_files[int(i)]).name)
        return result

    @staticmethod
    def _from_warehouse(ctx, settings: ErrorSettings) -> ErrorResult:
        """Aggregated input: the wrong rows the model was most sure of, found where the rows live (a top-k pass:
        exact, no sample); without scores, a seeded sample of the wrong rows."""
        data, wh = ctx.data, ctx.data.warehouse
        features = list(wh.features)[: settings.max_features]
        regression = data.task == "regression"
        if regression:
            n_errors = data.n_test - int(ctx.predictions.cells.cells["exact"].sum())
            names = ["Actual", "Predicted", "Residual"]
        else:
            enc = ctx.encoded
            n_errors = int(round(np.dot(enc.weight, enc.y_idx != enc.pred_idx)))
            names = ["True", "Predicted"] + (["P(predicted)", "P(true)"] if wh.confidence else [])
        seed = ctx.bootstrap_seed
        frame, found = wh.wrong_rows("error examples", regression, features, settings.top, seed)
        how = {"residual": "the largest absolute residuals over every row",
               "confidence": "the most confident wrong predictions over every row",
               "sample": f"a seeded sample (seed {seed}) of the wrong predictions"}[found]
        rows = [[_plain(v) for v in record] for record in frame.itertuples(index=False)]
        result = ErrorResult(names + features, rows, n_errors, data.n_test, data.task,
                             max(0, len(wh.features) - settings.max_features), aggregated=wh.engine.name)
        result.notes.append(f"Found by {wh.engine.name} in a pass over the {data.n_test:,} rows: {how}.")
        return result

    def items(self, r: ErrorResult) -> list:
        if not r.rows:
            return [Note(f"No wrong predictions among the {r.n} test rows.")]
        what = ("largest absolute residuals" if r.task == "regression"
                else "wrong predictions the model was most sure of")
        caption = f"The {len(r.rows)} {what}"
        if r.task != "regression":
            caption += f", of {r.n_errors:,} wrong predictions in {r.n:,} rows"
        caption += "." if r.aggregated else "; Row is the position in the test set."
        if r.omitted_features:
            caption += f" {r.omitted_features} more feature columns are not shown (analyses.errors.max_features)."
        items = [Table(r.columns, r.rows, caption=caption)]
        if r.thumbnails:
            items.append(Figure(ImageGrid([t for t, _ in r.thumbnails], [title for _, title in r.thumbnails],
                                          columns=min(5, len(r.thumbnails)), grey=r.grey),
                                caption="The same wrong predictions as images (#row: true → predicted, the model's "
                                        "confidence)."))
        return items + [Note(n) for n in r.notes]


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
