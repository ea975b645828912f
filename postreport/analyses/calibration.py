"""Calibration: do predicted probabilities match observed frequencies? Reliability diagram, score
histogram, Brier score and expected calibration error (ECE) with a bootstrap interval."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.stats.bootstrap import Intervals, intervals_on
from postreport.errors import UserError
from postreport.report.figures import Lines, Series
from postreport.models.out_of_fold import out_of_fold_scores
from postreport.stats.paired import BETTER, row_mean_interval, verdict
from postreport.report.model import Estimate, Figure, Note, Table, print_selection, undefined_last
from postreport.stats.calibration import (bin_edges, ece_samples, expected_ece_if_calibrated, logistic_recalibration,
    reliability)
from postreport.stats.proportions import wilson, z_for
from postreport.analyses.base import Analysis, Need, classes, probabilities
from postreport.planning.costs import row_mean_seconds
from postreport.planning.plan import Step

STRATEGIES = ("uniform", "quantile")
RECALIBRATION_SECONDS = 0.1  # the two recalibrations' fits and predictions (measured on 20,000 out-of-fold rows)
RECALIBRATION_INTERVALS = 4  # Brier score and log loss, after each of the two
SMALL_ECE = 0.05  # "well calibrated" needs the ECE's interval (or the ECE) at or below this, and no other evidence
RULE = ("Verdict rule: miscalibrated when the calibration slope's interval excludes 1 (below: scores too extreme; "
        "above: too cautious), the intercept's excludes 0 (the scores run high or low), or a recalibration fitted on "
        f"out-of-fold scores clearly lowers the test rows' log loss; otherwise well calibrated when the expected "
        f"calibration error's interval (or the ECE, without intervals) is at most {SMALL_ECE:g}, and no clear "
        "miscalibration when it is wider than that.")


def ece_upper_bound(percentile: Optional[list], ece: float) -> Optional[list]:
    """The ECE's interval as [0, upper]: the bootstrap's upper percentile is a conservative bound on the population's
    ECE (covered 98-100 % at a nominal 95 % from 60 to 1,000 rows, calibrated or not), but its lower one is not a
    bound at all: the plug-in ECE is biased upward, and the two-sided percentile interval held the population's value
    0 % of the time for a calibrated model and 20 % at 100 rows for a mildly miscalibrated one, often lying wholly
    above the estimate (bench/bench_coverage.py)."""
    return None if percentile is None else [0.0, max(percentile[1], ece)]


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
    wilson: list = field(default_factory=list)  # [low, high] of each bin's observed frequency (main curve)
    slope: Optional[float] = None  # logistic recalibration: logit(P(y=1)) = intercept + slope * logit(score)
    intercept: Optional[float] = None
    slope_ci: Optional[list] = None
    intercept_ci: Optional[list] = None
    ece_debiased: Optional[float] = None
    recalibration: Optional[dict] = None  # Platt / isotonic fitted on out-of-fold scores, judged on the test rows

    @property
    def ece(self) -> float:
        return self.curves[self.main].ece

    @property
    def ece_variant(self) -> str:
        return (f"binned, L1: |observed frequency - mean predicted probability| per bin, weighted by the bin's rows; "
                f"{self.bins} {self.strategy} bins")

    def evidence(self) -> list:
        """What the section found against calibration, each with its interval: the verdict's reasons."""
        found = []
        if self.slope_ci and not self.slope_ci[0] <= 1 <= self.slope_ci[1]:
            found.append(f"scores too {'extreme' if self.slope_ci[1] < 1 else 'cautious'} (calibration slope "
                         f"{self.slope:.3f} [{self.slope_ci[0]:.3f}, {self.slope_ci[1]:.3f}], not 1)")
        if self.intercept_ci and not self.intercept_ci[0] <= 0 <= self.intercept_ci[1]:
            found.append(f"scores run {'high' if self.intercept_ci[1] < 0 else 'low'} (calibration intercept "
                         f"{self.intercept:.3f} [{self.intercept_ci[0]:.3f}, {self.intercept_ci[1]:.3f}], not 0)")
        for method, entry in (self.recalibration or {}).get("methods", {}).items():
            e = entry.get("log_loss", {})
            if e.get("verdict") == BETTER:
                found.append(f"{method} recalibration lowers the log loss by {-e['change']:.4f} "
                             f"[{-e['change_ci'][1]:.4f}, {-e['change_ci'][0]:.4f}]")
        return found

    @property
    def verdict(self) -> str:
        if self.evidence():
            return "miscalibrated"
        bound = self.ece_ci[1] if self.ece_ci else self.ece
        return "well calibrated" if bound <= SMALL_ECE else "no clear miscalibration"

    def headline(self) -> str:
        ci = f" [{self.ece_ci[0]:.3f}, {self.ece_ci[1]:.3f}]" if self.ece_ci else ""
        reasons = self.evidence()
        why = (": " + "; ".join(reasons)) if reasons else ""
        return f"Calibration: {self.verdict}{why}; expected calibration error {self.ece:.3f}{ci}."

    def to_json(self) -> dict:
        return {"curves": {k: c.to_json() for k, c in self.curves.items()}, "main": self.main, "ece": self.ece,
                "brier": self.brier, "ece_variant": self.ece_variant, "ece_debiased": self.ece_debiased,
                "bins_wilson_ci": self.wilson, "slope": self.slope, "slope_ci": self.slope_ci,
                "intercept": self.intercept, "intercept_ci": self.intercept_ci, "recalibration": self.recalibration,
                "ece_ci": self.ece_ci, "verdict": self.verdict, "verdict_rule": RULE, "strategy": self.strategy,
                "histogram": {"edges": list(map(float, self.histogram[0])), "counts": list(map(int, self.histogram[1]))}}


def recalibrate(ctx, score: np.ndarray, outcome: np.ndarray, boot, seed: int) -> Optional[dict]:
    """Platt scaling and isotonic regression fitted on the configured model's out-of-fold scores (never the test
    rows), applied to the test scores: Brier score and log loss before and after, with paired intervals of the
    change."""
    oof = out_of_fold_scores(ctx)
    if oof is None:
        return None
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    y_sel, s_sel, rows = oof
    eps = 1e-12

    def logit(s):
        s = np.clip(s, eps, 1 - eps)
        return (np.log(s) - np.log1p(-s))[:, None]

    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logit(s_sel), y_sel)
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s_sel, y_sel)
    y = outcome.astype(int)

    def losses(p):
        p = np.clip(p, eps, 1 - eps)
        return (y - p) ** 2, -(y * np.log(p) + (1 - y) * np.log(1 - p))

    before = losses(score)
    out = {"fitted_on": f"out-of-fold scores of {rows:,} training rows", "methods": {}}
    for name, calibrated in (("platt", platt.predict_proba(logit(score))[:, 1]), ("isotonic", isotonic.predict(score))):
        after = losses(calibrated)
        entry = {}
        for metric, b, a in (("brier", before[0], after[0]), ("log_loss", before[1], after[1])):
            change = a - b
            ci = row_mean_interval(change, boot, seed)
            entry[metric] = {"before": float(b.mean()), "after": float(a.mean()), "change": float(change.mean()),
                             "change_ci": ci, "verdict": verdict(ci, False)}
        out["methods"][name] = entry
    return out


class CalibrationAnalysis(Analysis):
    name = "calibration"
    aggregated = True
    title = "Calibration"
    lead = "Whether a predicted probability of 70% comes true about 70% of the time."
    Settings = CalibrationSettings

    needs = (classes("Calibration of probabilities needs"),
             probabilities("The model gives no probabilities (or not for every class), so there is nothing to "
                           "calibrate."),
             Need(lambda ctx: ctx.predictions.probabilities,
                  "The scores are not probabilities (see the summary), so calibration does not apply."))
    uses = frozenset({"out_of_fold"})
    quick = True

    def plan(self, plan, settings) -> list:
        b = plan.cfg.bootstrap
        if plan.shape.task != "binary" or not plan.oof_rows or not intervals_on(b):
            return []  # the recalibration's paired intervals below; the rest is quick
        rows = min(plan.shape.n_test, b.max_exact_rows)
        return [Step("calibration", "Platt scaling and isotonic regression on the out-of-fold scores, with paired "
                     "intervals of the change in Brier score and log loss", RECALIBRATION_SECONDS
                     + RECALIBRATION_INTERVALS * row_mean_seconds(rows, b.resamples), rows=rows, repeats=b.resamples)]

    def compute(self, ctx, settings: CalibrationSettings) -> CalibrationResult:
        enc, boot = ctx.encoded, ctx.cfg.bootstrap
        w = enc.weight  # aggregated input: rows per cell (binary only; multiclass cells carry no scores)
        curves = {}
        if ctx.data.task == "binary":
            main, score, outcome = "positive", enc.score, enc.y_bin.astype(float)
            sq = (outcome - score) ** 2 if ctx.predictions.sq is None else ctx.predictions.sq
            brier = float(np.average(sq, weights=w))
        else:
            proba = enc.proba
            for k, label in enumerate(ctx.data.labels):
                edges = bin_edges(proba[:, k], settings.bins, settings.strategy)
                curves[str(label)] = reliability(proba[:, k], (enc.y_idx == k).astype(float), edges)
            main, score = "top label", proba.max(axis=1)
            outcome = (proba.argmax(axis=1) == enc.y_idx).astype(float)
            brier = float(np.mean(np.sum((np.eye(proba.shape[1])[enc.y_idx] - proba) ** 2, axis=1)))
        edges = bin_edges(score, settings.bins, settings.strategy, w)
        curves = {main: reliability(score, outcome, edges, w), **curves}
        ci = None
        if intervals_on(boot):
            seed = ctx.bootstrap_seed
            samples = ece_samples(score, outcome, edges, boot.resamples, seed, w)
            ci = ece_upper_bound(Intervals({"ece": samples}, boot.level, boot.resamples).interval("ece"),
                                 curves[main].ece)
        counts, hist_edges = np.histogram(score, bins=np.linspace(0, 1, 21), weights=w)
        result = CalibrationResult(curves=curves, main=main, ece_ci=ci, ci_level=boot.level if ci else None,
                                   histogram=(hist_edges, np.rint(counts).astype(int)),
                                   mean_score=float(np.average(score, weights=w)),
                                   observed_rate=float(np.average(outcome, weights=w)), strategy=settings.strategy,
                                   brier=brier, bins=settings.bins)
        z = z_for(boot.level)
        c = curves[main]
        result.wilson = [wilson(f * k, k, z) for f, k in zip(c.fraction_positive, c.count)]
        fit = logistic_recalibration(score, outcome, w)
        if fit is not None:
            (result.intercept, result.slope), (se_a, se_b) = fit
            result.intercept_ci = [result.intercept - z * se_a, result.intercept + z * se_a]
            result.slope_ci = [result.slope - z * se_b, result.slope + z * se_b]
        seed = ctx.bootstrap_seed
        result.ece_debiased = c.ece - expected_ece_if_calibrated(score, edges, seed, weight=w)
        if ctx.data.task == "binary":
            result.recalibration = recalibrate(ctx, score, outcome, boot, seed)
        return result

    def items(self, r: CalibrationResult) -> list:
        many = len(r.curves) > 7
        series = []
        for name, c in r.curves.items():
            if name == r.main:
                series.append(Series(c.mean_predicted, c.fraction_positive, f"{name} (ECE {c.ece:.3f})", color="#000000",
                                     marker=True, errors=r.wilson or None))
            else:
                series.append(Series(c.mean_predicted, c.fraction_positive, "" if many else f"{name} (ECE {c.ece:.3f})",
                                     color="#b8c0cc" if many else None, thin=many))
        what = "positive class" if r.main == "positive" else "top label (the class predicted)"
        figure = Figure(
            Lines(series, "Reliability diagram", f"Mean predicted probability ({what})", "Observed frequency",
                  (0, 1), (0, 1.02), diagonal=True, bars=r.histogram),
            caption=f"Points: test rows grouped into {r.bins} {r.strategy} bins of predicted probability "
                    f"({len(r.curves[r.main].count)} hold rows); a calibrated model lies on the dotted diagonal. "
                    "Whiskers: each bin's Wilson interval. Grey bars: how many rows have each predicted probability "
                    "(right axis).",
        )
        level = f" [{r.ci_level:.0%} CI]" if r.ci_level else ""
        rows = [[name, Estimate(c.ece, r.ece_ci if name == r.main else None), sum(c.count)]
                for name, c in r.curves.items()]
        # many classes: the PDF prints the top label's curve and the classes calibrated worst
        worst = sorted(range(1, len(rows)), key=lambda k: undefined_last(rows[k][1].value, descending=True))
        table = Table(["Curve", f"Expected calibration error{level}", "Rows"], rows,
                      print_rows=print_selection([0] + worst, len(rows)),
                      print_why=f"the {r.main} curve and the classes with the largest calibration error",
                      caption="Expected calibration error: the row-weighted mean gap between predicted probability "
                              "and observed frequency over the bins (0 is perfect); its interval is an upper bound, "
                              "[0, the bootstrap's upper percentile] (the ECE is biased upward, so no lower bound "
                              f"holds). Brier score {r.brier:.4f} "
                              "(mean squared error of the probabilities; its interval is in the metrics table).")
        c = r.curves[r.main]
        bins = Table(["Mean predicted", "Observed", f"Wilson interval{level}", "Rows"],
                     [[m, f, f"[{w[0]:.3f}, {w[1]:.3f}]", k] for m, f, w, k in
                      zip(c.mean_predicted, c.fraction_positive, r.wilson, c.count)],
                     caption=f"The {r.main} curve's bins.")
        items = [figure, table, bins]
        facts = [f"ECE as computed here: {r.ece_variant}."]
        if r.ece_debiased is not None:
            facts.append(f"Debiased ECE {r.ece_debiased:.3f} (the ECE minus what a calibrated model would show on "
                         "these scores by chance).")
        if r.slope is not None:
            facts.append(f"Calibration slope {r.slope:.3f} [{r.slope_ci[0]:.3f}, {r.slope_ci[1]:.3f}] and intercept "
                         f"{r.intercept:.3f} [{r.intercept_ci[0]:.3f}, {r.intercept_ci[1]:.3f}] (logistic fit of the "
                         "outcome on the logit of the score; 1 and 0 when calibrated; a slope under 1: too extreme).")
        items.append(Note(" ".join(facts)))
        if r.recalibration:
            rows = []
            for method, entry in r.recalibration["methods"].items():
                for metric, e in entry.items():
                    rows.append([method, metric.replace("_", " "), e["before"], e["after"],
                                 Estimate(e["change"], e["change_ci"]), e["verdict"] or "n/a"])
            items.append(Table(["Recalibration", "Metric", "Before", "After", f"Change{level}", "Verdict"], rows,
                               caption=f"Each recalibration fitted on {r.recalibration['fitted_on']} and judged on the "
                                       "test rows; paired intervals of the change (negative: better)."))
        items.append(Note(r.headline() + " " + RULE, "info" if r.verdict == "well calibrated" else "warning"))
        return items
