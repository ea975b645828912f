"""Weak-segment discovery: every segment of one feature value (a category, a quantile bin, missing values) and of two
(their conjunction) with at least `min_size` test rows, tested for a higher loss than in the rest of the rows, with
the false discovery rate controlled over everything searched (Benjamini-Hochberg).

The test of a segment of m rows is a permutation test: under "the segment is like any m rows", its mean loss is the
mean of m rows drawn without replacement from all n; the p-value is the one-sided tail of that permutation
distribution, in its normal approximation (mean: the overall mean; variance: s^2/m * (n-m)/(n-1))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

MISSING = "(missing)"


@dataclass
class Segment:
    conditions: list  # [(column, value text)]
    size: int
    metric: float  # mean loss in the segment
    metric_ci: list
    rest: float  # mean loss in the other rows
    effect: float  # metric - rest
    p_value: float
    q_value: float = 1.0
    flagged: bool = False

    def to_json(self) -> dict:
        return {"conditions": [{"column": c, "value": v} for c, v in self.conditions], "size": self.size,
                "metric": self.metric, "metric_ci": self.metric_ci, "rest": self.rest, "effect": self.effect,
                "p_value": self.p_value, "q_value": self.q_value, "flagged": self.flagged}

    def text(self) -> str:
        return " and ".join(f"{c} {v}" for c, v in self.conditions)


def codes(values: pd.Series, bins: int, max_levels: int) -> tuple:
    """Each row's value code and the codes' labels: quantile bins of a numeric column, its most frequent levels
    otherwise (the rest pooled), missing values as a value of their own."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > bins:
        edges = np.unique(np.nanquantile(values.to_numpy(float), np.linspace(0, 1, bins + 1)))
        inner = edges[1:-1]
        code = np.searchsorted(inner, values.to_numpy(float), side="left")
        labels = [f"≤ {inner[0]:.4g}"] + [f"in ({a:.4g}, {b:.4g}]" for a, b in zip(inner[:-1], inner[1:])] + [
            f"> {inner[-1]:.4g}"] if len(inner) else ["(all)"]
    else:
        text = values.astype(object).where(~missing, MISSING).astype(str)
        keep = list(text[~missing].value_counts().index[:max_levels])
        lookup = {v: i for i, v in enumerate(keep)}
        code = text.map(lambda v: lookup.get(v, len(keep))).to_numpy()
        labels = [f"= {v}" for v in keep] + ["= (other)"]
    code = np.where(missing, len(labels), code).astype(np.int64)
    return code, labels + ["= (missing)"]


MAX_PAIR_COLUMNS = 30  # two-feature segments among at most this many columns (the first ones, in file order)
KEPT = 50  # segments listed besides the flagged ones (the strongest); all are counted as searched


def discover(frame: pd.DataFrame, loss: np.ndarray, min_size: int, q: float, bins: int = 4,
             max_levels: int = 8, level: float = 0.95, pairs: bool = True) -> tuple:
    """(segments: every flagged one and the strongest others, strongest first; the number searched; notes)."""
    from scipy.special import ndtr, ndtri

    n = len(loss)
    mean = float(loss.mean())
    var = float(loss.var(ddof=1)) if n > 1 else 0.0
    total = float(loss.sum())
    z_level = float(ndtri(1 - (1 - level) / 2))
    coded = []
    for column in frame.columns:
        code, labels = codes(frame[column].reset_index(drop=True), bins, max_levels)
        if len(np.unique(code)) > 1:
            coded.append((column, code, labels))
    notes = []
    tested = []  # (describe(cell) -> conditions, cells, m, segment mean, rest mean, p, half width)

    def test(describe, code, width):
        count = np.bincount(code, minlength=width).astype(float)
        sums = np.bincount(code, loss, minlength=width)
        squares = np.bincount(code, loss * loss, minlength=width)
        cells = np.flatnonzero((count >= min_size) & (count <= n - min_size))
        if not len(cells):
            return
        m, seg = count[cells], sums[cells] / count[cells]
        rest = (total - sums[cells]) / (n - m)
        se = np.sqrt(var / m * (n - m) / (n - 1)) if var > 0 else np.zeros_like(m)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(se > 0, ndtr(-(seg - mean) / np.where(se > 0, se, 1)), 1.0)
        seg_var = np.maximum(squares[cells] / m - seg ** 2, 0) * m / np.maximum(m - 1, 1)
        tested.append((describe, cells, m, seg, rest, p, z_level * np.sqrt(seg_var / m)))

    for column, code, labels in coded:
        test(lambda c, column=column, labels=labels: [(column, labels[c])], code, len(labels))
    if pairs:
        paired = coded[:MAX_PAIR_COLUMNS]
        if len(coded) > MAX_PAIR_COLUMNS:
            notes.append(f"Two-feature segments were searched among the first {MAX_PAIR_COLUMNS} of the "
                         f"{len(coded)} columns (one-feature segments among all of them).")
        for i in range(len(paired)):
            for j in range(i + 1, len(paired)):
                (ca, code_a, la), (cb, code_b, lb) = paired[i], paired[j]
                width = len(lb)
                test(lambda c, ca=ca, cb=cb, la=la, lb=lb, width=width: [(ca, la[c // width]), (cb, lb[c % width])],
                     code_a * width + code_b, len(la) * width)
    if not tested:
        return [], 0, notes
    p = np.concatenate([t[5] for t in tested])
    searched = len(p)
    order = np.argsort(p, kind="mergesort")
    q_values = np.empty(searched)
    q_values[order] = np.minimum.accumulate((p[order] * searched / np.arange(1, searched + 1))[::-1])[::-1].clip(max=1)
    effect = np.concatenate([t[3] - t[4] for t in tested])
    flagged = (q_values <= q) & (effect > 0)
    rank = np.lexsort((-effect, q_values, ~flagged))  # flagged first, then by q-value, then by effect
    keep = rank[: max(KEPT, int(flagged.sum()))]
    offsets = np.cumsum([0] + [len(t[1]) for t in tested])
    segments = []
    for k in keep:
        block = int(np.searchsorted(offsets, k, side="right") - 1)
        describe, cells, m, seg, rest, pv, half = tested[block]
        i = k - offsets[block]
        segments.append(Segment(describe(int(cells[i])), int(m[i]), float(seg[i]),
                                [float(seg[i] - half[i]), float(seg[i] + half[i])], float(rest[i]),
                                float(seg[i] - rest[i]), float(pv[i]), float(q_values[k]), bool(flagged[k])))
    return segments, searched, notes


def loss_per_row(task: str, pred, enc) -> tuple:
    """The loss each row carries and its name: log loss where the model gives probabilities, else the error rate;
    absolute error for regression."""
    if task == "regression":
        return np.abs(pred.y_pred - pred.y_true), "absolute error"
    if enc.proba is not None and pred.probabilities:
        p = np.clip(enc.proba[np.arange(len(enc.y_idx)), np.minimum(enc.y_idx, enc.proba.shape[1] - 1)], 1e-15, 1)
        return -np.log(p), "log loss"
    return (enc.y_idx != enc.pred_idx).astype(float), "error rate"


def strongest(segments: list) -> Optional[Segment]:
    return next((s for s in segments if s.flagged), None)
