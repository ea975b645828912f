"""load_dataset: the data a report is about, from data.* settings: a built-in dataset, the user's file(s) (split here
unless a held-out test file is given), or logged predictions (logged.py)."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from postreport.errors import UserError
from postreport.data.builtin import load_builtin
from postreport.data.dataset import Dataset
from postreport.data.held import is_held
from postreport.data.decide import decide_task, positive_label, sorted_labels
from postreport.data.logged import load_predictions
from postreport.data.tables import (STREAM_BYTES, check_columns, clean, keyed, merge_near_duplicates, read_table,
    release_arrow_memory, test_keys)
from postreport.data.images import load_images

log = logging.getLogger("postreport")


def load_dataset(cfg, seed: int, whole: bool = False) -> Dataset:
    """whole: every row is a test row (cross-validation splits them itself): no split, and one table only."""
    notes: list = []
    if cfg.source != "predictions" and cfg.engine not in ("auto", "pandas"):
        raise UserError(f"data.engine={cfg.engine} reads logged predictions (data=predictions); a model is fitted or "
                        "evaluated on rows in memory, so data.engine must be auto or pandas here")
    if cfg.source == "sklearn":
        frame, target, source = load_builtin(cfg.name)
        files = {}
        test_frame = None
    elif cfg.source == "predictions":
        return load_predictions(cfg)
    elif cfg.source == "images":
        return load_images(cfg, seed)
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
        frame = read_table(cfg.path, "data.path", **read) if cfg.path else None
        test_frame = read_table(cfg.test_path, "data.test_path", **read) if cfg.test_path else None
        source = ", ".join("rows given in memory" if is_held(f) else f for f in files)
    else:
        raise UserError(f"data.source={cfg.source!r} is not known; valid: sklearn, file, predictions, images")

    if not target:
        columns = list((frame if frame is not None else test_frame).columns)
        raise UserError(f"data.target is required: name the column to predict, one of {columns}")
    tables = {"data.path": frame, "data.test_path": test_frame}
    dates = {c: parts for t in tables.values() if t is not None for c, parts in t.attrs.get("dates", {}).items()}
    drop = list(cfg.drop) if cfg.source == "sklearn" else []  # a file's data.drop was applied as it was read
    for key, table in tables.items():
        if table is not None:
            check_columns(table, key, target, drop)
    frame, test_frame = (keyed(t, cfg.id, target, list(cfg.drop)) for t in (frame, test_frame))
    frame = clean(frame, target, drop, notes, "training data")
    test_frame = clean(test_frame, target, drop, notes, "test data")
    frame, test_frame = merge_near_duplicates([frame, test_frame], [target], cfg.strip_labels, notes)

    y_all = pd.concat([t[target] for t in (frame, test_frame) if t is not None])
    task = decide_task(cfg.task, y_all, target, notes)
    log.info("task: %s", notes[-1])

    if whole:
        if frame is not None and test_frame is not None:
            raise UserError("cv cross-validates the rows of one table: give data.path or data.test_path, not both")
        frame, test_frame = None, test_frame if frame is None else frame
    elif test_frame is None:
        frame, test_frame = _split(frame, target, task, cfg, seed, notes)
    elif frame is not None:
        missing = [c for c in frame.columns if c not in test_frame.columns]
        if missing:
            raise UserError(f"data.test_path lacks columns that data.path has: {missing}")
        test_frame = test_frame[list(frame.columns)]

    keys = test_keys(test_frame, cfg.id, frame)
    tables.clear()  # the file's frame as read is not needed once split
    on_disk = sum(Path(f).stat().st_size for f in files if not is_held(f))
    if on_disk > STREAM_BYTES:  # small files leave little in the pool; the full garbage collection costs 0.1-0.3 s
        release_arrow_memory()
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
        labels = sorted_labels(pd.concat([y for y in (y_train, y_test) if y is not None]))
        if task == "binary":
            if len(labels) != 2:
                raise UserError(f"task binary needs exactly 2 classes in {target!r}, found {len(labels)}: "
                                f"{labels[:10]}")
            positive = positive_label(cfg.positive_label, labels)

    return Dataset(
        name=cfg.name, task=task, target=target, X_train=X_train, y_train=y_train,
        X_test=X_test, y_test=y_test, labels=labels, positive_label=positive,
        image_shape=tuple(cfg.image_shape) if cfg.image_shape else None,
        source=source, notes=notes, files=files, test_keys=keys, key_name=cfg.id or "row", dates=dates,
    )


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
