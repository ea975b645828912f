"""Bootstrap confidence intervals for every scalar metric, vectorised.

A resample is a vector of counts over *cells* (how often each cell is drawn). Cells are rows, or, for
large binary test sets, groups of rows that agree on (true label, predicted label, score bin): drawing
rows with replacement then equals drawing cells from a multinomial with the cells' row counts, so the
counting metrics stay exact and only the ranking metrics see scores grouped into `max_bins` quantile bins.
The report's intervals draw rows from all the rows (metrics.intervals); stratification by the true class is an
option of binary() and multiclass(). Scores are sorted once; each resample
only re-weights them (cumulative sums over the sorted order), never re-sorts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.config import BootstrapConfig as BootstrapSettings
from postreport.stats.counts import f1_from_counts
from postreport.stats.intervals import MIN_FINITE, percentile_bounds, percentile_interval
from postreport.stats.proportions import z_for
from postreport.stats.ranking import macro_auc_interval

CHUNK_ELEMENTS = 4_000_000  # resamples x cells held in memory at once
EPS = np.finfo(float).eps
# resamples x rows x classes: past this, ranking each class's scores in every resample (about 15 s on the reference
# machine; 500 classes on 20,000 rows: 220 s) gives way to DeLong's interval of the macro ROC AUC
MAX_RANKING_WORK = 1e9


def ranks_every_class(resamples: int, rows: int, classes: int) -> bool:
    """Whether a multiclass bootstrap ranks every class in each resample (planned from the shape, never timed)."""
    return resamples * rows * classes <= MAX_RANKING_WORK


def intervals_on(settings) -> bool:
    """Are bootstrap intervals asked for (bootstrap.resamples > 0)?"""
    return settings.resamples > 0


def interval_level(settings) -> Optional[float]:
    """The intervals' level, or None when there are none."""
    return settings.level if intervals_on(settings) else None


def seed_of(settings, default: int) -> int:
    """The bootstrap's seed: bootstrap.seed, else the run's seed."""
    return default if settings.seed is None else settings.seed


@dataclass
class Cells:
    stratum: np.ndarray  # (C,) stratum of each cell (true class index; 0 for regression)
    count: np.ndarray  # (C,) rows in each cell
    exact: bool  # True: one row per cell


@dataclass
class Intervals:
    """Per-resample values of each metric, and their percentile intervals."""

    samples: dict  # name -> (B,) or (B, K) array
    level: float
    resamples: int
    grouped: bool = False
    notes: list = field(default_factory=list)
    fixed: dict = field(default_factory=dict)  # name -> [low, high] computed otherwise than by percentiles
    methods: dict = field(default_factory=dict)  # name -> how a fixed interval was computed, when not resampled

    def interval(self, name: str, index: Optional[int] = None):
        if index is None and name in self.fixed:
            return self.fixed[name]
        values = self.samples.get(name)
        if values is None:
            return None
        if index is not None:
            values = values[:, index]
        return percentile_interval(values, self.level, self.resamples)


def resample_counts(cells: Cells, resamples: int, seed: int):
    """Yield (b, C) count matrices, b resamples at a time, deterministic for a seed."""
    n_cells = len(cells.count)
    per_chunk = max(1, min(resamples, CHUNK_ELEMENTS // max(n_cells, 1)))
    strata = [np.flatnonzero(cells.stratum == s) for s in np.unique(cells.stratum)]
    done, chunk = 0, 0
    while done < resamples:
        b = min(per_chunk, resamples - done)
        rng = np.random.default_rng([seed, chunk])
        W = np.zeros((b, n_cells))
        for idx in strata:
            rows = cells.count[idx]
            n_s = int(rows.sum())
            if cells.exact:
                draws = rng.integers(0, len(idx), size=(b, n_s)) + (np.arange(b) * len(idx))[:, None]
                W[:, idx] = np.bincount(draws.ravel(), minlength=b * len(idx)).reshape(b, len(idx))
            else:
                W[:, idx] = rng.multinomial(n_s, rows / n_s, size=b)
        yield W
        done += b
        chunk += 1


def _group_starts(sorted_values: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])


def _ranking(W: np.ndarray, positive: np.ndarray, starts: np.ndarray):
    """ROC AUC and average precision for each resample. Columns of W are in ascending score order and
    `starts` marks groups of tied scores. One cumulative sum over all rows; the rest only touches the positive
    rows (few of them for a class among many)."""
    b, n = W.shape
    at = np.flatnonzero(positive)  # the positive rows' columns, ascending
    if len(at) == 0:
        return np.full(b, np.nan), np.full(b, np.nan)
    sizes = np.diff(np.r_[starts, n])
    first = np.repeat(starts, sizes)[at]  # first column of each positive row's tie group
    last = np.repeat(starts + sizes - 1, sizes)[at]  # its last column
    cum_both = np.cumsum(W, axis=1)
    weights = W[:, at]
    cum_pos = np.cumsum(weights, axis=1)

    def upto(cum, columns, index):  # cum's value at `columns` (positions in `index`), 0 before the first column
        k = np.searchsorted(index, columns, side="right") if index is not None else columns + 1
        out = np.zeros((b, len(columns)))
        out[:, k > 0] = cum[:, k[k > 0] - 1]
        return out

    both_below, both_through = upto(cum_both, first - 1, None), cum_both[:, last]
    pos_below, pos_through = upto(cum_pos, first - 1, at), upto(cum_pos, last, at)
    P, total = cum_pos[:, -1], cum_both[:, -1]
    neg_below = both_below - pos_below
    neg_tied = (both_through - both_below) - (pos_through - pos_below)
    with np.errstate(invalid="ignore", divide="ignore"):
        # AUC: each positive beats the negatives below its score and ties half of those at it
        auc = np.einsum("bk,bk->b", weights, neg_below + 0.5 * neg_tied) / (P * (total - P))
        # AP: precision among the rows at or above each positive's score, weighted by the positives
        above = total[:, None] - both_below
        precision = np.divide(P[:, None] - pos_below, above, out=np.zeros_like(above), where=above > 0)
        ap = np.einsum("bk,bk->b", weights, precision) / P
    return auc, ap


def _counting(tp, fp, fn, tn):
    with np.errstate(invalid="ignore", divide="ignore"):
        n = tp + fp + fn + tn
        recall = tp / (tp + fn)
        specificity = tn / (tn + fp)
        precision = tp / (tp + fp)
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return {
            "accuracy": (tp + tn) / n,
            "balanced_accuracy": (recall + specificity) / 2,
            "precision": precision,
            "recall": recall,
            "f1": f1_from_counts(tp, tp + fp, tp + fn),
            "mcc": np.where(denominator > 0, (tp * tn - fp * fn) / np.where(denominator > 0, denominator, 1), 0.0),
        }


def binary_point(y: np.ndarray, pred: np.ndarray, score: Optional[np.ndarray], order: Optional[np.ndarray] = None,
                 weight: Optional[np.ndarray] = None, loss: Optional[np.ndarray] = None,
                 sq: Optional[np.ndarray] = None) -> dict:
    """Point estimates with the same formulas as the resamples: NaN where undefined. `order`: the rows in ascending
    score order, when already known; weight: rows per entry (aggregated input; None: one each), with each entry's
    mean log loss and squared error (`loss`, `sq`) when its score is a bin's mean."""
    y, pred = y.astype(float), pred.astype(float)
    w = np.ones(len(y)) if weight is None else weight
    tp, fp = np.dot(w, y * pred), np.dot(w, (1 - y) * pred)
    fn, tn = np.dot(w, y * (1 - pred)), np.dot(w, (1 - y) * (1 - pred))
    values = {k: float(v[0]) for k, v in _counting(*(np.array([c]) for c in (tp, fp, fn, tn))).items()}
    if score is not None:
        order = np.argsort(score, kind="mergesort") if order is None else order
        auc, ap = _ranking(w[order][None, :], y[order], _group_starts(score[order]))
        if loss is None:
            loss, sq = binary_losses(y, score)
        values.update(roc_auc=float(auc[0]), average_precision=float(ap[0]),
                      log_loss=float(np.dot(w, loss) / w.sum()), brier=float(np.dot(w, sq) / w.sum()))
    return values


def weighted_edges(score: np.ndarray, weight: np.ndarray, bins: int) -> np.ndarray:
    """Quantile bin edges of scores that stand for `weight` rows each (np.quantile's, for weighted entries)."""
    order = np.argsort(score, kind="mergesort")
    cum = np.cumsum(weight[order])
    at = np.searchsorted(cum, np.linspace(0, 1, bins + 1) * cum[-1], side="left")
    return np.unique(score[order][np.minimum(at, len(score) - 1)])


def binary_losses(y: np.ndarray, score: np.ndarray) -> tuple:
    """Each row's log loss and squared error."""
    clipped = np.clip(score, EPS, 1 - EPS)
    return -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)), (y - score) ** 2


def binary(y: np.ndarray, pred: np.ndarray, score: Optional[np.ndarray], settings: BootstrapSettings,
           seed: int, order: Optional[np.ndarray] = None, paired: bool = False, stratified: bool = True,
           weight: Optional[np.ndarray] = None, loss: Optional[np.ndarray] = None,
           sq: Optional[np.ndarray] = None) -> Intervals:
    """y, pred: 0/1 arrays (1 = positive class); score: the positive class's probability or None;
    order: the rows in ascending score order, when already known. paired: resample rows (never cells of rows),
    so that two models' resamples of the same rows draw the same rows. stratified=False: resample without keeping
    each class's count (for a slice of rows, where a class may have a single row that a stratified resample would
    always draw exactly once). weight, loss, sq: aggregated input (see binary_point); its entries are always
    grouped into cells."""
    n = len(y) if weight is None else int(weight.sum())
    w = np.ones(len(y)) if weight is None else weight
    grouped = score is not None and (n > settings.max_exact_rows or weight is not None) and not paired
    by_score = starts = None
    if score is None and not paired:  # counting metrics only: four cells hold everything
        uniq, inverse = np.unique(y * 2 + pred, return_inverse=True)
        count = np.bincount(inverse, w)
        cells = Cells(stratum=uniq // 2 if stratified else np.zeros(len(uniq), dtype=int), count=count, exact=False)
        cy, cpred = uniq // 2, uniq % 2
    elif grouped:
        if loss is None:
            loss, sq = binary_losses(y, score)
        edges = (np.unique(np.quantile(score, np.linspace(0, 1, settings.max_bins + 1))) if weight is None
                 else weighted_edges(score, w, settings.max_bins))
        bins = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, max(len(edges) - 2, 0))
        uniq, inverse = np.unique((bins * 2 + y) * 2 + pred, return_inverse=True)
        count = np.bincount(inverse, w)
        cy, cpred, cbin = (uniq // 2) % 2, uniq % 2, uniq // 4
        loss = np.bincount(inverse, w * loss) / count
        sq = np.bincount(inverse, w * sq) / count
        cells = Cells(stratum=cy, count=count, exact=False)
        starts = _group_starts(cbin)
    else:  # cells are the rows in their given order; each resample is re-ordered by score to rank
        cells = Cells(stratum=y if stratified else np.zeros(n, dtype=int), count=np.ones(n, dtype=int), exact=True)
        cy, cpred = y, pred
        if score is not None:
            loss, sq = binary_losses(y, score)
            by_score = np.argsort(score, kind="mergesort") if order is None else order
            cy, cpred, loss, sq = y[by_score], pred[by_score], loss[by_score], sq[by_score]
            starts = _group_starts(score[by_score])
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "class_precision",
             "class_recall", "class_f1"]
    if score is not None:
        names += ["roc_auc", "average_precision", "log_loss", "brier"]
    parts: dict = {k: [] for k in names}
    for W in resample_counts(cells, settings.resamples, seed):
        if by_score is not None:
            W = W[:, by_score]
        tp, fp = W @ (cy * cpred), W @ ((1 - cy) * cpred)
        fn, tn = W @ (cy * (1 - cpred)), W @ ((1 - cy) * (1 - cpred))
        values = _counting(tp, fp, fn, tn)
        with np.errstate(invalid="ignore", divide="ignore"):  # per class, in the order [negative, positive]
            values["class_precision"] = np.column_stack([tn / (tn + fn), values["precision"]])
            values["class_recall"] = np.column_stack([tn / (tn + fp), values["recall"]])
            values["class_f1"] = np.column_stack([2 * tn / (2 * tn + fn + fp), values["f1"]])
        if score is not None:
            values["roc_auc"], values["average_precision"] = _ranking(W, cy, starts)
            total = W.sum(axis=1)
            values["log_loss"], values["brier"] = W @ loss / total, W @ sq / total
        for k in names:
            parts[k].append(values[k])
    notes, fixed, methods = [], {}, {}
    if grouped:
        notes.append(f"Intervals of ROC AUC, average precision, log loss and Brier score group the {n:,} scores "
                     f"into {settings.max_bins} quantile bins; the point estimates use every "
                     + ("score." if weight is None else "score bin of the aggregated input."))
    if score is not None and weight is None and 0 < y.sum() < len(y):
        # DeLong's interval on the logit scale: the percentile bootstrap's covered 92.3 % at a nominal 95 % on 60
        # rows, DeLong's 94.0 % (95.3 % on 100, 96.1 % on 300: bench/coverage_results.md); the resamples stay for
        # paired differences
        _, interval = macro_auc_interval(y.astype(int), np.column_stack([1 - score, score]), z_for(settings.level))
        fixed["roc_auc"], methods["roc_auc"] = interval, "delong"
    return Intervals({k: np.concatenate(v) for k, v in parts.items()}, settings.level, settings.resamples,
                     grouped, notes, fixed, methods)


def multiclass(y_idx: np.ndarray, pred_idx: np.ndarray, n_labels: int, proba: Optional[np.ndarray],
               settings: BootstrapSettings, seed: int, stratified: bool = True,
               weight: Optional[np.ndarray] = None, loss: Optional[np.ndarray] = None,
               sq: Optional[np.ndarray] = None) -> Intervals:
    """y_idx, pred_idx: indices into the label list (predictions may use extra labels >= the true ones);
    proba: (n, K) for the first K labels, or None; weight: rows per entry (aggregated input: cells of distinct
    (true, predicted) pairs, without per-row scores; loss, sq: each cell's mean log loss and Brier score). Also
    returns per-class precision/recall/F1 (B, K)."""
    n = len(y_idx)
    cells = Cells(stratum=y_idx if stratified else np.zeros(n, dtype=int),
                  count=np.ones(n, dtype=int) if weight is None else weight, exact=weight is None)
    L = max(n_labels, int(pred_idx.max()) + 1)
    cell_id = y_idx * L + pred_idx
    by_cell = np.argsort(cell_id, kind="mergesort")
    cell_starts = _group_starts(cell_id[by_cell])
    cell_keys = cell_id[by_cell][cell_starts]
    rankings, pairs = [], []
    ranked = proba is not None and ranks_every_class(settings.resamples, n, proba.shape[1])
    if proba is not None:
        clipped = np.clip(proba[np.arange(n), np.minimum(y_idx, proba.shape[1] - 1)], EPS, 1 - EPS)
        loss = -np.log(clipped)
        onehot = np.eye(proba.shape[1])[y_idx]
        brier = np.sum((onehot - proba) ** 2, axis=1)
    if ranked:
        for k in range(proba.shape[1]):
            order = np.argsort(proba[:, k], kind="mergesort")
            rankings.append((order, (y_idx[order] == k).astype(float), _group_starts(proba[order, k])))
        pairs = _class_pairs(y_idx, proba) if proba.shape[1] <= MAX_OVO_CLASSES else []
    parts: dict = {}

    def add(name, value):
        parts.setdefault(name, []).append(value)

    # the distinct (true, predicted) pairs, and their sums by true class, by predicted label and on the diagonal:
    # per-class counts of each resample without its L x L confusion matrix (500 classes: 2 GB per chunk)
    pair_true, pair_pred = cell_keys // L, cell_keys % L
    true_at, true_starts = np.unique(pair_true, return_index=True)  # pairs are sorted by true class
    by_pred = np.argsort(pair_pred, kind="mergesort")
    pred_at, pred_starts = np.unique(pair_pred[by_pred], return_index=True)
    diagonal = np.flatnonzero(pair_true == pair_pred)
    for W in resample_counts(cells, settings.resamples, seed):
        b = W.shape[0]
        counts = np.add.reduceat(W[:, by_cell], cell_starts, axis=1)  # (b, distinct pairs)
        support, pred_all, tp = np.zeros((b, n_labels)), np.zeros((b, L)), np.zeros((b, n_labels))
        support[:, true_at] = np.add.reduceat(counts, true_starts, axis=1)
        pred_all[:, pred_at] = np.add.reduceat(counts[:, by_pred], pred_starts, axis=1)
        tp[:, pair_true[diagonal]] = counts[:, diagonal]
        predicted = pred_all[:, :n_labels]
        total = support.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = tp / predicted
            recall = tp / support
            f1 = f1_from_counts(tp, predicted, support)
            add("accuracy", tp.sum(axis=1) / total)
            add("balanced_accuracy", np.nanmean(np.where(support > 0, recall, np.nan), axis=1))
            # macro averages as scikit-learn's: a class's undefined value counts as 0
            add("precision", np.nan_to_num(precision).mean(axis=1))
            add("recall", np.nan_to_num(recall).mean(axis=1))
            add("f1", np.nan_to_num(f1).mean(axis=1))
            add("f1_weighted", np.nansum(f1 * support, axis=1) / total)
            add("f1_micro", f1_from_counts(tp.sum(axis=1), predicted.sum(axis=1), total))
            c = tp.sum(axis=1)
            cov_tp = c * total - np.einsum("bk,bk->b", support, pred_all[:, :n_labels])
            cov_pp = total ** 2 - np.einsum("bk,bk->b", pred_all, pred_all)
            cov_tt = total ** 2 - np.einsum("bk,bk->b", support, support)
            denominator = np.sqrt(cov_tt * cov_pp)
            add("mcc", np.where(denominator > 0, cov_tp / np.where(denominator > 0, denominator, 1), 0.0))
        add("class_precision", precision)
        add("class_recall", recall)
        add("class_f1", f1)
        if ranked:
            aucs, aps = zip(*(_ranking(W[:, order], positive, starts) for order, positive, starts in rankings))
            add("roc_auc", np.mean(aucs, axis=0))
            if pairs:
                add("roc_auc_ovo", np.mean([_ranking(W[:, rows], positive, starts)[0]
                                            for rows, positive, starts in pairs], axis=0))
            add("average_precision", np.mean(aps, axis=0))
        if proba is not None:
            add("log_loss", W @ loss / total)
            add("brier", W @ brier / total)
        elif loss is not None:
            add("log_loss", W @ loss / total)
            add("brier", W @ sq / total)
    notes, fixed, methods = [], {}, {}
    if ranked and not pairs:
        notes.append(f"The one-vs-one ROC AUC has no interval with more than {MAX_OVO_CLASSES} classes (each resample "
                     "would rank every pair of classes).")
    if proba is not None:  # DeLong's (covered 94.1 % against the bootstrap's 93.8 % at 300 rows; without ranking)
        _, interval = macro_auc_interval(y_idx, proba, z_for(settings.level))
        if interval is not None:
            fixed["roc_auc"], methods["roc_auc"] = interval, "delong"
    if proba is not None and not ranked:
        notes.append(f"With {proba.shape[1]:,} classes on {n:,} test rows, ranking every class in each of the "
                     f"{settings.resamples:,} resamples ({settings.resamples:,} x {n:,} x {proba.shape[1]:,} steps, "
                     f"over {MAX_RANKING_WORK:,.0f}) would take minutes: the ROC AUC's interval is DeLong's (from "
                     "each row's placement among every class's scores, without resampling; its coverage is in "
                     "bench/coverage_results.md), and average precision and the one-vs-one ROC AUC have none.")
    return Intervals({k: np.concatenate(v) for k, v in parts.items()}, settings.level, settings.resamples,
                     notes=notes, fixed=fixed, methods=methods)


MAX_OVO_CLASSES = 12  # one-vs-one AUC intervals rank every ordered pair of classes per resample: K(K-1) rankings


def _class_pairs(y_idx: np.ndarray, proba: np.ndarray) -> list:
    """For Hand & Till's AUC: for each ordered pair (i, j) of classes present, the rows of the two classes in
    ascending order of class i's score, which of them are class i, and their tie groups."""
    present = np.unique(y_idx[y_idx < proba.shape[1]])
    out = []
    for i in present:
        for j in present:
            if i == j:
                continue
            rows = np.flatnonzero((y_idx == i) | (y_idx == j))
            rows = rows[np.argsort(proba[rows, i], kind="mergesort")]
            out.append((rows, (y_idx[rows] == i).astype(float), _group_starts(proba[rows, i])))
    return out


class Studentized:
    """Bootstrap-t intervals of means of per-row quantities (|e|, e², |e|/|y|): each resample's mean and its standard
    error, the interval from the quantiles of t* = (mean* − mean) / se* (Efron & Tibshirani ch. 12). The percentile
    interval of RMSE under-covers with heavy-tailed errors (90 % at a nominal 95 % for t₅ errors on 300 rows; this
    method 92.5 %, bench/bench_coverage.py); RMSE's interval is the square root of the mean squared error's.
    `point`: each quantity's (mean, mean of squares) on the sample; n: rows."""

    def __init__(self, point: dict, n: float):
        self.point, self.n, self.t = point, n, {k: [] for k in point}

    def add(self, W: np.ndarray, first: dict, second: dict) -> None:
        """first, second: name -> W @ x and W @ x² for this chunk of resamples."""
        for k in self.point:
            mean = first[k] / self.n
            se = np.sqrt(np.maximum(second[k] / self.n - mean ** 2, 0) / max(self.n - 1, 1))
            with np.errstate(invalid="ignore", divide="ignore"):
                self.t[k].append((mean - self.point[k][0]) / se)

    def intervals(self, level: float) -> dict:
        out = {}
        for k, (mean, square) in self.point.items():
            t = np.concatenate(self.t[k])
            t = t[np.isfinite(t)]
            se = np.sqrt(max(square - mean ** 2, 0) / max(self.n - 1, 1))
            if t.size < MIN_FINITE or se == 0:
                continue
            t_lo, t_hi = percentile_bounds(t, level)
            lo, hi = max(mean - t_hi * se, 0.0), max(mean - t_lo * se, 0.0)
            name = {"ae": "mae", "se": "rmse", "rel": "mape"}[k]
            out[name] = [float(np.sqrt(lo)), float(np.sqrt(hi))] if k == "se" else [float(lo), float(hi)]
        return out


def regression(y: np.ndarray, pred: np.ndarray, settings: BootstrapSettings, seed: int) -> Intervals:
    n = len(y)
    error = pred - y
    absolute = np.abs(error)
    order = np.argsort(absolute, kind="mergesort")
    sorted_abs = absolute[order]
    relative = absolute / np.maximum(np.abs(y), EPS)
    cells = Cells(stratum=np.zeros(n, dtype=int), count=np.ones(n, dtype=int), exact=True)
    parts: dict = {}
    low, high = (n - 1) // 2, n // 2  # positions of the median in the sorted multiset
    per_row = {"ae": absolute, "se": error ** 2, "rel": relative}
    t = Studentized({k: (float(np.mean(x)), float(np.mean(x ** 2))) for k, x in per_row.items()}, n)
    for W in resample_counts(cells, settings.resamples, seed):
        t.add(W, {k: W @ x for k, x in per_row.items()}, {k: W @ x ** 2 for k, x in per_row.items()})
        sse = W @ error ** 2
        mean_y = W @ y / n
        sst = W @ y ** 2 - n * mean_y ** 2
        cum = np.cumsum(W[:, order], axis=1)
        median = (sorted_abs[np.argmax(cum > low, axis=1)] + sorted_abs[np.argmax(cum > high, axis=1)]) / 2
        last = n - 1 - np.argmax(W[:, order][:, ::-1] > 0, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {"mae": W @ absolute / n, "rmse": np.sqrt(sse / n), "r2": 1 - sse / sst,
                      "mape": W @ relative / n, "median_ae": median, "max_error": sorted_abs[last]}
        for k, v in values.items():
            parts.setdefault(k, []).append(v)
    return Intervals({k: np.concatenate(v) for k, v in parts.items()}, settings.level, settings.resamples,
                     fixed=t.intervals(settings.level))


def regression_cells(cells, settings: BootstrapSettings, seed: int) -> Intervals:
    """Intervals of aggregated regression predictions (postreport.data.warehouse.RegressionCells): each resample draws
    the cells' rows from a multinomial, each cell counting with its rows' mean |e|, e², y and |e| / |y|; the median
    and the largest error from resamples of the fine error bins, in order of their absolute errors."""
    f = cells.cells
    count = f["n"].to_numpy(dtype=float)
    n = int(count.sum())
    mean = {k: f[k].to_numpy(dtype=float) / count for k in ("ae", "se", "d", "d2", "rel", "se2", "rel2")}
    parts: dict = {}
    second = {"ae": "se", "se": "se2", "rel": "rel2"}  # the cells' mean of each quantity's square
    t = Studentized({k: (float(f[k].sum()) / n, float(f[s].sum()) / n) for k, s in second.items()}, n)
    for W in resample_counts(Cells(np.zeros(len(count), dtype=int), count, exact=False), settings.resamples, seed):
        t.add(W, {k: W @ mean[k] for k in second}, {k: W @ mean[s] for k, s in second.items()})
        sse, sd = W @ mean["se"], W @ mean["d"]
        sst = W @ mean["d2"] - sd ** 2 / n
        with np.errstate(invalid="ignore", divide="ignore"):
            values = {"mae": W @ mean["ae"] / n, "rmse": np.sqrt(sse / n), "r2": 1 - sse / sst,
                      "mape": W @ mean["rel"] / n}
        for k, v in values.items():
            parts.setdefault(k, []).append(v)
    fine = cells.fine
    count = fine["n"].to_numpy(dtype=float)
    lo, hi = fine["lo"].to_numpy(dtype=float), fine["hi"].to_numpy(dtype=float)
    typical = np.clip(fine["ae"].to_numpy(dtype=float) / count, lo, hi)  # ascending: the bins are in error order
    low, high = (n - 1) // 2, n // 2
    for W in resample_counts(Cells(np.zeros(len(count), dtype=int), count, exact=False), settings.resamples,
                             seed + 1):
        cum = np.cumsum(W, axis=1)
        parts.setdefault("median_ae", []).append(
            (typical[np.argmax(cum > low, axis=1)] + typical[np.argmax(cum > high, axis=1)]) / 2)
        parts.setdefault("max_error", []).append(np.max(np.where(W > 0, hi, -np.inf), axis=1))
    return Intervals({k: np.concatenate(v) for k, v in parts.items()}, settings.level, settings.resamples,
                     fixed=t.intervals(settings.level),
                     notes=["Intervals resample the aggregated cells (rows grouped by their error's and target's bins, "
                            "each counting with its rows' mean values; the median and largest error by their error's "
                            "bin among 100,000)."])
