"""Load the data a report is about: sklearn's bundled datasets or a user's CSV / Parquet file."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from .config import MISSING_PREDICTIONS, TASKS
from . import csv_dialect
from .errors import UserError
from .label_checks import check_predicted_labels, named_class, near_duplicate_labels, score_columns_by_class

log = logging.getLogger("postreport")

BUILTIN = {
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}
READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
MAX_CLASSES_FOR_INTEGER_TARGET = 20


@dataclass
class Dataset:
    name: str
    task: str
    target: str
    X_train: Optional[pd.DataFrame]
    y_train: Optional[pd.Series]
    X_test: pd.DataFrame
    y_test: pd.Series
    labels: list = field(default_factory=list)  # class labels in sorted order (classification)
    positive_label: Any = None  # binary only
    image_shape: Optional[tuple] = None
    source: str = ""
    notes: list = field(default_factory=list)
    files: dict = field(default_factory=dict)  # path -> sha256
    logged: Optional[dict] = None  # data=predictions: {"y_pred": array or None, "scores": (n, k) array or None}
    test_keys: Optional[np.ndarray] = None  # each test row's key: data.id's value, else its row in its source
    key_name: str = "row"  # data.id, or "row"
    weights: Optional[np.ndarray] = None  # aggregated input: each test "row" is a cell of this many rows
    aggregation: Any = None  # postreport.warehouse.Aggregation: how aggregated input was read
    warehouse: Any = None  # postreport.warehouse.Warehouse: the engine, open for the sections' own passes
    dates: dict = field(default_factory=dict)  # a date column's name in the file -> the columns of its parts

    def file_columns(self, names, key: str) -> list:
        """Columns named as the file has them (a date column: its parts), each checked to be a column here; an
        unknown name is an error naming `key` and the valid names."""
        resolved = [part for name in names or [] for part in self.dates.get(name, [name])]
        unknown = [c for c in resolved if c not in self.columns]
        if unknown:
            raise UserError(f"{key} names columns not in the test data: {unknown}; valid: {self.columns}")
        return resolved

    @property
    def features(self) -> list:
        return list(self.X_test.columns)

    @property
    def columns(self) -> list:
        """The columns besides labels and predictions that sections may group by: the features, or for aggregated
        input the other columns of the files (read by the engine, never loaded)."""
        return list(self.warehouse.features) if self.warehouse is not None else self.features

    @property
    def categorical(self) -> list:
        return [c for c in self.X_test.columns if isinstance(self.X_test[c].dtype, pd.CategoricalDtype)]

    @property
    def n_train(self) -> int:
        return 0 if self.X_train is None else len(self.X_train)

    @property
    def n_test(self) -> int:
        return len(self.X_test) if self.weights is None else int(self.weights.sum())

    def fingerprint(self) -> str:
        """A hash of the exact rows the report is computed from (train and test, features and target)."""
        h = hashlib.sha256()
        for part in (self.X_train, self.y_train, self.X_test, self.y_test):
            if part is not None:
                h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        return h.hexdigest()


def load_dataset(cfg, seed: int) -> Dataset:
    notes: list = []
    if cfg.source != "predictions" and cfg.engine not in ("auto", "pandas"):
        raise UserError(f"data.engine={cfg.engine} reads logged predictions (data=predictions); a model is fitted or "
                        "evaluated on rows in memory, so data.engine must be auto or pandas here")
    if cfg.source == "sklearn":
        frame, target, source = _load_builtin(cfg.name)
        files = {}
        test_frame = None
    elif cfg.source == "predictions":
        return _load_predictions(cfg)
    elif cfg.source == "file":
        if not cfg.path and not cfg.test_path:
            raise UserError("data=file needs data.path (data to split) or data.test_path (a held-out test set)")
        target = cfg.target
        if target and target in cfg.drop:
            raise UserError(f"data.drop lists the target {target!r}; drop only feature columns")
        files = {}
        read = dict(files=files, na_values=cfg.na_values, notes=notes, keep=(target,) + ((cfg.id,) if cfg.id else ()),
                    csv_settings=(cfg.encoding, cfg.sep, cfg.decimal), text=(cfg.id,) if cfg.id else (),
                    drop=tuple(cfg.drop))
        frame = _read_table(cfg.path, "data.path", **read) if cfg.path else None
        test_frame = _read_table(cfg.test_path, "data.test_path", **read) if cfg.test_path else None
        source = ", ".join(files)
    else:
        raise UserError(f"data.source={cfg.source!r} is not known; valid: sklearn, file, predictions")

    if not target:
        columns = list((frame if frame is not None else test_frame).columns)
        raise UserError(f"data.target is required: name the column to predict, one of {columns}")
    tables = {"data.path": frame, "data.test_path": test_frame}
    dates = {c: parts for t in tables.values() if t is not None for c, parts in t.attrs.get("dates", {}).items()}
    for key, table in tables.items():
        if table is not None:  # a file's data.drop was applied as it was read, by the file's own names
            _check_columns(table, key, target, list(cfg.drop) if cfg.source == "sklearn" else [])
    frame, test_frame = (_keyed(t, cfg.id, target, list(cfg.drop)) for t in (frame, test_frame))
    frame = _clean(frame, target, list(cfg.drop), notes, "training data")
    test_frame = _clean(test_frame, target, list(cfg.drop), notes, "test data")
    frame, test_frame = _merge_near_duplicates([frame, test_frame], [target], cfg.strip_labels, notes)

    y_all = pd.concat([t[target] for t in (frame, test_frame) if t is not None])
    task = _task(cfg.task, y_all, target, notes)
    log.info("task: %s", notes[-1])

    if test_frame is None:
        frame, test_frame = _split(frame, target, task, cfg, seed, notes)
    elif frame is not None:
        missing = [c for c in frame.columns if c not in test_frame.columns]
        if missing:
            raise UserError(f"data.test_path lacks columns that data.path has: {missing}")
        test_frame = test_frame[list(frame.columns)]

    keys = _test_keys(test_frame, cfg.id, frame)
    tables.clear()  # the file's frame as read is not needed once split
    _release_arrow_memory()
    frame = None if frame is None else frame.reset_index(drop=True)
    test_frame = test_frame.reset_index(drop=True)
    _to_categoricals(frame, test_frame, target)
    y_train = None if frame is None else frame.pop(target)  # in place: the features are not copied
    X_train = frame
    y_test = test_frame.pop(target)
    X_test = test_frame
    if X_test.shape[1] == 0:
        raise UserError(f"no feature columns are left besides the target {target!r}; check data.drop")

    labels: list = []
    positive = None
    if task != "regression":
        labels = _sorted_labels(pd.concat([y for y in (y_train, y_test) if y is not None]))
        if task == "binary":
            if len(labels) != 2:
                raise UserError(f"task binary needs exactly 2 classes in {target!r}, found {len(labels)}: {labels[:10]}")
            positive = _positive_label(cfg.positive_label, labels)

    return Dataset(
        name=cfg.name, task=task, target=target, X_train=X_train, y_train=y_train,
        X_test=X_test, y_test=y_test, labels=labels, positive_label=positive,
        image_shape=tuple(cfg.image_shape) if cfg.image_shape else None,
        source=source, notes=notes, files=files, test_keys=keys, key_name=cfg.id or "row", dates=dates,
    )


def _keyed(table, id_column: Optional[str], target: str, drop: list):
    """The table indexed by its row keys: data.id's values (the column leaves the features), else the row's position
    in its source (pandas' default index, kept through every filter)."""
    if table is None or not id_column:
        return table
    if id_column not in table.columns:
        raise UserError(f"data.id={id_column!r} is not a column; its columns are: {list(table.columns)}")
    if id_column == target or id_column in drop:
        raise UserError(f"data.id={id_column!r} is also the target or in data.drop; name a column of row keys")
    return table.set_index(id_column)


def _test_keys(test_frame, id_column: Optional[str], train_frame=None) -> np.ndarray:
    """Each test row's key; data.id's keys (read as text: "007" and "7" are two keys) must be present and unique in
    the training rows and in the test rows alike."""
    if id_column:
        for what, frame in (("training", train_frame), ("test", test_frame)):
            if frame is None:
                continue
            keys = frame.index
            if keys.hasnans:
                raise UserError(f"data.id={id_column!r} is empty in {int(keys.isna().sum())} {what} rows; every row "
                                "needs a key")
            repeated = keys[keys.duplicated()].unique()
            if len(repeated):
                raise UserError(f"data.id={id_column!r} repeats keys in the {what} rows (e.g. {list(repeated[:5])}); "
                                "row keys must be unique")
    return test_frame.index.to_numpy()


def _load_predictions(cfg) -> Dataset:
    """Logged predictions of any framework: true labels, predicted labels and/or scores, and any other columns
    (kept as features for slicing and error analysis)."""
    if not cfg.path:
        raise UserError("data=predictions needs data.path: a CSV or Parquet file of logged predictions")
    if cfg.missing not in MISSING_PREDICTIONS:
        raise UserError(f"data.missing={cfg.missing!r} is not valid; valid: {', '.join(MISSING_PREDICTIONS)}")
    if cfg.target in cfg.drop:
        raise UserError(f"data.drop lists the target {cfg.target!r}; drop only other columns")
    from .sources import choose_engine, resolve

    source = resolve(cfg.path, csv_settings=(cfg.encoding, cfg.sep, cfg.decimal))
    named = _named_columns(cfg, list(source.columns))
    check_score_types(source, cfg.scores)
    engine = choose_engine(cfg.engine, source, cfg.engine_rows)
    if engine != "pandas":
        from .aggregated import load

        return load(cfg, source, engine, named)
    files: dict = {}
    notes: list = []
    table = _read_source(source, files, cfg.na_values, notes,
                         keep=(cfg.target, cfg.prediction, *cfg.scores) + ((cfg.id,) if cfg.id else ()),
                         csv_settings=(cfg.encoding, cfg.sep, cfg.decimal), text=(cfg.id,) if cfg.id else (),
                         drop=tuple(cfg.drop))
    dates = dict(table.attrs.get("dates", {}))
    _check_columns(table, "data.path", cfg.target, [])
    table = _keyed(table, cfg.id, cfg.target, list(cfg.drop))
    table = _clean(table, cfg.target, list(cfg.drop), notes, "predictions file")
    pred_column = named.get("data.prediction")
    (table,) = _merge_near_duplicates([table], [cfg.target] + ([pred_column] if pred_column else []),
                                      cfg.strip_labels, notes)
    for column in cfg.scores:
        table[column] = _score_column(table[column], column)
    table = _rows_with_predictions(table, [c for c in [pred_column, *cfg.scores] if c], cfg.missing, notes)
    y = table[cfg.target]
    task = _task(cfg.task, y, cfg.target, notes)
    labels = [] if task == "regression" else _sorted_labels(y)
    y_pred = table[pred_column].to_numpy() if pred_column else None
    if task == "regression" and y_pred is not None:
        _score_column(table[pred_column], pred_column)  # numeric and finite
    elif y_pred is not None:
        unseen = check_predicted_labels(labels, _sorted_labels(table[pred_column].dropna()), cfg.target, pred_column)
        if unseen:
            notes.append(unseen)
    positive = logged_positive_label(cfg, labels) if task == "binary" else None
    scores, probabilities, score_columns = None, True, list(cfg.scores)
    if cfg.scores:
        _check_score_count(cfg, task, labels)
        score_columns, which = score_columns_by_class(cfg.scores, cfg.score_labels, labels, task, positive)
        notes.append(which)
        scores = table[score_columns].to_numpy(dtype=float)
        probabilities = are_probabilities(scores)
        if not probabilities:
            _not_probabilities(cfg, task, pred_column, float(scores.min()), float(scores.max()), notes)
    keys = _test_keys(table, cfg.id)
    used = [cfg.target] + ([pred_column] if pred_column else []) + list(cfg.scores)
    X = table.drop(columns=used)
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("category")
    return Dataset(name=source.name, task=task, target=cfg.target, X_train=None, y_train=None,
                   X_test=X.reset_index(drop=True), y_test=y.reset_index(drop=True), labels=labels,
                   positive_label=positive, source=", ".join(files), notes=notes, files=files,
                   logged={"y_pred": y_pred, "scores": scores, "prediction": pred_column,
                           "score_columns": score_columns, "probabilities": probabilities,
                           "threshold": 0.5 if cfg.threshold is None else float(cfg.threshold)},
                   test_keys=keys, key_name=cfg.id or "row", dates=dates)


def logged_positive_label(cfg, labels: list):
    """data.positive_label, else the class data.score_labels gives the one score column, else the class the score
    column's name names (p_churn: 'churn'), else the default rule (1/True, else the last label)."""
    if cfg.positive_label is None and cfg.score_labels:
        return _positive_label(cfg.score_labels[0], labels)
    if cfg.positive_label is None and len(cfg.scores) == 1:
        named = named_class(cfg.scores[0], labels)
        if named is not None:
            return named
    return _positive_label(cfg.positive_label, labels)


def _merge_near_duplicates(tables: list, columns: list, strip: bool, notes: list) -> list:
    """Text labels in `columns` (the target, and the predicted labels) that differ only by spaces or case: an error,
    or merged into one spelling with data.strip_labels=true (see label_checks.near_duplicate_labels)."""
    parts = [t[c] for t in tables if t is not None for c in columns]
    if not parts or all(pd.api.types.is_numeric_dtype(p) or pd.api.types.is_bool_dtype(p) for p in parts):
        return tables
    counts = pd.concat(parts).value_counts()
    mapping, note = near_duplicate_labels(counts.items(), columns[0], strip)
    if not mapping:
        return tables
    notes.append(note)
    for t in tables:
        if t is not None:
            for c in columns:
                t[c] = t[c].replace(mapping)
    return tables


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


def _check_score_count(cfg, task: str, labels: list) -> None:
    if task == "regression":
        raise UserError("data.scores are for classification; for regression give data.prediction only")
    expected = 1 if task == "binary" else len(labels)
    if len(cfg.scores) != expected:
        shown = ", ".join(repr(v) for v in labels[:10]) + (f", ... ({len(labels)} classes)" if len(labels) > 10 else "")
        raise UserError(f"data.scores lists {len(cfg.scores)} columns; a {task} target with labels [{shown}] needs "
                        f"{expected} (binary: the positive class's score; multiclass: one per class of the target, a "
                        "class with no row here has none)")


def _not_probabilities(cfg, task: str, pred_column, low: float, high: float, notes: list) -> None:
    """Scores that only rank rows: a note; an error when binary labels would have to come from the 0.5 threshold."""
    what = ("outside [0, 1]" if task == "binary" else "not rows of probabilities (each in [0, 1], summing to 1)")
    notes.append(f"The scores ({', '.join(cfg.scores)}) are {what}, range {low:.4g} to {high:.4g}: they rank rows "
                 "but are not probabilities, so log loss, Brier score and calibration are not computed.")
    if task == "binary" and pred_column is None and cfg.threshold is None:
        raise UserError(f"data.scores={list(cfg.scores)} are not probabilities (range {low:.4g} to {high:.4g}), so "
                        "labels cannot come from the 0.5 threshold: give data.threshold=... (predict the positive "
                        "class when score >= threshold) or data.prediction=<column of predicted labels>")


def _read_source(source, files: dict, na_values, notes: list, keep: tuple, **options) -> pd.DataFrame:
    """Every file of the source in memory, one frame (hive partition values as columns), rows in file order.
    options: csv_settings and text, as _read_table takes them."""
    if len(source.files) == 1:
        return _read_table(str(source.files[0]), "data.path", files, na_values, notes, keep, **options)
    parts = []
    for f in source.files:
        part = _read_table(str(f), f"data.path ({f.name})", files, na_values, notes, keep, **options)
        for key, value in source.partition_values(f).items():
            part[key] = value
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    notes.append(f"Read {len(source.files)} files ({len(table):,} rows) into memory (data.engine=pandas).")
    return table


def are_probabilities(scores: np.ndarray, tolerance: float = 1e-3) -> bool:
    """Binary (one column): every score in [0, 1]. Multiclass: also every row summing to 1 within the tolerance."""
    inside = bool(np.all((scores >= 0) & (scores <= 1)))
    return inside and (scores.shape[1] == 1 or bool(np.all(np.abs(scores.sum(axis=1) - 1) <= tolerance)))


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


def _load_builtin(name: str):
    if name not in BUILTIN:
        raise UserError(f"unknown built-in dataset {name!r}; valid: {', '.join(BUILTIN)} (or data=file)")
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, BUILTIN[name])(as_frame=True)
    frame = bunch.frame.copy()
    target = "target"
    if name != "diabetes" and name != "digits":
        names = np.asarray(bunch.target_names)
        frame[target] = names[frame[target].to_numpy()]
    return frame, target, f"scikit-learn {BUILTIN[name]}()"


def _read_table(path: str, key: str, files: dict, na_values=(), notes: Optional[list] = None,
                keep: tuple = (), csv_settings: tuple = (None, None, None), text: tuple = (),
                drop: tuple = ()) -> pd.DataFrame:
    """A CSV, TSV or Parquet file as a tidy frame (see `_tidy`; columns in `keep` are left as they are).
    csv_settings: data.encoding, data.sep, data.decimal (null: detected, see csv_dialect); `text`: columns read as
    text whatever they look like (row keys: "007" and "7" are two keys)."""
    p = Path(path).expanduser()
    kind = READERS.get(p.suffix.lower())
    notes = notes if notes is not None else []
    if kind is None:
        raise UserError(f"{key}={path!r}: unsupported file type {p.suffix!r}; valid: {', '.join(READERS)}")
    if not p.is_file():
        raise UserError(f"{key}={path!r}: file not found (relative paths are taken from {Path.cwd()})")
    header: list = []
    if kind == "parquet":
        try:
            table = pd.read_parquet(p)
        except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
            raise UserError(f"{key}={path!r}: cannot read it as parquet: {exc}") from None
    else:
        dialect = csv_dialect.sniff(p, kind, *csv_settings)
        try:
            table = _read_csv(p, dialect, text)
        except UnicodeDecodeError:
            if "encoding" not in dialect.detected:
                raise UserError(f"{key}={path!r}: not {dialect.encoding} text past its first lines; set data.encoding "
                                "to the file's encoding (e.g. cp1252, latin-1, utf-16)") from None
            dialect = dialect.fallback()  # UTF-8 in its first MiB only
            table = _read_csv(p, dialect, text)
        except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
            raise UserError(f"{key}={path!r}: cannot read it as CSV with {dialect.describe()}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; set data.sep, "
                            "data.decimal or data.encoding to the file's") from None
        header = csv_dialect.header(p, dialect)
        if dialect.note(p):
            notes.append(dialect.note(p))
    if table.empty:
        raise UserError(f"{key}={path!r}: the file has no rows")
    files[str(p)] = _sha256(p)
    names = header or [str(c) for c in table.columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise UserError(f"{key}={path!r}: column names appear more than once: {twice}; rename them so that each "
                        "column has its own name")
    table.columns = [str(c) for c in table.columns]
    unknown = [c for c in drop if c not in table.columns]
    if unknown:  # the file's own names: data.drop applies before dates become their parts
        raise UserError(f"data.drop names columns not in {key}: {unknown}; its columns are: {list(table.columns)}")
    return _tidy(table.drop(columns=list(drop)), key, list(na_values), notes, keep)


STREAM_BYTES = 64 << 20  # CSV files larger than this are parsed block by block (the text is never held whole)


def _read_csv(path: Path, dialect, text: tuple = ()) -> pd.DataFrame:
    """pyarrow's multi-threaded reader (several times faster on large files, less memory); for large files its
    streaming reader, which holds one block of text at a time (about a third of the peak memory, twice the time);
    pandas' own reader where pyarrow's type inference gives up on a messy column (it infers a column's type from
    its first rows) or, for a small file, the file writes decimal commas (pandas' pyarrow engine takes no decimal
    mark). `text`: columns kept as text. A UnicodeDecodeError is the caller's: the encoding was wrong."""
    dtype = {c: str for c in text}
    pandas_reader = dict(sep=dialect.sep, decimal=dialect.decimal, encoding=dialect.encoding, dtype=dtype)
    encoding = "utf8" if dialect.encoding == "utf-8-sig" else dialect.encoding  # pyarrow skips a UTF-8 BOM itself
    try:
        if path.stat().st_size <= STREAM_BYTES:
            if dialect.decimal != ".":
                return pd.read_csv(path, **pandas_reader)
            return pd.read_csv(path, sep=dialect.sep, engine="pyarrow", encoding=encoding, dtype=dtype or None)
        import pyarrow as pa
        import pyarrow.csv as pcsv

        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(encoding=encoding, block_size=16 << 20),
                               parse_options=pcsv.ParseOptions(delimiter=dialect.sep),
                               convert_options=pcsv.ConvertOptions(decimal_point=dialect.decimal,
                                                                   column_types={c: pa.string() for c in text},
                                                                   strings_can_be_null=True))
        table = pa.Table.from_batches(list(reader))
        frame = table.to_pandas(self_destruct=True)  # each column freed once converted
        del table
        _release_arrow_memory()
        return frame
    except UnicodeDecodeError:
        raise
    except Exception:
        return pd.read_csv(path, **pandas_reader)


def _release_arrow_memory() -> None:
    """Give the memory pyarrow's allocator kept from reading a file back to the system (its pool keeps freed blocks
    for reuse; a frame read from a large file leaves hundreds of MB there once it is split)."""
    import sys

    if "pyarrow" in sys.modules:
        import gc

        gc.collect()
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DATE_PATTERN = r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$"


def _tidy(table: pd.DataFrame, key: str, na_values: list, notes: list, keep: tuple = ()) -> pd.DataFrame:
    """What real files hold, made usable, each change said in a note: tokens like '?' in an otherwise numeric
    column become missing values; ISO dates become their parts (year, month, day, day of week, hour); durations
    become seconds; infinities in numeric columns become missing values."""
    tokens = {t.strip().lower() for t in na_values}
    changed, dates = {}, {}
    for col in table.columns:
        if col in keep:
            continue
        values = original = table[col]
        text = values.dtype == object or pd.api.types.is_string_dtype(values)
        if text:
            values = _numeric_with_tokens(values, col, key, tokens, notes)
        if text and values is original and _looks_like_dates(values):
            values = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
        if pd.api.types.is_datetime64_any_dtype(values):
            dates[col] = _date_parts(values, col, key, notes)
            continue
        if pd.api.types.is_timedelta64_dtype(values):
            values = values.dt.total_seconds()
            notes.append(f"Column {col!r} of {key} holds durations; they are used as seconds.")
        if pd.api.types.is_float_dtype(values):
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                values = values.where(~infinite)
                notes.append(f"Column {col!r} of {key}: {int(infinite.sum())} infinite values are treated as missing.")
        if values is not original:
            changed[col] = values
    if not changed and not dates:
        return table  # the common case: no copy of a large table
    for col, values in changed.items():
        table[col] = values
    if dates:
        parts = [pd.DataFrame(dates.get(col, {col: table[col]}), index=table.index) for col in table.columns]
        table = pd.concat(parts, axis=1)
        table.attrs["dates"] = {col: list(parts) for col, parts in dates.items()}  # the file's name -> its parts
    return table


def _numeric_with_tokens(values: pd.Series, col: str, key: str, tokens: set, notes: list) -> pd.Series:
    """A text column that is numeric but for 'no value' tokens becomes numeric, the tokens missing."""
    present = values.dropna()
    if present.empty:
        return values
    text = present.astype(str).str.strip()
    is_token = text.str.lower().isin(tokens)
    numbers = pd.to_numeric(text[~is_token], errors="coerce")
    if not is_token.any() or numbers.isna().any() or numbers.empty:
        return values
    found = text[is_token].value_counts()
    notes.append(f"Column {col!r} of {key} is numeric but holds " + ", ".join(f"{t!r} {n} times" for t, n in
                 found.items()) + "; those values are treated as missing (data.na_values lists such tokens).")
    converted = pd.Series(np.nan, index=values.index)
    converted.loc[numbers.index] = numbers.astype(float)
    return converted


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    return not sample.empty and bool(sample.str.match(DATE_PATTERN).all())


def _date_parts(values: pd.Series, col: str, key: str, notes: list) -> dict:
    stamps = values.dt
    parts = {f"{col}.year": stamps.year, f"{col}.month": stamps.month, f"{col}.day": stamps.day,
             f"{col}.day_of_week": stamps.day_of_week}
    if (stamps.hour.fillna(0) != 0).any() or (stamps.minute.fillna(0) != 0).any():
        parts[f"{col}.hour"] = stamps.hour
    notes.append(f"Column {col!r} of {key} holds dates; the model sees their parts ({', '.join(parts)}), not the "
                 "dates themselves.")
    return {name: part.astype(float) for name, part in parts.items()}


def _check_columns(table: pd.DataFrame, key: str, target: str, drop: list) -> None:
    if target not in table.columns:
        raise UserError(f"target column {target!r} is not in {key}; its columns are: {list(table.columns)}")
    unknown = [c for c in drop if c not in table.columns]
    if unknown:
        raise UserError(f"data.drop names columns not in {key}: {unknown}; its columns are: {list(table.columns)}")


def _clean(table, target, drop, notes, what):
    if table is None:
        return None
    table = table.drop(columns=drop, errors="ignore")  # files: dropped as read (by the file's names)
    missing = int(table[target].isna().sum())
    if missing:
        table = table[table[target].notna()]  # the index (each row's key) is kept
        notes.append(f"{missing} rows of the {what} have no value in {target!r} and were left out.")
    if table.empty:
        raise UserError(f"the {what} has no rows with a value in the target column {target!r}")
    return table


def infer_task(values) -> str:
    """The task the target's values imply (at least two distinct values), by the rule every engine uses."""
    return _task(None, pd.Series(values).reset_index(drop=True), "target", [])


def _task(forced, y: pd.Series, target: str, notes: list) -> str:
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
                            f"the target {target!r} has {n}: {_sorted_labels(y)[:10]}")
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


MIN_ROWS_TO_SPLIT = 10


def _split(frame, target, task, cfg, seed, notes):
    from sklearn.model_selection import train_test_split

    if not 0 < cfg.test_size < 1:
        raise UserError(f"data.test_size={cfg.test_size} must be between 0 and 1")
    if len(frame) < MIN_ROWS_TO_SPLIT:
        raise UserError(f"data.path has {len(frame)} rows with a value in {target!r}; splitting them into training "
                        f"and test rows needs at least {MIN_ROWS_TO_SPLIT}")
    stratify = None
    if task != "regression" and cfg.stratify:
        counts = frame[target].value_counts()
        if counts.min() >= 2:
            stratify = frame[target]
        else:
            notes.append(f"Class {counts.idxmin()!r} has a single row, so the split is not stratified.")
    split_seed = seed if cfg.seed is None else cfg.seed
    try:
        train, test = train_test_split(frame, test_size=cfg.test_size, stratify=stratify, random_state=split_seed)
    except ValueError as exc:
        raise UserError(f"cannot split the data with data.test_size={cfg.test_size}: {exc}") from None
    notes.append(
        f"Split {len(frame)} rows into {len(train)} for training and {len(test)} for testing "
        f"({'stratified, ' if stratify is not None else ''}test_size={cfg.test_size}, seed={split_seed})."
    )
    return train, test  # indexed by row key


def _to_categoricals(train, test, target) -> None:
    """Text columns become pandas categoricals with the same categories in train and test."""
    for col in test.columns.drop(target):
        parts = [t[col] for t in (train, test) if t is not None]
        if all(pd.api.types.is_bool_dtype(p) for p in parts):
            for t in (train, test):
                if t is not None:
                    t[col] = t[col].astype(float)
        elif not all(pd.api.types.is_numeric_dtype(p) for p in parts):
            values = pd.concat(parts).dropna().astype(str)
            dtype = pd.CategoricalDtype(sorted(values.unique()))
            for t in (train, test):
                if t is not None:
                    t[col] = t[col].where(t[col].isna(), t[col].astype(str)).astype(dtype)


def _sorted_labels(y: pd.Series) -> list:
    """The distinct labels as plain Python values (numpy scalars converted), sorted."""
    values = [v.item() if isinstance(v, np.generic) else v for v in pd.unique(y)]
    try:
        return sorted(values)
    except TypeError:  # mixed types
        return sorted(values, key=str)


def _positive_label(wanted, labels: list):
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
