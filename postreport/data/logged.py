"""Logged predictions of any framework read into memory (data.engine=pandas), or handed to an engine that aggregates
them (aggregated.py): true labels, predicted labels and/or scores, and any other columns (kept for slicing and
error analysis)."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from postreport.config import MISSING_PREDICTIONS
from postreport.errors import UserError
from postreport.data import aggregated
from postreport.data.dataset import Dataset, Logged, Unlabeled
from postreport.data.decide import (are_probabilities, check_score_count, check_score_types, decide_task,
    infinite_values, logged_positive_label, not_probabilities, renormalised, sorted_labels, without_prediction)
from postreport.data.engines import choose_engine
from postreport.data.labels import check_predicted_labels, score_columns_by_class
from postreport.data.sources import IN_MEMORY, resolve
from postreport.data.tables import check_columns, clean, keyed, merge_near_duplicates, read_source, test_keys


def load_predictions(cfg) -> Dataset:
    """Logged predictions of any framework: true labels, predicted labels and/or scores, and any other columns
    (kept as features for slicing and error analysis)."""
    if not cfg.path:
        raise UserError("data=predictions needs data.path: a CSV or Parquet file of logged predictions")
    if cfg.missing not in MISSING_PREDICTIONS:
        raise UserError(f"data.missing={cfg.missing!r} is not valid; valid: {', '.join(MISSING_PREDICTIONS)}")
    if cfg.target in cfg.drop:
        raise UserError(f"data.drop lists the target {cfg.target!r}; drop only other columns")
    source = resolve(cfg.path, csv_settings=(cfg.encoding, cfg.sep, cfg.decimal))
    named = _named_columns(cfg, list(source.columns))
    check_score_types(source, cfg.scores)
    engine = "pandas" if source.kind in IN_MEMORY and cfg.engine == "auto" else \
        choose_engine(cfg.engine, source.rows, cfg.engine_rows)
    if engine != "pandas" and source.kind in IN_MEMORY:
        raise UserError(f"data.engine={cfg.engine}: {source.kind} files are read by pandas only; set "
                        "data.engine=pandas (or auto), or convert them to Parquet")
    if engine != "pandas":
        return aggregated.load(cfg, source, engine, named)
    files: dict = {}
    notes: list = []
    if source.dialect is not None and source.dialect.note(source.path):  # one dialect for every file, said once
        notes.append(source.dialect.note(source.path))
    table = read_source(source, files, cfg.na_values, notes,
                         keep=(cfg.target, cfg.prediction, *cfg.scores) + ((cfg.id,) if cfg.id else ()),
                         dialect=source.dialect, text=(cfg.id,) if cfg.id else (), drop=tuple(cfg.drop))
    dates = dict(table.attrs.get("dates", {}))
    check_columns(table, "data.path", cfg.target, [])
    table = keyed(table, cfg.id, cfg.target, list(cfg.drop))
    waiting = table[table[cfg.target].isna()] if cfg.scores else table.iloc[:0]  # labels not arrived yet
    table = clean(table if waiting.empty else table[table[cfg.target].notna()], cfg.target, [], notes,
                  "predictions file")  # data.drop was applied as the files were read
    pred_column = named.get("data.prediction")
    (table,) = merge_near_duplicates([table], [cfg.target] + ([pred_column] if pred_column else []),
                                      cfg.strip_labels, notes)
    for column in cfg.scores:
        table[column] = _score_column(table[column], column)
    table = _rows_with_predictions(table, [c for c in [pred_column, *cfg.scores] if c], cfg.missing, notes)
    y = table[cfg.target]
    task = decide_task(cfg.task, y, cfg.target, notes)
    labels = [] if task == "regression" else sorted_labels(y)
    y_pred = table[pred_column].to_numpy() if pred_column else None
    if task == "regression" and y_pred is not None:
        _score_column(table[pred_column], pred_column)  # numeric and finite
    elif y_pred is not None:
        unseen = check_predicted_labels(labels, sorted_labels(table[pred_column].dropna()), cfg.target,
                                        pred_column, task)
        if unseen:
            notes.append(unseen)
    positive = logged_positive_label(cfg, labels) if task == "binary" else None
    scores, probabilities, score_columns = None, True, list(cfg.scores)
    if cfg.scores:
        check_score_count(cfg, task, labels)
        score_columns, which = score_columns_by_class(cfg.scores, cfg.score_labels, labels, task, positive)
        notes.append(which)
        scores = table[score_columns].to_numpy(dtype=float)
        probabilities = are_probabilities(scores)
        if probabilities:
            scores = renormalised(scores, notes)
        else:
            not_probabilities(cfg, task, pred_column, float(scores.min()), float(scores.max()), notes)
    keys = test_keys(table, cfg.id)
    used = [cfg.target] + ([pred_column] if pred_column else []) + list(cfg.scores)
    X = table.drop(columns=used)
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("category")
    unlabeled = _unlabeled(waiting, X, score_columns, pred_column, task, probabilities, cfg.target, notes)
    return Dataset(name=source.name, task=task, target=cfg.target, X_train=None, y_train=None,
                   X_test=X.reset_index(drop=True), y_test=y.reset_index(drop=True), labels=labels,
                   positive_label=positive, source=", ".join(files), notes=notes, files=files,
                   logged=Logged(y_pred, scores, pred_column, score_columns, probabilities,
                                 0.5 if cfg.threshold is None else float(cfg.threshold)),
                   test_keys=keys, key_name=cfg.id or "row", dates=dates, unlabeled=unlabeled)


def _unlabeled(waiting: pd.DataFrame, X: pd.DataFrame, score_columns: list, pred_column, task: str,
               probabilities: bool, target: str, notes: list) -> Optional[Unlabeled]:
    """Rows whose true label has not arrived, kept (with a note) when their probabilities can estimate how well the
    model does on them (over_time); otherwise left out with a note, as any row without a label."""
    if waiting.empty:
        return None
    kept = waiting[waiting[score_columns].notna().all(axis=1)] if task != "regression" and probabilities else \
        waiting.iloc[:0]
    if kept.empty:
        notes.append(f"{len(waiting)} rows of the predictions file have no value in {target!r} and were left out.")
        return None
    scores = np.column_stack([_score_column(kept[c], c).to_numpy(float) for c in score_columns])
    frame = kept[list(X.columns)].copy()
    for col in X.columns:
        if isinstance(X[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("category")
    notes.append(f"{len(kept):,} rows have no value in {target!r} yet: no metric is measured on them; the over_time "
                 "section estimates their periods' accuracy from their scores"
                 + (f" ({len(waiting) - len(kept)} without scores left out)." if len(kept) < len(waiting) else "."))
    return Unlabeled(frame.reset_index(drop=True), scores,
                     None if pred_column is None else kept[pred_column].to_numpy())


def _named_columns(cfg, columns: list) -> dict:
    """config key -> the column it names; each must be a column of the predictions."""
    named = {"data.target": cfg.target}
    if cfg.prediction and (cfg.prediction in columns or not cfg.scores):
        named["data.prediction"] = cfg.prediction
    named.update({f"data.scores[{i}]": c for i, c in enumerate(cfg.scores)})
    for key, column in named.items():
        if column not in columns:
            raise UserError(f"{key}={column!r} is not a column of the predictions file; its columns are: {columns}")
    return named


def _score_column(values: pd.Series, column: str) -> pd.Series:
    """A column of numbers: text that is not a number, or an infinite value, is an error naming a few of them."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values[numbers.isna() & values.notna()]
    if len(bad):
        raise UserError(f"column {column!r} must hold numbers; {len(bad)} values do not, e.g. "
                        f"{list(dict.fromkeys(bad.astype(str)))[:5]}")
    infinite = np.isinf(numbers.to_numpy(float))
    if infinite.any():
        raise infinite_values(column, int(infinite.sum()))
    return numbers


def _rows_with_predictions(table: pd.DataFrame, columns: list, missing: str, notes: list) -> pd.DataFrame:
    """Rows with no prediction or score: an error naming the columns and counts, or dropped with a note when
    data.missing=drop."""
    empty = {c: int(table[c].isna().sum()) for c in columns if table[c].isna().any()}
    if not empty:
        return table
    counts = without_prediction(empty, missing)
    keep = table[columns].notna().all(axis=1)
    notes.append(f"{int((~keep).sum())} rows without a prediction ({counts}) were left out (data.missing=drop).")
    if not keep.any():
        raise UserError(f"no row has a prediction ({counts} missing values)")
    return table[keep]  # the index (each row's key) is kept
