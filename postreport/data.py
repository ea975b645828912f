"""Load the data a report is about: sklearn's bundled datasets or a user's CSV / Parquet file."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from .config import TASKS
from .errors import UserError

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

    @property
    def features(self) -> list:
        return list(self.X_test.columns)

    @property
    def categorical(self) -> list:
        return [c for c in self.X_test.columns if isinstance(self.X_test[c].dtype, pd.CategoricalDtype)]

    @property
    def n_train(self) -> int:
        return 0 if self.X_train is None else len(self.X_train)

    @property
    def n_test(self) -> int:
        return len(self.X_test)

    def fingerprint(self) -> str:
        """A hash of the exact rows the report is computed from (train and test, features and target)."""
        h = hashlib.sha256()
        for part in (self.X_train, self.y_train, self.X_test, self.y_test):
            if part is not None:
                h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        return h.hexdigest()


def load_dataset(cfg, seed: int) -> Dataset:
    if cfg.source == "sklearn":
        frame, target, source = _load_builtin(cfg.name)
        files = {}
        test_frame = None
    elif cfg.source == "predictions":
        return _load_predictions(cfg)
    elif cfg.source == "file":
        if not cfg.path and not cfg.test_path:
            raise UserError("data=file needs data.path (data to split) or data.test_path (a held-out test set)")
        files = {}
        frame = _read_table(cfg.path, "data.path", files) if cfg.path else None
        test_frame = _read_table(cfg.test_path, "data.test_path", files) if cfg.test_path else None
        target = cfg.target
        source = ", ".join(files)
    else:
        raise UserError(f"data.source={cfg.source!r} is not known; valid: sklearn, file, predictions")

    if not target:
        columns = list((frame if frame is not None else test_frame).columns)
        raise UserError(f"data.target is required: name the column to predict, one of {columns}")
    notes: list = []
    tables = {"data.path": frame, "data.test_path": test_frame}
    for key, table in tables.items():
        if table is not None:
            _check_columns(table, key, target, list(cfg.drop))
    frame = _clean(frame, target, list(cfg.drop), notes, "training data")
    test_frame = _clean(test_frame, target, list(cfg.drop), notes, "test data")

    y_all = pd.concat([t[target] for t in (frame, test_frame) if t is not None])
    task = _task(cfg.task, y_all, target)

    if test_frame is None:
        frame, test_frame = _split(frame, target, task, cfg, seed, notes)
    elif frame is not None:
        missing = [c for c in frame.columns if c not in test_frame.columns]
        if missing:
            raise UserError(f"data.test_path lacks columns that data.path has: {missing}")
        test_frame = test_frame[list(frame.columns)]

    _to_categoricals(frame, test_frame, target)
    X_train = None if frame is None else frame.drop(columns=[target])
    y_train = None if frame is None else frame[target]
    X_test, y_test = test_frame.drop(columns=[target]), test_frame[target]
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
        source=source, notes=notes, files=files,
    )


def _load_predictions(cfg) -> Dataset:
    """Logged predictions of any framework: true labels, predicted labels and/or scores, and any other columns
    (kept as features for slicing and error analysis)."""
    if not cfg.path:
        raise UserError("data=predictions needs data.path: a CSV or Parquet file of logged predictions")
    files: dict = {}
    table = _read_table(cfg.path, "data.path", files)
    columns = list(table.columns)
    named = {"data.target": cfg.target}
    if cfg.prediction and (cfg.prediction in columns or not cfg.scores):
        named["data.prediction"] = cfg.prediction
    named.update({f"data.scores[{i}]": c for i, c in enumerate(cfg.scores)})
    for key, column in named.items():
        if column not in columns:
            raise UserError(f"{key}={column!r} is not a column of the predictions file; its columns are: {columns}")
    _check_columns(table, "data.path", cfg.target, list(cfg.drop))
    notes: list = []
    table = _clean(table, cfg.target, list(cfg.drop), notes, "predictions file")
    y = table[cfg.target]
    task = _task(cfg.task, y, cfg.target)
    labels = [] if task == "regression" else _sorted_labels(y)
    pred_column = named.get("data.prediction")
    y_pred = table[pred_column].to_numpy() if pred_column else None
    scores = None
    if cfg.scores:
        if task == "regression":
            raise UserError("data.scores are for classification; for regression give data.prediction only")
        expected = 1 if task == "binary" else len(labels)
        if len(cfg.scores) != expected:
            raise UserError(f"data.scores lists {len(cfg.scores)} columns; a {task} target with labels {labels} needs "
                            f"{expected} (binary: the positive class's score; multiclass: one per class, label order)")
        scores = table[list(cfg.scores)].to_numpy(dtype=float)
    positive = _positive_label(cfg.positive_label, labels) if task == "binary" else None
    used = [cfg.target] + ([pred_column] if pred_column else []) + list(cfg.scores)
    X = table.drop(columns=used)
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):
            X[col] = X[col].astype("category")
    return Dataset(name=Path(cfg.path).stem, task=task, target=cfg.target, X_train=None, y_train=None,
                   X_test=X.reset_index(drop=True), y_test=y.reset_index(drop=True), labels=labels,
                   positive_label=positive, source=", ".join(files), notes=notes, files=files,
                   logged={"y_pred": y_pred, "scores": scores, "prediction": pred_column, "score_columns": list(cfg.scores)})


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


def _read_table(path: str, key: str, files: dict) -> pd.DataFrame:
    p = Path(path).expanduser()
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        raise UserError(f"{key}={path!r}: unsupported file type {p.suffix!r}; valid: {', '.join(READERS)}")
    if not p.is_file():
        raise UserError(f"{key}={path!r}: file not found (relative paths are taken from {Path.cwd()})")
    try:
        if kind == "parquet":
            table = pd.read_parquet(p)
        else:
            table = pd.read_csv(p, sep="\t" if kind == "tsv" else ",")
    except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
        raise UserError(f"{key}={path!r}: cannot read it as {kind}: {exc}") from None
    if table.empty:
        raise UserError(f"{key}={path!r}: the file has no rows")
    files[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    table.columns = [str(c) for c in table.columns]
    return table


def _check_columns(table: pd.DataFrame, key: str, target: str, drop: list) -> None:
    if target not in table.columns:
        raise UserError(f"target column {target!r} is not in {key}; its columns are: {list(table.columns)}")
    unknown = [c for c in drop if c not in table.columns]
    if unknown:
        raise UserError(f"data.drop names columns not in {key}: {unknown}; its columns are: {list(table.columns)}")


def _clean(table, target, drop, notes, what):
    if table is None:
        return None
    table = table.drop(columns=drop)
    missing = int(table[target].isna().sum())
    if missing:
        table = table[table[target].notna()].reset_index(drop=True)
        notes.append(f"{missing} rows of the {what} have no value in {target!r} and were left out.")
    if table.empty:
        raise UserError(f"the {what} has no rows with a value in the target column {target!r}")
    return table


def _task(forced, y: pd.Series, target: str) -> str:
    if forced is not None:
        if forced not in TASKS:
            raise UserError(f"data.task={forced!r} is not valid; valid: {', '.join(TASKS)} (or null to infer)")
        if forced == "regression" and not pd.api.types.is_numeric_dtype(y):
            raise UserError(f"data.task=regression needs a numeric target; {target!r} is {y.dtype}")
        return forced
    n = y.nunique()
    if n < 2:
        raise UserError(f"the target {target!r} has a single value ({y.iloc[0]!r}); there is nothing to predict")
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "binary" if n == 2 else "multiclass"
    integral = pd.api.types.is_integer_dtype(y) or bool(np.all(np.mod(y.to_numpy(float), 1) == 0))
    if integral and n == 2:
        return "binary"
    if integral and n <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return "multiclass"
    return "regression"


def _split(frame, target, task, cfg, seed, notes):
    from sklearn.model_selection import train_test_split

    if not 0 < cfg.test_size < 1:
        raise UserError(f"data.test_size={cfg.test_size} must be between 0 and 1")
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
    return train.reset_index(drop=True), test.reset_index(drop=True)


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
    values = list(pd.unique(y))
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
