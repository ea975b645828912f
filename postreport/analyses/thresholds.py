"""Decision thresholds (binary): precision, recall, F1 and predicted-positive rate at every threshold,
the threshold that maximises F1 and the one that minimises an expected cost, cumulative gain, lift and KS."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import UserError
from ..figures import Lines, Panels, Series
from ..report.model import Figure, Note, Table
from ..sampling import cap_points
from .base import Analysis


@dataclass
class Cost:
    """Cost of each kind of error, per row (any unit: only ratios matter for the choice)."""

    fp: float = 1.0
    fn: float = 1.0

    def __post_init__(self):
        for key in ("fp", "fn"):
            value = getattr(self, key)
            if value < 0:
                raise UserError(f"analyses.thresholds.cost.{key}={value} is negative; costs must be >= 0")
        if self.fp == 0 and self.fn == 0:
            raise UserError("analyses.thresholds.cost: fp and fn are both 0; give at least one a positive cost")


@dataclass
class ThresholdSettings:
    cost: Cost = field(default_factory=Cost)
    default: float = 0.5  # the threshold the model's own labels use
    max_points: int = 1000


@dataclass
class Choice:
    name: str
    threshold: float
    precision: Optional[float]
    recall: float
    f1: float
    positive_rate: float
    cost: float

    def row(self) -> list:
        return [self.name, self.threshold, self.precision, self.recall, self.f1, self.positive_rate, self.cost]


@dataclass
class ThresholdResult:
    curve: dict  # threshold, precision, recall, f1, positive_rate, cost (capped)
    gain: dict  # share_targeted, share_found, lift (capped)
    choices: list  # [Choice]: default, best F1, lowest cost
    ks: float
    ks_threshold: float
    cost: Cost
    positive_label: object = None
    score_range: tuple = (0.0, 1.0)  # the threshold axis: probabilities, or the range of raw scores

    def choice(self, name: str) -> Choice:
        return next(c for c in self.choices if c.name == name)

    def headline(self) -> str:
        best, default = self.choice("lowest expected cost"), self.choice("default")
        return (f"Recommended threshold: {best.threshold:.3f} (lowest expected cost with fp={self.cost.fp:g}, "
                f"fn={self.cost.fn:g}: {best.cost:.3f} per row, against {default.cost:.3f} at the default "
                f"{default.threshold:g}).")

    def to_json(self) -> dict:
        return {
            "curve": self.curve, "gain": self.gain, "ks": self.ks, "ks_threshold": self.ks_threshold,
            "cost": {"fp": self.cost.fp, "fn": self.cost.fn},
            "choices": {c.name: {k: v for k, v in vars(c).items() if k != "name"} for c in self.choices},
            "best_f1_threshold": self.choice("best F1").threshold,
            "min_cost_threshold": self.choice("lowest expected cost").threshold,
        }


def threshold_table(y: np.ndarray, score: np.ndarray, ascending: Optional[np.ndarray] = None):
    """Counts at every distinct threshold t (predict positive when score >= t), highest t first, plus a
    threshold above every score (nothing predicted positive). `ascending`: the rows in ascending score order."""
    order = np.argsort(-score, kind="mergesort") if ascending is None else ascending[::-1]
    s, ys = score[order], y[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.r_[0, np.cumsum(ys)[last]]
    fp = np.r_[0, np.cumsum(1 - ys)[last]]
    thresholds = np.r_[np.nextafter(s[0], np.inf), s[last]]
    return thresholds, tp.astype(float), fp.astype(float)


def analyse(y: np.ndarray, score: np.ndarray, cost: Cost, default: float, max_points: int,
            ascending: Optional[np.ndarray] = None) -> ThresholdResult:
    n, P = len(y), float(y.sum())
    N = n - P
    t, tp, fp = threshold_table(y, score, ascending)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = tp / P
        f1 = 2 * tp / (tp + fp + P)
        rate = (tp + fp) / n
        expected = (fp * cost.fp + (P - tp) * cost.fn) / n
        fpr = fp / N

    def choice(name, i):
        return Choice(name, float(t[i]), None if np.isnan(precision[i]) else float(precision[i]), float(recall[i]),
                      float(f1[i]), float(rate[i]), float(expected[i]))

    at_default = int(np.searchsorted(-t, -default, side="right") - 1)  # the lowest listed t that is >= default
    choices = [choice("default", max(at_default, 0)), choice("best F1", int(np.nanargmax(f1))),
               choice("lowest expected cost", int(np.argmin(expected)))]
    choices[0].threshold = default
    ks_i = int(np.argmax(recall - fpr))
    keep = cap_points(max_points, np.arange(len(t)))[0]
    curve = {"threshold": t[keep], "precision": precision[keep], "recall": recall[keep], "f1": f1[keep],
             "positive_rate": rate[keep], "cost": expected[keep]}
    lift = np.where(rate > 0, recall / np.where(rate > 0, rate, 1), np.nan)
    gain = {"share_targeted": rate[keep], "share_found": recall[keep], "lift": lift[keep]}
    as_lists = lambda d: {k: [None if not np.isfinite(x) else float(x) for x in v] for k, v in d.items()}  # noqa: E731
    return ThresholdResult(curve=as_lists(curve), gain=as_lists(gain), choices=choices,
                           ks=float(recall[ks_i] - fpr[ks_i]), ks_threshold=float(t[ks_i]), cost=cost)


class ThresholdsAnalysis(Analysis):
    name = "thresholds"
    title = "Decision threshold"
    lead = "What changes when the model flags rows at a lower or higher score, and which threshold to use."
    Settings = ThresholdSettings

    def skip_reason(self, ctx) -> Optional[str]:
        if ctx.data.task != "binary":
            return f"Threshold analysis is for binary classification; this is {ctx.data.task}."
        if ctx.encoded.proba is None:
            return "The model gives no probabilities, so there is no threshold to move."
        if len(np.unique(ctx.encoded.y_bin)) < 2:
            return "The test set holds one class only."
        return None

    def compute(self, ctx, settings: ThresholdSettings) -> ThresholdResult:
        enc, pred = ctx.encoded, ctx.predictions
        default = settings.default if pred.probabilities else pred.threshold  # raw scores: the labels' threshold
        result = analyse(enc.y_bin, enc.score, settings.cost, default, settings.max_points, enc.score_order)
        result.positive_label = ctx.data.positive_label
        result.score_range = (0.0, 1.0) if pred.probabilities else (float(enc.score.min()), float(enc.score.max()))
        return result

    def items(self, r: ThresholdResult) -> list:
        c = r.curve
        marks = [(r.choice("best F1").threshold, "best F1"), (r.choice("lowest expected cost").threshold, "lowest cost")]
        sweep = Figure(Lines([
            Series(c["threshold"], c["precision"], "precision"),
            Series(c["threshold"], c["recall"], "recall"),
            Series(c["threshold"], c["f1"], "F1"),
            Series(c["threshold"], c["positive_rate"], "predicted positive rate", "dashed"),
        ], "Metrics against the threshold", f"Threshold (predict {r.positive_label!r} when score ≥ threshold)",
            "", r.score_range, (0, 1.02), vlines=marks),
            caption="Each curve at every threshold; dotted lines mark the best-F1 and lowest-cost thresholds.")
        g = r.gain
        gains = Figure(Panels([
            Lines([Series(g["share_targeted"], g["share_found"])], "Cumulative gain",
                  "Share of rows targeted (highest scores first)", f"Share of {r.positive_label!r} found",
                  (0, 1), (0, 1.02), diagonal=True),
            Lines([Series(g["share_targeted"][1:], g["lift"][1:])], "Lift",
                  "Share of rows targeted", "Lift over random", (0, 1)),
        ], height=3.0), caption=f"Gain: the share of all {r.positive_label!r} rows among the top-scored rows "
                                f"(dotted: random order). Lift: that share divided by the share targeted. "
                                f"KS statistic {r.ks:.3f} at threshold {r.ks_threshold:.3f}.")
        table = Table(["Threshold choice", "Threshold", "Precision", "Recall", "F1", "Predicted positive",
                       "Expected cost per row"], [ch.row() for ch in r.choices],
                      caption=f"Expected cost per row = (false positives × {r.cost.fp:g} + false negatives × "
                              f"{r.cost.fn:g}) / rows; set analyses.thresholds.cost.fp / .fn to your costs.",
                      percent_columns=[5], highlight_rows=[2])
        return [sweep, table, Note(r.headline()), gains]
