"""Decision thresholds (binary): precision, recall, F1 and predicted-positive rate at every threshold,
the threshold that maximises F1 and the one that minimises an expected cost, cumulative gain, lift and KS."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.stats.bootstrap import intervals_on, weighted_edges
from postreport.errors import UserError
from postreport.report.figures import Lines, Panels, Series
from postreport.models.out_of_fold import FOLDS, out_of_fold_scores
from postreport.stats.paired import mean_interval
from postreport.report.model import Explorer, Figure, Note, Table
from postreport.stats.sampling import cap_points, sample_rows
from postreport.stats.counts import f1_from_counts
from postreport.stats.intervals import MIN_FINITE, percentile_bounds
from postreport.analyses.base import Analysis, Need, binary, two_classes


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
    curve: dict  # threshold, precision, recall, f1, positive_rate, cost, tp, fp (capped)
    gain: dict  # share_targeted, share_found, lift (capped)
    choices: list  # [Choice]: default, best F1, lowest cost
    ks: float
    ks_threshold: float
    cost: Cost
    positive_label: object = None
    score_range: tuple = (0.0, 1.0)  # the threshold axis: probabilities, or the range of raw scores
    selection: str = "test rows"  # how the best-F1 and lowest-cost thresholds were chosen: out-of-fold | cross-fitted
    selection_note: str = ""
    threshold_ci: dict = field(default_factory=dict)  # choice name -> [low, high] of the chosen threshold
    cost_ci: dict = field(default_factory=dict)  # choice name -> [low, high] of its expected cost on the test rows
    level: Optional[float] = None
    change: Optional[float] = None  # lowest-cost threshold's cost minus the default's, mean per test row
    change_ci: Optional[list] = None  # its interval (paired: the same resampled rows for both)

    def choice(self, name: str) -> Choice:
        return next(c for c in self.choices if c.name == name)

    def headline(self) -> str:
        best, default = self.choice("lowest expected cost"), self.choice("default")
        ci = self.threshold_ci.get(best.name)
        cost_ci = self.cost_ci.get(best.name)
        chosen = (f"{best.threshold:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
                  + f" (lowest expected cost with fp={self.cost.fp:g}, fn={self.cost.fn:g}, chosen on "
                  f"{self.selection} predictions and judged on the test rows: {best.cost:.3f} per row"
                  + (f" [{cost_ci[0]:.3f}, {cost_ci[1]:.3f}]" if cost_ci else "")
                  + f", against {default.cost:.3f} at the default {default.threshold:g})")
        if best.cost >= default.cost:
            return f"Threshold: the default {default.threshold:g} does as well; the alternative is {chosen}."
        if self.change_ci is None:
            return f"Lowest-cost threshold (no interval for its gain over the default): {chosen}."
        change = (f"cost change per row {self.change:+.3f} "
                  f"[{self.change_ci[0]:+.3f}, {self.change_ci[1]:+.3f}]")
        if self.change_ci[1] < 0:
            return f"Recommended threshold: {chosen}; {change}, paired on the test rows."
        return (f"Threshold: the default {default.threshold:g} is not clearly worse: the alternative {chosen} has "
                f"a {change}, paired on the test rows, which holds 0.")

    def to_json(self) -> dict:
        return {
            "curve": self.curve, "gain": self.gain, "ks": self.ks, "ks_threshold": self.ks_threshold,
            "cost": {"fp": self.cost.fp, "fn": self.cost.fn},
            "choices": {c.name: {k: v for k, v in vars(c).items() if k != "name"} for c in self.choices},
            "best_f1_threshold": self.choice("best F1").threshold,
            "min_cost_threshold": self.choice("lowest expected cost").threshold,
            "selection": self.selection, "threshold_ci": self.threshold_ci, "cost_ci": self.cost_ci,
            "cost_change_vs_default": self.change, "cost_change_vs_default_ci": self.change_ci,
        }


def bracketing_interval(choices: np.ndarray, chosen: float, level: float) -> Optional[list]:
    """The percentile interval of a choice redone on resamples, or None when it does not contain the choice made
    on all the rows: an argmin over thresholds is not a smooth statistic, and an interval that excludes its own
    estimate says nothing the reader can use."""
    low, high = percentile_bounds(choices, level)
    return [low, high] if low <= chosen <= high else None


def threshold_table(y: np.ndarray, score: np.ndarray, ascending: Optional[np.ndarray] = None, w=None):
    """Counts at every distinct threshold t (predict positive when score >= t), highest t first, plus a
    threshold above every score (nothing predicted positive). `ascending`: the rows in ascending score order;
    w: rows per entry (aggregated input, or a resample's counts)."""
    order = np.argsort(-score, kind="mergesort") if ascending is None else ascending[::-1]
    s, ys = score[order], y[order]
    ws = np.ones(len(s)) if w is None else w[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.r_[0, np.cumsum(ws * ys)[last]]
    fp = np.r_[0, np.cumsum(ws * (1 - ys))[last]]
    thresholds = np.r_[np.nextafter(s[0], np.inf), s[last]]
    return thresholds, tp.astype(float), fp.astype(float)


def analyse(y: np.ndarray, score: np.ndarray, cost: Cost, default: float, max_points: int,
            ascending: Optional[np.ndarray] = None, w=None) -> ThresholdResult:
    n, P = _totals(y, w)
    N = n - P
    t, tp, fp = threshold_table(y, score, ascending, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = tp / P
        f1 = f1_from_counts(tp, tp + fp, P)
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
             "positive_rate": rate[keep], "cost": expected[keep], "tp": tp[keep], "fp": fp[keep]}
    lift = np.where(rate > 0, recall / np.where(rate > 0, rate, 1), np.nan)
    gain = {"share_targeted": rate[keep], "share_found": recall[keep], "lift": lift[keep]}
    as_lists = lambda d: {k: [None if not np.isfinite(x) else float(x) for x in v] for k, v in d.items()}  # noqa: E731
    return ThresholdResult(curve=as_lists(curve), gain=as_lists(gain), choices=choices,
                           ks=float(recall[ks_i] - fpr[ks_i]), ks_threshold=float(t[ks_i]), cost=cost)


CHOSEN = ("best F1", "lowest expected cost")
THRESHOLD_RESAMPLES = 200  # the choice redone on this many resamples for the threshold's interval


def _totals(y: np.ndarray, w) -> tuple:
    """Rows and positives, each entry counting `w` rows (None: one)."""
    return (float(len(y)), float(y.sum())) if w is None else (float(w.sum()), float(np.dot(w, y)))


def picks(y: np.ndarray, score: np.ndarray, cost: Cost, w=None, ascending=None) -> dict:
    """The thresholds (predict positive when score >= it) that maximise F1 and minimise the expected cost."""
    t, tp, fp = threshold_table(y, score, ascending, w)
    P = _totals(y, w)[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"best F1": float(t[int(np.nanargmax(f1_from_counts(tp, tp + fp, P)))]),
                "lowest expected cost": float(t[int(np.argmin(fp * cost.fp + (P - tp) * cost.fn))])}



def _at(y: np.ndarray, score: np.ndarray, t: float, cost: Cost, w=None) -> dict:
    """Precision, recall, F1, predicted-positive rate and expected cost per row at threshold t."""
    flagged = score >= t
    ws = np.ones(len(y)) if w is None else w
    tp, fp = float(np.dot(ws, flagged & (y == 1))), float(np.dot(ws, flagged & (y == 0)))
    n, P = _totals(y, w)
    return {"precision": tp / (tp + fp) if tp + fp else None, "recall": tp / P if P else None,
            "f1": f1_from_counts(tp, tp + fp, P) if tp + fp + P else None, "positive_rate": (tp + fp) / n,
            "cost": (fp * cost.fp + (P - tp) * cost.fn) / n}


def _judge(result: ThresholdResult, name: str, t: float, y, score, cost: Cost, w=None) -> None:
    values = _at(y, score, t, cost, w)
    choice = result.choice(name)
    choice.threshold = t
    choice.precision, choice.recall, choice.f1 = values["precision"], values["recall"], values["f1"]
    choice.positive_rate, choice.cost = values["positive_rate"], values["cost"]


def _coarse(y: np.ndarray, score: np.ndarray, w: np.ndarray, bins: int) -> tuple:
    """Weighted entries merged into at most `bins` quantile bins of score per class, each at its bin's mean score
    (one score per bin for both classes, so that a bin's rows tie)."""
    if len(np.unique(score)) <= bins:
        return y, score, w
    edges = weighted_edges(score, w, bins)
    b = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, max(len(edges) - 2, 0))
    mean = np.bincount(b, w * score) / np.maximum(np.bincount(b, w), 1e-300)
    key, inverse = np.unique(b * 2 + y.astype(np.int64), return_inverse=True)
    return (key % 2).astype(y.dtype), mean[key // 2], np.bincount(inverse, w)


def _halves(y: np.ndarray, seed: int, w=None) -> tuple:
    """Two stratified halves of the test rows, each as (rows, weights): indices and None; for aggregated input
    (w: rows per cell) every cell's rows split between the halves by a seeded binomial draw."""
    if w is not None:
        first = np.random.default_rng(seed).binomial(w.astype(np.int64), 0.5).astype(float)
        every = np.arange(len(y))
        return (every, first), (every, w - first)
    rng = np.random.default_rng(seed)
    a, b = [], []
    for cls in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == cls))
        a.append(rows[: len(rows) // 2])
        b.append(rows[len(rows) // 2:])
    return (np.sort(np.concatenate(a)), None), (np.sort(np.concatenate(b)), None)


def _row_costs(y: np.ndarray, score: np.ndarray, t: float, cost: Cost) -> np.ndarray:
    """Each row's cost at threshold t: fp for a negative predicted positive, fn for a positive predicted negative."""
    return np.where((score >= t) & (y == 0), cost.fp, 0.0) + np.where((score < t) & (y == 1), cost.fn, 0.0)


class ThresholdsAnalysis(Analysis):
    name = "thresholds"
    aggregated = True
    title = "Decision threshold"
    lead = "What changes when the model flags rows at a lower or higher score, and which threshold to use."
    Settings = ThresholdSettings

    needs = (binary("Threshold analysis is for binary classification; this is {task}."),
             Need(lambda ctx: ctx.encoded.proba is not None,
                  "The model gives no probabilities, so there is no threshold to move."),
             two_classes("The test set holds one class only."))
    uses = frozenset({"out_of_fold"})
    quick = True

    def compute(self, ctx, settings: ThresholdSettings) -> ThresholdResult:
        enc, pred = ctx.encoded, ctx.predictions
        default = settings.default if pred.probabilities else pred.threshold  # raw scores: the labels' threshold
        y, score, w = enc.y_bin, enc.score, enc.weight
        result = analyse(y, score, settings.cost, default, settings.max_points, enc.score_order, w)
        result.positive_label = ctx.data.positive_label
        result.score_range = (0.0, 1.0) if pred.probabilities else (float(score.min()), float(score.max()))
        boot = ctx.cfg.bootstrap
        seed = ctx.bootstrap_seed

        oof = out_of_fold_scores(ctx)
        if oof is not None:  # chosen on the training rows' out-of-fold scores, judged on every test row
            y_sel, s_sel, rows_used = oof
            result.selection = "out-of-fold"
            result.selection_note = (
                f"The best-F1 and lowest-cost thresholds are chosen on out-of-fold predictions of the configured "
                f"model ({FOLDS}-fold cross-validation on {rows_used:,} training rows) and judged on the test "
                "rows, so their test numbers are not optimistic.")
            picked = picks(y_sel, s_sel, settings.cost)
            for name, t in picked.items():
                _judge(result, name, t, y, score, settings.cost)
            resample_from = (y_sel, s_sel, None)
        else:  # no training data: cross-fit on the test rows (choose on one half, judge on the other, swap)
            halves = _halves(y, seed, w)
            result.selection = "cross-fitted"
            result.selection_note = (
                "There is no training data (a model file or logged predictions), so the thresholds are cross-fitted "
                "on the test rows: chosen on one half, judged on the other, then the halves swapped; the numbers "
                "shown are the two judgements averaged.")
            chosen_on = [picks(y[a], score[a], settings.cost, wa) for a, wa in halves]
            for name in CHOSEN:
                judged = []
                for picked, (b, wb) in zip(chosen_on, halves[::-1]):
                    t = picked[name]
                    judged.append((t, _at(y[b], score[b], t, settings.cost, wb)))
                threshold = float(np.mean([t for t, _ in judged]))
                values = {k: (None if any(j[k] is None for _, j in judged) else float(np.mean([j[k] for _, j in judged])))
                          for k in judged[0][1]}
                choice = result.choice(name)
                choice.threshold = threshold
                choice.precision, choice.recall, choice.f1 = values["precision"], values["recall"], values["f1"]
                choice.positive_rate, choice.cost = values["positive_rate"], values["cost"]
            resample_from = (y, score, w)
        if intervals_on(boot):
            result.level = boot.level
            self._uncertainty(result, resample_from, y, score, settings.cost, boot, seed, w)
        return result

    @staticmethod
    def _uncertainty(result, selection, y, score, cost, boot, seed, w=None) -> None:
        """The chosen thresholds' bootstrap distribution (the choice redone on resampled selection rows), and the
        expected cost of each chosen threshold on the test rows with its interval. w: rows per cell (aggregated
        input), whose resamples draw cells' counts from a multinomial."""
        y_sel, s_sel, w_sel = selection
        if w_sel is None and len(y_sel) > boot.max_exact_rows:  # each re-choice sorts: resample a seeded sample
            keep = sample_rows(len(y_sel), boot.max_exact_rows, seed)
            result.selection_note += (f" The chosen thresholds' intervals redo the choice on resamples of a seeded "
                                      f"sample of {len(keep):,} of the {len(y_sel):,} rows they are chosen on, so "
                                      "they are wider than they would be with every row.")
            y_sel, s_sel = y_sel[keep], s_sel[keep]
        rng = np.random.default_rng(seed)
        draws = min(boot.resamples, THRESHOLD_RESAMPLES)
        chosen: dict = {name: [] for name in CHOSEN}
        ascending = None
        if w_sel is not None:
            y_sel, s_sel, w_sel = _coarse(y_sel, s_sel, w_sel, boot.max_exact_rows)
            ascending = np.argsort(s_sel, kind="mergesort")
            result.selection_note += (
                f" The chosen thresholds' intervals redo the choice on Poisson resamples of the aggregated cells "
                f"(each cell's rows drawn as a Poisson count, as rows drawn with replacement are for many rows), "
                f"the scores grouped into {len(np.unique(s_sel)):,} quantile bins (bootstrap.max_exact_rows).")
        for _ in range(draws):
            if w_sel is not None:  # Poisson bootstrap of the cells' rows: as rows drawn with replacement, for many rows
                counts = rng.poisson(w_sel).astype(float)
                if 0 < np.dot(counts, y_sel) < counts.sum():
                    for name, t in picks(y_sel, s_sel, cost, counts, ascending).items():
                        chosen[name].append(t)
                continue
            # rows drawn with replacement, as counts per row on one sort of the scores (the same draws, the same
            # choices as sorting each resample: a threshold at a score no drawn row has ties with the drawn one above)
            counts = np.bincount(rng.integers(0, len(y_sel), len(y_sel)), minlength=len(y_sel)).astype(float)
            if ascending is None:
                ascending = np.argsort(s_sel, kind="mergesort")
            if 0 < np.dot(counts, y_sel) < len(y_sel):
                for name, t in picks(y_sel, s_sel, cost, counts, ascending).items():
                    chosen[name].append(t)
        per_row = {}  # each chosen threshold's cost per test row
        for name in CHOSEN:
            t = result.choice(name).threshold
            if len(chosen[name]) >= MIN_FINITE:
                ci = bracketing_interval(np.asarray(chosen[name]), t, boot.level)
                if ci is None:
                    low, high = percentile_bounds(chosen[name], boot.level)
                    result.selection_note += (
                        f" No interval for the {name} threshold: the choices redone on resamples ({low:.3f} to "
                        f"{high:.3f}) do not bracket the {t:.3f} chosen on all the rows (a choice that jumps between "
                        "few distinct scores); its cost interval stands.")
                else:
                    result.threshold_ci[name] = ci
            per_row[name] = _row_costs(y, score, t, cost)
            result.cost_ci[name] = mean_interval(per_row[name], boot, seed, w)
        change = per_row["lowest expected cost"] - _row_costs(y, score, result.choice("default").threshold, cost)
        result.change = float(np.average(change, weights=w))
        result.change_ci = mean_interval(change, boot, seed, w)

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
        chosen = [Note(r.selection_note)] if r.selection_note else []
        explorer = Explorer("thresholds", {
            "threshold": c["threshold"], "tp": c["tp"], "fp": c["fp"], "P": c["tp"][-1], "N": c["fp"][-1],
            "cost_fp": r.cost.fp, "cost_fn": r.cost.fn, "positive": str(r.positive_label),
            "marks": {ch.name: ch.threshold for ch in r.choices}},
            caption="Move the threshold: the test rows' confusion matrix, precision, recall, F1, predicted-positive "
                    "rate and expected cost at each threshold of the curve above (no server; the numbers are in "
                    "metrics.json under results.thresholds.curve).")
        return [sweep, explorer, table, *chosen, Note(r.headline()), gains]
