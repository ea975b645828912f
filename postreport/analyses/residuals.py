"""Regression diagnostics: predicted against actual, residuals against predicted, the residual
distribution, and the error by decile of the target."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from postreport.report.figures import Bars, Histogram, Panels, Scatter
from postreport.report.model import Figure, Table
from postreport.analyses.base import Analysis, regression


AGGREGATED_SAMPLE = 100_000  # rows drawn for the pictures of aggregated input


@dataclass
class ResidualSettings:
    max_points: int = 4000  # points drawn in the scatter plots (a seeded sample when there are more rows)
    deciles: int = 10


@dataclass
class ResidualResult:
    sample_true: list
    sample_pred: list
    n: int
    histogram: tuple  # (edges, counts) of all residuals
    by_decile: list  # [label, rows, mae, bias (mean residual)]
    bias: float
    sampled: int = 0  # aggregated input: the rows (a seeded sample) the histogram and deciles come from

    def to_json(self) -> dict:
        return {"n": self.n, "bias": self.bias, "points_drawn": len(self.sample_true), "rows_sampled": self.sampled,
                "by_decile": [dict(zip(("decile", "rows", "mae", "bias"), row)) for row in self.by_decile],
                "histogram": {"edges": list(map(float, self.histogram[0])), "counts": list(map(int, self.histogram[1]))}}


class ResidualsAnalysis(Analysis):
    name = "residuals"
    title = "Regression diagnostics"
    lead = "Where the predictions miss, by how much, and whether the misses have a pattern."
    Settings = ResidualSettings

    needs = (regression("Residual diagnostics are for regression; this is classification."),)
    quick = True

    aggregated = True

    def compute(self, ctx, settings: ResidualSettings) -> ResidualResult:
        wh = ctx.data.warehouse
        if wh is None:
            return self._residuals(ctx.predictions.y_true, ctx.predictions.y_pred, settings, ctx.seed)
        # aggregated input: the pictures from a seeded sample of rows drawn where they live; the bias from every row
        seed = ctx.bootstrap_seed
        sample = wh.labelled_sample("residual sample", AGGREGATED_SAMPLE, seed)
        result = self._residuals(sample["y"].to_numpy(float), sample["p"].to_numpy(float), settings, ctx.seed)
        cells = ctx.predictions.cells.cells
        result.n, result.sampled = ctx.data.n_test, len(sample)
        result.bias = float(cells["e"].sum() / cells["n"].sum())
        return result

    @staticmethod
    def _residuals(y, p, settings: ResidualSettings, seed: int) -> ResidualResult:
        residual = p - y
        n = len(y)
        pick = np.arange(n)
        if n > settings.max_points:
            pick = np.sort(np.random.default_rng(seed).choice(n, settings.max_points, replace=False))
        counts, edges = np.histogram(residual, bins=30)
        deciles = pd.qcut(pd.Series(y), q=settings.deciles, duplicates="drop")
        frame = pd.DataFrame({"bin": deciles, "abs": np.abs(residual), "res": residual})
        table = frame.groupby("bin", observed=True).agg(rows=("abs", "size"), mae=("abs", "mean"), bias=("res", "mean"))
        by_decile = [[f"({k.left:.4g}, {k.right:.4g}]", int(r.rows), float(r.mae), float(r.bias)]
                     for k, r in table.iterrows()]
        return ResidualResult(y[pick].tolist(), p[pick].tolist(), n, (edges, counts), by_decile,
                              float(residual.mean()))

    def items(self, r: ResidualResult) -> list:
        y, p = np.asarray(r.sample_true), np.asarray(r.sample_pred)
        sampled = f" ({len(y)} of {r.n} rows drawn, a seeded sample)" if len(y) < r.n else ""
        scatter = Figure(Panels([
            Scatter(y, p, "Predicted against actual", "Actual", "Predicted", diagonal=True),
            Scatter(p, p - y, "Residuals against predicted", "Predicted", "Residual (predicted − actual)", hline=0),
        ], height=3.0), caption="Dotted: perfect predictions (left) and zero error (right)" + sampled + ".")
        spread = Figure(Panels([
            Histogram(r.histogram[0], r.histogram[1], "Residual distribution", "Residual (predicted − actual)"),
            Bars([row[0] for row in r.by_decile], [row[2] for row in r.by_decile], "MAE by decile of the target",
                 "MAE"),
        ], height=3.2), caption=f"Mean residual (bias) {r.bias:.3g}: positive means the model over-predicts on "
                               "average." + (f" Histogram and deciles from a seeded sample of {r.sampled:,} of the "
                                             f"{r.n:,} rows (aggregated input); the bias from every row."
                                             if r.sampled else ""))
        table = Table(["Decile of the actual value", "Rows", "MAE", "Bias (mean residual)"], r.by_decile,
                      caption="Error by decile of the target: a rising MAE or a bias that changes sign shows where the "
                              "model struggles." + (f" From the seeded sample of {r.sampled:,} rows." if r.sampled
                                                    else ""))
        return [scatter, spread, table]
