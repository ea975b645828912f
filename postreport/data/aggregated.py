"""Logged predictions aggregated by DuckDB or Spark (postreport.data.warehouse) as a Dataset: its test "rows" are cells
of rows that agree on every value the report reads, each weighted by its row count (`Dataset.weights`), checked and
decided (task, labels, positive class, probabilities) as the in-memory path decides them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from postreport.errors import UserError, at_least
from postreport.data.dataset import Dataset, Logged
from postreport.data.decide import (check_score_count, decide_task, infinite_values, logged_positive_label,
    not_probabilities, sorted_labels, without_prediction)
from postreport.data.labels import check_predicted_labels, near_duplicate_labels, score_columns_by_class
from postreport.data.warehouse import (MAX_LABELS, auc_error_bound, classification_cells, classification_profile,
    is_regression, open_warehouse, regression_cells, regression_profile)


def load(cfg, source, engine: str, named: dict) -> Dataset:
    """Logged predictions aggregated by DuckDB or Spark (postreport.data.warehouse), top down: open the engine,
    profile the rows, decide (as the in-memory path decides), then group them into cells. The test "rows" are cells
    of rows that agree on every value the report reads, each with its row count as weight."""
    at_least("data.score_bins", cfg.score_bins, 2)
    pred_column = named.get("data.prediction")
    notes: list = []
    warehouse = open_warehouse(cfg, source, engine)
    try:
        if is_regression(warehouse):
            profile = regression_profile(warehouse)
            decide_regression(cfg, profile, pred_column, notes)
            cells, aggregation = regression_cells(warehouse, profile)
            return _aggregated_regression(cfg, source, cells, aggregation, notes, warehouse, pred_column)
        profile = classification_profile(warehouse)
        decided = decide_classification(cfg, source, profile, pred_column, notes)
        cells, aggregation = classification_cells(warehouse, profile, decided)
    except BaseException:
        warehouse.close()
        raise
    task, labels, positive, probabilities = decided.task, decided.labels, decided.positive, decided.probabilities
    if aggregation.rows == 0:
        raise UserError("no row has a prediction")
    if task == "regression":
        return _aggregated_regression(cfg, source, cells, aggregation, notes, warehouse, pred_column)
    y = cells["y"].to_numpy()
    if y.dtype.kind == "f" and all(isinstance(label, int) for label in labels):
        y = y.astype(np.int64)
    if pred_column:
        unseen = check_predicted_labels(labels, sorted_labels(cells["pred"].dropna()), cfg.target,
                                        pred_column, task)
        if unseen:
            notes.append(unseen)
    weight = cells["n"].to_numpy(dtype=float)
    logged = Logged(cells["pred"].to_numpy(), None, pred_column, list(decided.score_columns), probabilities,
                    0.5 if cfg.threshold is None else float(cfg.threshold))
    what = "the true label and the predicted label"
    if "bin" in cells:
        bins = cells["bin"].to_numpy(dtype=np.int64)
        in_bin = np.bincount(bins, weight)
        mean = np.divide(np.bincount(bins, cells["s_sum"].to_numpy()), in_bin, out=np.zeros_like(in_bin),
                         where=in_bin > 0)
        low, high = np.full(len(in_bin), np.inf), np.full(len(in_bin), -np.inf)
        np.minimum.at(low, bins, cells["s_min"].to_numpy(dtype=float))
        np.maximum.at(high, bins, cells["s_max"].to_numpy(dtype=float))
        # inside the bin's own scores: a bin of one distinct score is that score exactly, not a rounded sum / n
        logged.scores = np.clip(mean[bins], low[bins], high[bins])[:, None]
        logged.loss = cells["loss_sum"].to_numpy() / weight
        logged.sq = cells["sq_sum"].to_numpy() / weight
        aggregation.auc_error_bound = auc_error_bound((y == positive).astype(float), bins, weight)
        low, high = aggregation.score_range
        width = (high - low) / aggregation.score_bins
        what += (f" and the score's bin ({aggregation.score_bins:,} bins of width {width:.3g} from {low:.4g} to "
                 f"{high:.4g}; each bin's scores count as their mean)")
    elif cfg.scores:
        logged.loss = cells["loss_sum"].to_numpy() / weight
        logged.sq = cells["sq_sum"].to_numpy() / weight
        notes.append("From aggregates, a multiclass report has the counting metrics, the confusion matrix, per-class "
                     "metrics, log loss and Brier score (sums of each row's own value); ROC AUC, average precision "
                     "and the curves need every row's scores of every class together (data.engine=pandas).")
    exact = ("Counting metrics" + (", log loss and Brier score" if "loss_sum" in cells else "") + " are exact")
    if aggregation.auc_error_bound is not None:
        exact += (f"; ROC AUC is binned, within ±{aggregation.auc_error_bound:.1e} of the exact value, and curves, "
                  "calibration and thresholds move in steps of one bin")
    notes.append(_read(aggregation, what, exact))
    return _dataset(cfg, source, task, y, weight, logged, notes, aggregation, warehouse, labels=labels,
                    positive_label=positive)


@dataclass
class Decision:
    """What the profile pass decides about the labels, as the in-memory path would decide it."""

    task: str
    labels: list
    positive: object
    probabilities: bool
    score_columns: list  # data.scores in the order of `labels`


def decide_regression(cfg, profile: pd.Series, pred_column, notes: list) -> None:
    """A regression profile checked: infinite values, rows without a target or a prediction; notes say what was
    left out and how the task was decided."""
    for column, count, target in ((cfg.target, "inf_y", True), (pred_column, "inf_pred", False)):
        if profile[count]:
            raise infinite_values(column, int(profile[count]), target)
    if profile["n_y"] == 0:
        raise UserError(f"the predictions have no rows with a value in the target column {cfg.target!r}")
    if profile["n"] > profile["n_y"]:
        notes.append(f"{int(profile['n'] - profile['n_y']):,} rows of the predictions have no value in "
                     f"{cfg.target!r} and were left out.")
    if profile["no_pred"]:
        counts = without_prediction({pred_column: int(profile["no_pred"])}, cfg.missing)
        notes.append(f"Rows without a prediction ({counts} missing values) were left out (data.missing=drop).")
    if cfg.scores:
        raise UserError("data.scores are for classification; for regression give data.prediction only")
    notes.append("The task is regression" + (", as data.task sets it." if cfg.task else
                                              f": {cfg.target!r} holds more than {MAX_LABELS} distinct fractional "
                                              "values; set data.task=binary|multiclass to change it."))


def decide_classification(cfg, source, profile: pd.DataFrame, pred_column, notes: list) -> Decision:
    """The task, labels, positive class, whether the scores are probabilities and which score column is which
    class, from the profile pass (per true label: rows, predictions and scores present, score ranges)."""
    empty = int(profile.loc[profile["y"].isna(), "n"].sum())
    profile = profile[profile["y"].notna()]
    if profile.empty:
        raise UserError(f"the predictions have no rows with a value in the target column {cfg.target!r}")
    if empty:
        notes.append(f"{empty:,} rows of the predictions have no value in {cfg.target!r} and were left out.")
    y = profile["y"]
    if source.columns.get(cfg.target) == "integer" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
        y = y.astype(np.int64)
    task = decide_task(cfg.task, y.reset_index(drop=True), cfg.target, notes)
    if task == "regression":  # whole numbers, more than a classifier's labels but few enough to group
        raise UserError(f"the target {cfg.target!r} looks like a regression target ({notes[-1]}); set "
                        "data.task=regression (its values are then not grouped as labels)")
    try:
        near_duplicate_labels(zip(y, profile["n"]), cfg.target, strip=False)
    except UserError as exc:
        if cfg.strip_labels:  # the labels are grouped in the engine as written
            raise UserError(f"{exc}; data.strip_labels merges labels read into memory (data.engine=pandas), "
                            "not labels grouped by DuckDB or Spark") from None
        raise
    labels = sorted_labels(y)
    counted = {c: "n_pred" for c in [pred_column] if c} | {c: f"n_s{i}" for i, c in enumerate(cfg.scores)}
    missing = {c: int((profile["n"] - profile[k]).sum()) for c, k in counted.items()}
    missing = {c: n for c, n in missing.items() if n}
    if missing:
        counts = without_prediction(missing, cfg.missing)
        notes.append(f"Rows without a prediction ({counts} missing values) were left out (data.missing=drop).")
    probabilities = True
    positive = logged_positive_label(cfg, labels) if task == "binary" else None
    ordered = list(cfg.scores)
    if cfg.scores:
        check_score_count(cfg, task, labels)
        ordered, which = score_columns_by_class(cfg.scores, cfg.score_labels, labels, task, positive)
        notes.append(which)
        for i, c in enumerate(cfg.scores):
            if profile[f"inf_s{i}"].sum():
                raise infinite_values(c, int(profile[f"inf_s{i}"].sum()))
        low = float(min(profile[f"min_s{i}"].min() for i in range(len(cfg.scores))))
        high = float(max(profile[f"max_s{i}"].max() for i in range(len(cfg.scores))))
        probabilities = low >= 0 and high <= 1 and ("off_sum" not in profile or profile["off_sum"].sum() == 0)
        if not probabilities:
            not_probabilities(cfg, task, pred_column, low, high, notes)
    return Decision(task, labels, positive, probabilities, ordered)


def _aggregated_regression(cfg, source, cells, aggregation, notes: list, warehouse, pred_column) -> Dataset:
    """Regression cells as weighted rows (each cell's mean target and mean prediction); the metrics read the cells'
    exact sums (postreport.warehouse.RegressionCells)."""
    frame = cells.cells
    weight = frame["n"].to_numpy(dtype=float)
    y = cells.shift + frame["d"].to_numpy(dtype=float) / weight
    notes.append(_read(aggregation, "the absolute error's bin (1,024 bins on a log scale) and the target's bin (64 "
                                    "equal-width bins), each with the sums the metrics need",
                       "MAE, RMSE, R², MAPE and the largest error are exact; the median absolute error is within "
                       f"±{aggregation.median_ae_bound:.3g} (its bin among 100,000 on a log scale)"))
    logged = Logged(y + frame["e"].to_numpy(dtype=float) / weight, None, pred_column, [], cells=cells)
    return _dataset(cfg, source, "regression", y, weight, logged, notes, aggregation, warehouse)


def _read(aggregation, what: str, exact: str) -> str:
    """The note that says how the rows were read and what is exact."""
    seconds = sum(p["seconds"] for p in aggregation.passes)
    return (f"{aggregation.engine} read {aggregation.rows:,} rows from {aggregation.files:,} file(s) in "
            f"{len(aggregation.passes)} passes ({seconds:.1f} s) and grouped them into {aggregation.cells:,} cells of "
            f"rows that agree on {what}. The report is computed from the cells; no row is sampled. {exact}.")


def _dataset(cfg, source, task: str, y, weight, logged: Logged, notes: list, aggregation, warehouse,
             **labels) -> Dataset:
    """The cells as a test set of weighted entries: no training rows, no feature columns (the engine has them)."""
    return Dataset(name=source.name, task=task, target=cfg.target, X_train=None, y_train=None,
                   X_test=pd.DataFrame(index=pd.RangeIndex(len(y))), y_test=pd.Series(y, name=cfg.target),
                   source=source.text, notes=notes, files={}, logged=logged, weights=weight,
                   aggregation=aggregation, warehouse=warehouse, **labels)
