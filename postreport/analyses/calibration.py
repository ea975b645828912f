"""Calibration: do predicted probabilities match observed frequencies? Reliability diagram, score
histogram, Brier score and expected calibration error (ECE) with a bootstrap interval."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import UserError
from ..figures import Lines, Series
from ..report.model import Estimate, Figure, Note, Table
from .base import Analysis

STRATEGIES = ("uniform", "quantile")
VERDICTS = ((0.02, "well calibrated"), (0.05, "fairly well calibrated"), (0.10, "somewhat miscalibrated"),
            (float("inf"), "poorly calibrated"))


@dataclass
class CalibrationSettings:
    bins: int = 10
    strategy: str = "uniform"  # uniform: equal-width bins; quantile: equal-count bins

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise UserError(f"analyses.calibration.strategy={self.strategy!r} is not valid; valid: {list(STRATEGIES)}")
        if self.bins < 2:
            raise UserError(f"analyses.calibration.bins={self.bins} must be at least 2")


@dataclass
class Reliability:
    mean_predicted: list
    fraction_positive: list
    count: list
    ece: float

    def to_json(self) -> dict:
        return {"mean_predicted": self.mean_predicted, "fraction_positive": self.fraction_positive,
                "count": self.count, "ece": self.ece}


@dataclass
class CalibrationResult:
    curves: dict  # name -> Reliability ("positive" for binary; each class and "top label" for multiclass)
    main: str  # the curve the verdict is about
    ece_ci: Optional[list]
    ci_level: Optional[float]
    histogram: tuple  # (edges, counts) of the main curve's scores
    mean_score: float
    observed_rate: float
    strategy: str
    brier: float = 0.0
    bins: int = 10
    notes: list = field(default_factory=list)

    @property
    def ece(self) -> float:
        return self.curves[self.main].ece

    @property
    def verdict(self) -> str:
        return next(word for limit, word in VERDICTS if self.ece <= limit)

    def headline(self) -> str:
        direction = ""
        if abs(self.mean_score - self.observed_rate) > 0.01:
            direction = (" (scores run high: on average the model is over-confident)"
                         if self.mean_score > self.observed_rate else " (scores run low: under-confident)")
        ci = f" [{self.ece_ci[0]:.3f}, {self.ece_ci[1]:.3f}]" if self.ece_ci else ""
        return f"Calibration: {self.verdict}, expected calibration error {self.ece:.3f}{ci}{direction}."

    def to_json(self) -> dict:
        return {"curves": {k: c.to_json() for k, c in self.curves.items()}, "main": self.main, "ece": self.ece,
                "brier": self.brier,
                "ece_ci": self.ece_ci, "verdict": self.verdict, "strategy": self.strategy,
                "histogram": {"edges": list(map(float, self.histogram[0])), "counts": list(map(int, self.histogram[1]))}}


def bin_edges(score: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    if strategy == "quantile":
        edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    return np.linspace(0, 1, bins + 1)


def bin_index(score: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, score, side="right") - 1, 0, len(edges) - 2)


def reliability(score: np.ndarray, outcome: np.ndarray, edges: np.ndarray) -> Reliability:
    idx = bin_index(score, edges)
    nb = len(edges) - 1
    count = np.bincount(idx, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(idx, score, minlength=nb) / count
        frac = np.bincount(idx, outcome, minlength=nb) / count
    keep = count > 0
    ece = float(np.sum(count[keep] * np.abs(frac[keep] - mean[keep])) / len(score))
    return Reliability(mean[keep].tolist(), frac[keep].tolist(), count[keep].tolist(), ece)


def ece_samples(score, outcome, edges, resamples: int, seed: int) -> np.ndarray:
    """ECE of each bootstrap resample: rows grouped by (bin, outcome), counts drawn from a multinomial."""
    n = len(score)
    idx = bin_index(score, edges)
    uniq, inverse, count = np.unique(idx * 2 + outcome.astype(int), return_inverse=True, return_counts=True)
    mean_score = np.bincount(inverse, score) / count
    onehot = np.zeros((len(uniq), len(edges) - 1))
    onehot[np.arange(len(uniq)), uniq // 2] = 1
    W = np.random.default_rng([seed, 1]).multinomial(n, count / n, size=resamples).astype(float)
    predicted = (W * mean_score) @ onehot
    observed = (W * (uniq % 2)) @ onehot
    return np.abs(observed - predicted).sum(axis=1) / n


class CalibrationAnalysis(Analysis):
    name = "calibration"
    title = "Calibration"
    lead = "Whether a predicted probability of 70% comes true about 70% of the time."
    Settings = CalibrationSettings

    def skip_reason(self, ctx) -> Optional[str]:
        if ctx.data.task == "regression":
            return "Calibration of probabilities needs classes; this is a regression task."
        if ctx.encoded.proba is None:
            return "The model gives no probabilities (or not for every class), so there is nothing to calibrate."
        if not ctx.predictions.probabilities:
            return "The scores are not probabilities (see the summary), so calibration does not apply."
        return None

    def compute(self, ctx, settings: CalibrationSettings) -> CalibrationResult:
        from ..bootstrap import Intervals

        enc, boot = ctx.encoded, ctx.cfg.bootstrap
        curves = {}
        if ctx.data.task == "binary":
            main, score, outcome = "positive", enc.score, enc.y_bin.astype(float)
            brier = float(np.mean((outcome - score) ** 2))
        else:
            proba = enc.proba
            for k, label in enumerate(ctx.data.labels):
                edges = bin_edges(proba[:, k], settings.bins, settings.strategy)
                curves[str(label)] = reliability(proba[:, k], (enc.y_idx == k).astype(float), edges)
            main, score = "top label", proba.max(axis=1)
            outcome = (proba.argmax(axis=1) == enc.y_idx).astype(float)
            brier = float(np.mean(np.sum((np.eye(proba.shape[1])[enc.y_idx] - proba) ** 2, axis=1)))
        edges = bin_edges(score, settings.bins, settings.strategy)
        curves = {main: reliability(score, outcome, edges), **curves}
        ci = None
        if boot.resamples > 0:
            seed = ctx.seed if boot.seed is None else boot.seed
            samples = ece_samples(score, outcome, edges, boot.resamples, seed)
            ci = Intervals({"ece": samples}, boot.level, boot.resamples).interval("ece")
        counts, hist_edges = np.histogram(score, bins=np.linspace(0, 1, 21))
        return CalibrationResult(curves=curves, main=main, ece_ci=ci, ci_level=boot.level if ci else None,
                                 histogram=(hist_edges, counts), mean_score=float(score.mean()),
                                 observed_rate=float(outcome.mean()), strategy=settings.strategy, brier=brier,
                                 bins=settings.bins)

    def items(self, r: CalibrationResult) -> list:
        many = len(r.curves) > 7
        series = []
        for name, c in r.curves.items():
            if name == r.main:
                series.append(Series(c.mean_predicted, c.fraction_positive, f"{name} (ECE {c.ece:.3f})", color="#000000",
                                     marker=True))
            else:
                series.append(Series(c.mean_predicted, c.fraction_positive, "" if many else f"{name} (ECE {c.ece:.3f})",
                                     color="#b8c0cc" if many else None, thin=many))
        what = "positive class" if r.main == "positive" else "top label (the class predicted)"
        figure = Figure(
            Lines(series, "Reliability diagram", f"Mean predicted probability ({what})", "Observed frequency",
                  (0, 1), (0, 1.02), diagonal=True, bars=r.histogram),
            caption=f"Points: test rows grouped into {r.bins} {r.strategy} bins of predicted probability "
                    f"({len(r.curves[r.main].count)} hold rows); a calibrated model lies on the dotted diagonal. Grey bars: how many rows have "
                    "each predicted probability (right axis).",
        )
        level = f" [{r.ci_level:.0%} CI]" if r.ci_level else ""
        rows = [[name, Estimate(c.ece, r.ece_ci if name == r.main else None), sum(c.count)]
                for name, c in r.curves.items()]
        table = Table(["Curve", f"Expected calibration error{level}", "Rows"], rows,
                      caption="Expected calibration error: the row-weighted mean gap between predicted probability "
                              f"and observed frequency over the bins (0 is perfect). Brier score {r.brier:.4f} "
                              "(mean squared error of the probabilities; its interval is in the metrics table).")
        return [figure, table, Note(r.headline(), "info" if r.ece <= 0.05 else "warning")]
