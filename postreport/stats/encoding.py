"""Classification labels as indices into one label list, and probabilities in the data's label order: the form
the metric, curve and bootstrap code works on."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np


@dataclass
class Encoded:
    labels: list  # the data's labels, then any label only the model predicted
    y_idx: np.ndarray  # index of each true label in `labels`
    pred_idx: np.ndarray
    proba: Optional[np.ndarray]  # (n, len(data labels)), columns in the data's label order; None if unknown
    positive_idx: Optional[int] = None  # binary
    weight: Optional[np.ndarray] = None  # aggregated input: rows per entry (None: one row each)
    unseen: tuple = ()  # the labels only the model predicted (at the end of `labels`)

    @property
    def known(self) -> int:
        """How many of `labels` are the data's: the macro averages and their intervals run over these, and a
        prediction of an unseen label counts as wrong (it lowers its row's class's recall, no class's precision)."""
        return len(self.labels) - len(self.unseen)

    @property
    def y_bin(self) -> np.ndarray:
        return (self.y_idx == self.positive_idx).astype(int)

    @property
    def pred_bin(self) -> np.ndarray:
        return (self.pred_idx == self.positive_idx).astype(int)

    @property
    def score(self) -> Optional[np.ndarray]:
        return None if self.proba is None else self.proba[:, self.positive_idx]

    @cached_property
    def score_order(self) -> Optional[np.ndarray]:
        """Rows in ascending order of the positive class's score: sorted once, shared by every analysis."""
        return None if self.score is None else np.argsort(self.score, kind="mergesort")


def encode(data, pred) -> Encoded:
    """Labels as indices; probabilities reordered to the data's labels (None when the model's classes differ)."""
    extra = sorted(set(np.unique(pred.y_pred).tolist()) - set(data.labels), key=str)
    labels = list(data.labels) + extra
    y_idx, pred_idx = positions(pred.y_true, labels), positions(pred.y_pred, labels)  # labels hold every one
    proba = None
    if pred.proba is not None and set(pred.classes) >= set(data.labels):
        proba = pred.proba[:, [pred.classes.index(label) for label in data.labels]]
    positive = labels.index(data.positive_label) if data.task == "binary" else None
    return Encoded(labels, y_idx, pred_idx, proba, positive, pred.weight, tuple(extra))


def positions(values, labels: list) -> np.ndarray:
    """Each value's index in `labels` (-1 when absent): vectorised for numbers, a dictionary look-up otherwise."""
    values = np.asarray(values)
    keys = np.asarray(labels)
    if values.dtype.kind in "biuf" and keys.dtype.kind in "biuf" and len(keys):
        order = np.argsort(keys, kind="stable")
        at = np.clip(np.searchsorted(keys, values, sorter=order), 0, len(keys) - 1)
        found = order[at]
        return np.where(keys[found] == values, found, -1)
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter((index.get(v, -1) for v in values.tolist()), dtype=np.int64, count=len(values))
