"""The Dataset every later step reads: training and test rows, the task, the labels and how they were read."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError


@dataclass
class Logged:
    """data=predictions: what the file holds besides the true labels (the predictions' side of a Dataset)."""

    y_pred: Optional[np.ndarray]  # predicted labels (or values), or None: labels come from the scores
    scores: Optional[np.ndarray]  # (n, k) in the data's label order (binary: k = 1, the positive class's score)
    prediction: Optional[str]  # the predicted-label column, if any
    score_columns: list  # data.scores in the data's label order
    probabilities: bool = True  # the scores are probabilities (else they only rank rows)
    threshold: float = 0.5  # binary labels from scores: the positive class at and above it
    loss: Optional[np.ndarray] = None  # aggregated binary/multiclass: each cell's mean log loss
    sq: Optional[np.ndarray] = None  # and mean squared error (Brier), from every row's own score
    cells: Any = None  # aggregated regression: postreport.data.warehouse.RegressionCells (the metrics' sums)


@dataclass
class Unlabeled:
    """Logged predictions whose true label has not arrived: their other columns and the model's scores, kept for the
    sections that estimate performance without labels (over_time); no metric is measured on them."""

    X: pd.DataFrame  # the same columns as the test rows' X
    scores: np.ndarray  # (n, k) in the data's label order, as Logged.scores (probabilities)
    y_pred: Optional[np.ndarray]  # the logged predicted labels, or None: from the scores as for the labelled rows


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
    image_shape: Optional[tuple] = None  # (H, W) of image data; each row holds H*W*channels pixels, channels last
    channels: int = 1
    layout: str = "NCHW"  # data=images: how an ONNX model's 4-D input takes them
    image_files: Optional[list] = None  # data=images: each test row's file
    source: str = ""
    notes: list = field(default_factory=list)
    files: dict = field(default_factory=dict)  # path -> sha256
    logged: Optional["Logged"] = None  # data=predictions: the predictions and scores read from the file
    test_keys: Optional[np.ndarray] = None  # each test row's key: data.id's value, else its row in its source
    key_name: str = "row"  # data.id, or "row"
    weights: Optional[np.ndarray] = None  # aggregated input: each test "row" is a cell of this many rows
    aggregation: Any = None  # postreport.warehouse.Aggregation: how aggregated input was read
    warehouse: Any = None  # postreport.warehouse.Warehouse: the engine, open for the sections' own passes
    dates: dict = field(default_factory=dict)  # a date column's name in the file -> the columns of its parts
    unlabeled: Optional[Unlabeled] = None  # logged predictions without a true label yet (with probabilities)

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
        return [c for c, dtype in self.X_test.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]

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
