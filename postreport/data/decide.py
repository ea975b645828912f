"""Deciding what the labels mean, the same way for every path (files, logged predictions in memory, aggregated by
DuckDB or Spark): the task, the sorted labels, the positive class, the score columns' count and kind, and the
errors both paths raise. Pure functions of values and settings."""
from __future__ import annotations

import numpy as np
import pandas as pd

from postreport.config import TASKS
from postreport.errors import UserError
from postreport.data.labels import listed, named_class


MAX_CLASSES_FOR_INTEGER_TARGET = 20


def infer_task(values) -> str:
    """The task the target's values imply (at least two distinct values), by the rule every engine uses."""
    return decide_task(None, pd.Series(values).reset_index(drop=True), "target", [])


def decide_task(forced, y: pd.Series, target: str, notes: list) -> str:
    """The task, forced or inferred from the target; a note says which and how (and how to override it)."""
    n = y.nunique()
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if numeric and np.isinf(y.to_numpy(float)).any():
        raise infinite_values(target, int(np.isinf(y.to_numpy(float)).sum()), target=True)
    if forced is not None:
        if forced not in TASKS:
            raise UserError(f"data.task={forced!r} is not valid; valid: {', '.join(TASKS)} (or null to infer)")
        if forced == "regression" and not numeric:
            raise UserError(f"data.task=regression needs a numeric target; {target!r} is {y.dtype}")
        if forced == "binary" and n != 2 or forced == "multiclass" and n < 3:
            raise UserError(f"data.task={forced} needs {'exactly 2' if forced == 'binary' else 'at least 3'} classes; "
                            f"the target {target!r} has {n}: {sorted_labels(y)[:10]}")
        notes.append(f"The task is {forced}, as data.task sets it.")
        return forced
    if n < 2:
        raise UserError(f"the target {target!r} has a single value ({y.iloc[0]!r}); there is nothing to predict")
    integral = numeric and (pd.api.types.is_integer_dtype(y) or bool(np.all(np.mod(y.to_numpy(float), 1) == 0)))
    if not numeric or n == 2 and (integral or pd.api.types.is_bool_dtype(y)):
        task, why = ("binary" if n == 2 else "multiclass"), f"{n} distinct labels in {target!r}"
    elif integral and n <= MAX_CLASSES_FOR_INTEGER_TARGET:
        task, why = "multiclass", f"{n} distinct whole numbers in {target!r} (at most {MAX_CLASSES_FOR_INTEGER_TARGET})"
    else:
        task = "regression"
        why = (f"{n} distinct whole numbers in {target!r}, more than {MAX_CLASSES_FOR_INTEGER_TARGET}" if integral
               else f"fractional numbers in {target!r}")
    possible = {"binary": n == 2, "multiclass": n >= 3, "regression": numeric}
    others = [t for t in TASKS if t != task and possible[t]]
    change = f"; set data.task={'|'.join(others)} to change it" if others else ""
    notes.append(f"The task is {task}, inferred from {why}{change}.")
    return task


def sorted_labels(y: pd.Series) -> list:
    """The distinct labels as plain Python values (numpy scalars converted), sorted."""
    values = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(y)]
    try:
        return sorted(values)
    except TypeError:  # mixed types
        return sorted(values, key=str)


def positive_label(wanted, labels: list):
    if wanted is None:
        for candidate in (True, 1):
            for label in labels:
                if type(label) is not str and label == candidate:
                    return label
        return labels[-1]
    for label in labels:
        if label == wanted or str(label) == str(wanted):
            return label
    raise UserError(f"data.positive_label={wanted!r} is not a class of the target; valid: {labels}")


def logged_positive_label(cfg, labels: list):
    """data.positive_label, else the class data.score_labels gives the one score column, else the class the score
    column's name names (p_churn: 'churn'), else the default rule (1/True, else the last label)."""
    if cfg.positive_label is None and cfg.score_labels:
        return positive_label(cfg.score_labels[0], labels)
    if cfg.positive_label is None and len(cfg.scores) == 1:
        named = named_class(cfg.scores[0], labels)
        if named is not None:
            return named
    return positive_label(cfg.positive_label, labels)


def check_score_types(source, scores) -> None:
    """Score columns stored as text in a typed file (Parquet) are refused on every engine alike; CSV columns are
    typed by their reader, and text there is an error naming the values that are not numbers."""
    if source.kind != "parquet":
        return
    for column in scores:
        kind = source.columns[column]
        if kind not in ("number", "integer"):
            raise UserError(f"column {column!r} must hold numbers (it is {kind} in {source.files[0]}); data.scores "
                            "names the score columns")


def check_score_count(cfg, task: str, labels: list) -> None:
    if task == "regression":
        raise UserError("data.scores are for classification; for regression give data.prediction only")
    expected = 1 if task == "binary" else len(labels)
    if len(cfg.scores) != expected:
        raise UserError(f"data.scores lists {len(cfg.scores)} columns; a {task} target with labels "
                        f"[{listed(labels)}] needs {expected} (binary: the positive class's score; multiclass: one "
                        "per class of the target, a class with no row here has none)")


def not_probabilities(cfg, task: str, pred_column, low: float, high: float, notes: list) -> None:
    """Scores that only rank rows: a note; an error when binary labels would have to come from the 0.5 threshold."""
    what = ("outside [0, 1]" if task == "binary" else "not rows of probabilities (each in [0, 1], summing to 1)")
    notes.append(f"The scores ({', '.join(cfg.scores)}) are {what}, range {low:.4g} to {high:.4g}: they rank rows "
                 "but are not probabilities, so log loss, Brier score and calibration are not computed.")
    if task == "binary" and pred_column is None and cfg.threshold is None:
        raise UserError(f"data.scores={list(cfg.scores)} are not probabilities (range {low:.4g} to {high:.4g}), so "
                        "labels cannot come from the 0.5 threshold: give data.threshold=... (predict the positive "
                        "class when score >= threshold) or data.prediction=<column of predicted labels>")


def are_probabilities(scores: np.ndarray, tolerance: float = 1e-3) -> bool:
    """Binary (one column): every score in [0, 1]. Multiclass: also every row summing to 1 within the tolerance."""
    inside = bool(np.all((scores >= 0) & (scores <= 1)))
    return inside and (scores.shape[1] == 1 or bool(np.all(np.abs(scores.sum(axis=1) - 1) <= tolerance)))


def renormalised(scores: np.ndarray, notes: list, what: str = "the scores") -> np.ndarray:
    """Rows of probabilities that sum to 1 only within are_probabilities' tolerance (rounded on export: 4 decimals
    give sums 1 +- 1e-4) divided by their sums, with a note, so that every metric reading them sees probabilities."""
    if scores.shape[1] < 2:
        return scores
    sums = scores.sum(axis=1)
    off = float(np.max(np.abs(sums - 1))) if len(sums) else 0.0
    if off <= 1e-9:
        return scores
    notes.append(f"Rows of {what} sum to 1 within {off:.2g} (rounded on export?): each row was divided by its sum.")
    return scores / sums[:, None]


def infinite_values(column: str, count: int, target: bool = False) -> UserError:
    """The error for infinite values in the target, or in a score or prediction column."""
    if target:
        return UserError(f"the target {column!r} holds {count} infinite values; remove those rows or replace the "
                         "values")
    return UserError(f"column {column!r} holds {count} infinite values; scores and predictions must be finite")


def without_prediction(empty: dict, missing: str) -> str:
    """Rows without a prediction or score (column -> rows): an error naming the columns and counts, unless
    data.missing=drop; then the counts as text, for the note that says they were left out."""
    counts = ", ".join(f"{c!r}: {n}" for c, n in empty.items())
    if missing != "drop":
        raise UserError(f"rows without a prediction ({counts} missing values); remove them, or set data.missing=drop "
                        "to leave them out of the report")
    return counts
