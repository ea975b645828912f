"""What a model costs, in seconds on the reference machine, from its config and the data's shape alone.

The plan (postreport.planning.plan) sizes every expensive step with these numbers and never with a clock, so that the same
config and data give the same report on a busy machine or a quiet one. The reference machine is the 2-core machine
where bench/baseline_evaluation.py takes about 3.7 s; the constants were measured there with one thread
(bench/bench_plan.py --fits prints each formula against a measured fit). They are meant to be right within a factor
of two, which is what sizing needs; a machine twice as slow takes twice as long but plans the same.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

# gradient-boosted trees (LightGBM, HistGradientBoosting): milliseconds per tree
TREE_MS = 0.1  # fixed cost of a tree
TREE_MS_PER_CELL = 4.2e-6  # per row x feature (the histograms; 225,000 x 20, 200 trees: 4.0 s with one thread)
TREE_MS_PER_SPLIT = 8.5e-6  # per feature x leaf x bin (the split search)
# the split search per feature slows as the histograms outgrow the caches: x (1 + SLOWDOWN F / (F + HALF)), measured
# 1.2x at 200 columns, 1.4x at 500, 1.6x at 2,000
WIDE_SPLIT_SLOWDOWN = 0.6  # at most 60 % slower
WIDE_SPLIT_HALF_COLUMNS = 300  # half of it at this many columns
BINS = 220  # bins a feature's histogram fills in practice (of 255), about a third of the rows below that
MIN_CHILD = 10  # rows per leaf that limit a small fit's leaves
RARE_CLASS_ROWS_PER_LEAF = 5  # multiclass: a class's tree grows about one leaf per this many rows of the class
TREE_PREDICT_US = 0.04  # microseconds per tree and row (binary, regression; 15 leaves, one thread: 0.045; with
# the model's threads it takes _speedup(threads) less: 200 trees on 75,000 rows with two, 0.3 s)
TREE_PREDICT_US_MULTI = 0.08  # per tree and row when each class has its own trees (30 classes, one thread)
# random forests: milliseconds per tree
FOREST_MS = 0.5
FOREST_MS_PER_SORT = 5e-5  # per row x log2(rows) x sqrt(features)
FOREST_PREDICT_US = 0.12  # per tree and row
LINEAR_S_PER_CELL = 2e-7  # seconds per row x feature x class (lbfgs to convergence, typical)
MLP_S_PER_OP = 0.9e-9  # seconds per row x weight x iteration
GENERIC_S_PER_CELL = 1e-6  # a model of unknown kind: seconds per row x feature
GENERIC_PREDICT_US = 10.0  # and microseconds per row to predict
PREDICT_US = 1.0  # fixed per row and call
PREDICT_US_PER_CELL = 0.0015  # per row x feature: the input's copy and conversion (2,000 columns: 3 us a row)
GBDT_PREDICT_US_PER_CELL = 0.006  # and LightGBM's parsing of each row's features (2,000 columns: 12 us a row)
TREESHAP_FACTOR = 12.0  # LightGBM pred_contrib costs this many predictions per row (depth squared, measured)
# bootstrap intervals (postreport.stats.bootstrap): seconds per resample and resampled cell (a test row, or a cell of
# grouped binary scores); bench/bench_costs.py prints each formula against a measured call
DRAW_S = 2.0e-8  # drawing a resample's count of each row
MULTINOMIAL_S = 9e-8  # grouped cells: drawing their counts from a multinomial (LightGBM's scores on 75,000 rows
# fill about 8,000 cells: 0.8-1.5 s a model in four runs of bench_plan, 1.15 s planned)
COUNTING_S = 1.0e-8  # binary: the confusion counts and the metrics from them
RANKING_S = 3.5e-8  # binary: ROC AUC and average precision, from cumulative sums over the ordered cells
CLASS_COUNTING_S = 1.2e-8  # multiclass: per-class counts from the distinct (true, predicted) pairs
CLASS_RANKING_S = 2.3e-8  # multiclass: per ranking (each class one-vs-rest; one-vs-one pairs count their rows)
REGRESSION_S = 6.0e-8  # regression: every error metric, the median's cumulative sum included
REGRESSION_FIXED_S = 0.12  # and its sorts and studentized intervals
GROUPED_CELLS_PER_BIN = 4  # grouped binary scores: (bin, true, predicted) cells per score bin, at most
DELONG_S = 6e-7  # binary scores: DeLong's interval of the ROC AUC, per row


@dataclass(frozen=True)
class ModelCost:
    """What drives a model's cost: its kind and size."""

    kind: str  # gbdt | forest | linear | mlp | generic
    trees: int = 0
    leaves: int = 0
    hidden: int = 0
    iterations: int = 0
    threads: int = 1  # the threads it predicts with (the plan's: every model config reads ${n_jobs})

    def per_class(self, classes: int) -> int:
        """Trees (or outputs) per round: gradient boosting grows one tree per class for more than two classes."""
        return classes if classes > 2 else 1

    def fit_seconds(self, rows: int, features: int, classes: int, threads: int = 1) -> float:
        rows, features = max(int(rows), 1), max(int(features), 1)
        if self.kind == "gbdt":
            leaves = min(self.leaves, max(rows // (2 * MIN_CHILD), 2))
            if classes > 2:  # a class's tree stops early when the class has few rows (its hessians are small)
                leaves = min(leaves, max(rows // (classes * RARE_CLASS_ROWS_PER_LEAF), 2))
            per_tree = (TREE_MS + TREE_MS_PER_CELL * rows * features
                        + TREE_MS_PER_SPLIT * features * leaves * min(BINS, rows / 3)
                        * (1 + WIDE_SPLIT_SLOWDOWN * features / (features + WIDE_SPLIT_HALF_COLUMNS)))
            seconds = self.trees * self.per_class(classes) * per_tree / 1000
        elif self.kind == "forest":
            per_tree = FOREST_MS + FOREST_MS_PER_SORT * rows * math.log2(rows + 1) * math.sqrt(features)
            seconds = self.trees * per_tree * (1 + 0.025 * max(classes - 2, 0)) / 1000
        elif self.kind == "linear":
            seconds = 0.01 + LINEAR_S_PER_CELL * rows * features * max(classes, 1)
        elif self.kind == "mlp":
            weights = features * self.hidden + self.hidden * max(classes, 1)
            seconds = MLP_S_PER_OP * rows * weights * self.iterations
        else:
            seconds = 0.05 + GENERIC_S_PER_CELL * rows * features
        return seconds / _speedup(threads)

    def predict_seconds(self, rows: int, features: int, classes: int) -> float:
        """Seconds to predict `rows` rows once (scores included)."""
        if self.kind == "gbdt":
            unit = TREE_PREDICT_US_MULTI if classes > 2 else TREE_PREDICT_US / _speedup(self.threads)
            per_row = PREDICT_US + unit * self.trees * self.per_class(classes) + GBDT_PREDICT_US_PER_CELL * features
        elif self.kind == "forest":
            per_row = PREDICT_US + FOREST_PREDICT_US * self.trees
        elif self.kind in ("linear", "mlp"):
            per_row = PREDICT_US + 0.01 * max(features, 1) * max(classes, 1) ** 0.5
        else:
            per_row = GENERIC_PREDICT_US
        return max(int(rows), 0) * (per_row + PREDICT_US_PER_CELL * max(features, 1)) / 1e6

    def attribution_seconds(self, rows: int, features: int, classes: int, permutations: int, background: int) -> float:
        """Seconds to explain `rows` rows: exact TreeSHAP for LightGBM, else the sampling estimate (each row:
        permutations x features predictions over the background rows)."""
        if self.kind == "gbdt":
            return TREESHAP_FACTOR * self.predict_seconds(rows, features, classes)
        if self.kind == "linear":
            return self.predict_seconds(rows, features, classes)
        return self.predict_seconds(rows * permutations * max(features, 1) * background, features, classes)


def bootstrap_seconds(classes: int, rows: int, resamples: int, scores: bool = True, exact: bool = True,
                      max_bins: int = 2048, ranked: bool = True, one_vs_one: bool = False) -> float:
    """Seconds of one bootstrap of every metric on `rows` test rows (classes: 0 for regression). Binary: exact=False
    when the scores are grouped into max_bins quantile bins; scores=False: the counting metrics alone. Multiclass:
    ranked when every class is ranked in each resample, one_vs_one when every pair of classes is too."""
    if classes == 0:
        return REGRESSION_FIXED_S + REGRESSION_S * resamples * rows
    if classes <= 2:
        if not scores and not exact:
            return 0.0  # four cells
        cells = rows if exact else min(rows, GROUPED_CELLS_PER_BIN * max_bins)
        return (resamples * cells * ((DRAW_S if exact else MULTINOMIAL_S) + COUNTING_S + (RANKING_S if scores else 0))
                + (DELONG_S * rows if scores else 0.0))
    rankings = (classes + (2 * (classes - 1) if one_vs_one else 0)) if scores and ranked else 0
    return resamples * rows * (DRAW_S + CLASS_COUNTING_S + CLASS_RANKING_S * rankings)


def row_mean_seconds(rows: int, resamples: int) -> float:
    """Seconds of one bootstrap of a mean of per-row values (stats.paired.row_mean_interval) on `rows` rows."""
    return resamples * rows * DRAW_S


def _speedup(threads: int) -> float:
    return 1.0 if threads <= 1 else 1.8 * threads / 2  # 1.8x on two cores (measured), scaled beyond


KINDS = (("lightgbm", "gbdt"), ("HistGradientBoosting", "gbdt"), ("GradientBoosting", "gbdt"),
         ("RandomForest", "forest"), ("ExtraTrees", "forest"), ("Logistic", "linear"), ("Ridge", "linear"),
         ("Linear", "linear"), ("SGD", "linear"), ("MLP", "mlp"))


def model_cost(target: Optional[str], params: dict, threads: int = 1) -> ModelCost:
    """The cost drivers of an estimator class path and its params (scikit-learn's and LightGBM's defaults where
    they are not set), predicting with `threads`."""
    kind = next((k for key, k in KINDS if key in (target or "")), "generic")
    p = params or {}
    if kind == "gbdt":
        trees = p.get("n_estimators", p.get("max_iter", 100))
        leaves = p.get("num_leaves", p.get("max_leaf_nodes", 31)) or 31
        return ModelCost(kind, trees=int(trees), leaves=int(leaves), threads=threads)
    if kind == "forest":
        return ModelCost(kind, trees=int(p.get("n_estimators", 100)), threads=threads)
    if kind == "mlp":
        hidden = p.get("hidden_layer_sizes", (100,))
        hidden = int(hidden) if isinstance(hidden, (int, float)) else sum(int(h) for h in hidden)
        return ModelCost(kind, hidden=int(hidden), iterations=int(p.get("max_iter", 200)), threads=threads)
    return ModelCost(kind, threads=threads)
