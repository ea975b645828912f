"""predictions.parquet (every run's test predictions, keyed by row) and compare.baseline (a previous run's folder or
a predictions file), matched with this run's test rows by key."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from postreport.data import are_probabilities
from postreport.data.run_files import META_KEY, PREDICTIONS, read_predictions
from postreport.errors import UserError
from postreport.run.predictions import Predictions



def score_column(label) -> str:
    return f"score_{label}"


def predictions_table(data, pred) -> tuple:
    """The subject model's test predictions as a table (key, y_true, y_pred, score_<label> per class) and the
    metadata a later run needs to read it back."""
    columns = {data.key_name: data.test_keys, "y_true": pred.y_true, "y_pred": pred.y_pred}
    scores = []
    if data.task != "regression" and pred.proba is not None and set(pred.classes) >= set(data.labels):
        for label in data.labels:  # one frame built at once: 500 classes are 500 columns, not 500 inserts
            column = score_column(label)
            columns[column] = pred.proba[:, pred.classes.index(label)]
            scores.append(column)
    table = pd.DataFrame(columns)
    meta = {"key": data.key_name, "task": data.task, "labels": [_plain(v) for v in data.labels],
            "positive_label": _plain(data.positive_label), "scores": scores,
            "probabilities": bool(pred.probabilities)}
    return table, meta


def predictions_parquet(data, pred) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table, meta = predictions_table(data, pred)
    for column in ("y_true", "y_pred"):  # one type per column (labels may mix numbers and text in object arrays)
        if table[column].dtype == object:
            table[column] = table[column].astype(str)
    if table[data.key_name].dtype == object:
        table[data.key_name] = table[data.key_name].astype(str)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
    buffer = io.BytesIO()
    pq.write_table(arrow, buffer, compression="zstd")
    return buffer.getvalue()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


@dataclass
class Baseline:
    """The baseline's predictions on the rows this run compares, and how the rows were matched."""

    source: str  # the path as given
    name: str  # its model's name (from its metrics.json) or the file's name
    predictions: Predictions  # aligned with `rows` (paired) or on the baseline's own rows (unpaired)
    rows: np.ndarray  # indices into this run's test rows (paired: the matched ones, in order; unpaired: all)
    paired: bool
    matched: int
    only_current: int
    only_baseline: int
    key: str


def load(compare_cfg, data) -> Baseline:
    """Read compare.baseline and match its rows with this run's test rows; exit 2 when it cannot be compared."""
    given = compare_cfg.baseline
    path = Path(given).expanduser()
    name = path.stem
    if path.is_dir():
        folder, path = path, path / PREDICTIONS
        if not path.is_file():
            raise UserError(f"compare.baseline={given!r} is a folder without {PREDICTIONS}: give a run folder made by "
                            "postreport (every run writes it) or a predictions file")
        name = folder.name
    elif not path.is_file():
        raise UserError(f"compare.baseline={given!r} does not exist; give a run folder or a predictions file "
                        "(.parquet or .csv)")
    table, meta, run = _read(path, given)
    if run is not None:
        name = (run.get("model") or {}).get("name") or name
    key = compare_cfg.key or meta.get("key") or data.key_name
    for column in (key, "y_true", "y_pred"):
        if column not in table.columns:
            raise UserError(f"compare.baseline {given!r} has no column {column!r}; its columns are "
                            f"{list(table.columns)[:20]} (a key column, y_true, y_pred and score_<label> per class)")
    if table[key].isna().any() or table[key].duplicated().any():
        repeated = table.loc[table[key].duplicated(), key].unique()[:5].tolist()
        raise UserError(f"compare.baseline {given!r}: the keys in {key!r} must be unique and present"
                        + (f" (repeated: {repeated})" if repeated else ""))
    if data.task != "regression":
        known = {str(v) for v in data.labels}
        strange = sorted({str(v) for v in table["y_pred"].dropna().unique()} - known)[:5]
        if strange:
            raise UserError(f"compare.baseline {given!r} predicts labels this run's data does not have: {strange}; "
                            f"the labels are {sorted(known)[:20]}")
    mine, other = np.asarray(data.test_keys), table[key].to_numpy()
    if not (mine.dtype.kind in "iu" and other.dtype.kind in "iu"):  # numbers pair with numbers; else as text
        mine, other = mine.astype(str), other.astype(str)
    current, theirs = pd.Index(mine), pd.Index(other)
    position = theirs.get_indexer(current)  # for each current test row, its row in the baseline (-1: none)
    rows = np.flatnonzero(position >= 0)
    matched = len(rows)
    if matched:
        table = table.iloc[position[rows]].reset_index(drop=True)
        truth, stated = np.asarray(data.y_test.iloc[rows]), table["y_true"].to_numpy()
        if truth.dtype != stated.dtype:
            truth, stated = truth.astype(str), stated.astype(str)
        differ = np.flatnonzero(truth != stated)
        if len(differ):
            keys = [str(k) for k in current[rows[differ[:5]]]]
            raise UserError(f"the baseline's true labels differ from this run's on {len(differ)} of the {matched} "
                            f"matched rows (keys {keys}): the two runs do not describe the same rows")
        y_true = data.y_test.to_numpy()[rows]
    else:
        rows = np.arange(data.n_test)
        y_true = _as(table["y_true"].to_numpy(), data.y_test.to_numpy())
    pred = _baseline_predictions(table, meta, data, y_true, given)
    return Baseline(source=given, name=str(name), predictions=pred, rows=rows, paired=matched > 0, matched=matched,
                    only_current=data.n_test - matched, only_baseline=len(theirs) - matched, key=key)


def in_memory_baseline(candidate, data) -> Baseline:
    """Another model of this run (compare.models) as the baseline: its predictions of the same test rows, paired
    row by row, as compare.baseline would read them from its run's predictions.parquet."""
    n = data.n_test
    return Baseline(source=f"compare.models: {candidate.name}", name=candidate.name, predictions=candidate.predictions,
                    rows=np.arange(n), paired=True, matched=n, only_current=0, only_baseline=0, key=data.key_name)


def _read(path: Path, given: str) -> tuple:
    """The baseline's table, its metadata and the run it belongs to (None: a file of its own)."""
    if path.suffix.lower() == ".parquet":
        return read_predictions(path, f"compare.baseline={given!r}")
    try:
        if path.suffix.lower() in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ","), {}, None
    except Exception as exc:  # the reader's own error types
        raise UserError(f"compare.baseline {given!r} cannot be read: {type(exc).__name__}: {exc}") from None
    raise UserError(f"compare.baseline {given!r} is not a run folder, .parquet or .csv file")


def _as(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Values read from a file in the type of this run's labels (text '1' is the label 1 when labels are numbers)."""
    if like.dtype.kind in "biuf" and values.dtype.kind not in "biuf":
        try:
            return values.astype(like.dtype)
        except (TypeError, ValueError):
            return values
    if like.dtype == object and values.dtype != object:
        lookup = {str(v): v for v in like}
        return np.asarray([lookup.get(str(v), v) for v in values], dtype=object)
    return values


def _baseline_predictions(table, meta, data, y_true, given: str) -> Predictions:
    if data.task == "regression":
        y_pred = pd.to_numeric(table["y_pred"], errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(y_pred)):
            raise UserError(f"compare.baseline {given!r}: y_pred must hold finite numbers for regression")
        return Predictions(np.asarray(y_true, dtype=float), y_pred, None, [], 0.0)
    labels = list(data.labels)
    lookup = {str(v): v for v in labels}
    y_pred = np.asarray([lookup[str(v)] for v in table["y_pred"]], dtype=object)
    y_pred = _as(y_pred, np.asarray(y_true)) if np.asarray(y_true).dtype != object else y_pred
    columns = [score_column(label) for label in labels]
    proba, probabilities = None, True
    if all(c in table.columns for c in columns):
        proba = table[columns].to_numpy(dtype=float)
    elif data.task == "binary" and score_column(data.positive_label) in table.columns:
        positive = labels.index(data.positive_label)
        proba = np.empty((len(table), 2))
        proba[:, positive] = table[score_column(data.positive_label)].to_numpy(dtype=float)
        proba[:, 1 - positive] = 1 - proba[:, positive]
    if proba is not None:
        if not np.all(np.isfinite(proba)):
            raise UserError(f"compare.baseline {given!r}: the score columns hold missing or infinite values")
        probabilities = are_probabilities(proba[:, [labels.index(data.positive_label)]] if data.task == "binary"
                                          else proba)
    return Predictions(np.asarray(y_true), y_pred, proba, labels, 0.0, probabilities)


def subset(pred: Predictions, rows: np.ndarray) -> Predictions:
    """The predictions of some rows (indices), in that order."""
    return Predictions(pred.y_true[rows], pred.y_pred[rows], None if pred.proba is None else pred.proba[rows],
                       pred.classes, pred.seconds, pred.probabilities, pred.threshold)


def describe_rows(b: Baseline) -> str:
    if not b.paired:
        return (f"The test sets share no row keys ({b.key!r}): the comparison is unpaired, each model on its own "
                f"rows ({b.only_current:,} here, {b.only_baseline:,} in the baseline), with independent intervals.")
    return (f"Paired on {b.matched:,} rows matched by {b.key!r}; {b.only_current:,} test rows only in this run and "
            f"{b.only_baseline:,} only in the baseline were left out.")
