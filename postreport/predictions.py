"""Predictions on the test set, computed once per candidate and shared by every analysis."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class Predictions:
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: Optional[np.ndarray]  # (n, k), columns in the order of `classes`; None for regression / no probabilities
    classes: list  # the model's classes (classification)
    seconds: float

    def scores_for(self, label) -> Optional[np.ndarray]:
        """The predicted probability of one class (binary: the positive label's scores)."""
        if self.proba is None or label not in self.classes:
            return None
        return self.proba[:, self.classes.index(label)]


def predict(candidate, data) -> Predictions:
    model = candidate.estimator
    start = time.perf_counter()
    y_pred = np.asarray(model.predict(data.X_test))
    proba = None
    classes: list = []
    if data.task != "regression":
        classes = [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", data.labels)]
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(data.X_test), dtype=float)
    seconds = time.perf_counter() - start
    y_true = data.y_test.to_numpy()
    if data.task == "regression":
        y_pred = y_pred.astype(float)
        y_true = y_true.astype(float)
    return Predictions(y_true=y_true, y_pred=y_pred, proba=proba, classes=classes, seconds=seconds)
