"""Predictions on the test set, computed once per candidate and shared by every analysis."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from postreport.data.decide import are_probabilities
from postreport.errors import UserError


@dataclass
class Predictions:
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: Optional[np.ndarray]  # (n, k), columns in the order of `classes`; None for regression / no probabilities
    classes: list  # the model's classes (classification)
    seconds: float
    probabilities: bool = True  # proba holds probabilities (else scores that only rank rows: logged raw scores)
    threshold: float = 0.5  # binary: the positive class's score at and above which the labels are positive
    weight: Optional[np.ndarray] = None  # aggregated input: the rows each entry stands for (None: one each)
    loss: Optional[np.ndarray] = None  # aggregated binary input: each cell's mean log loss and squared error,
    sq: Optional[np.ndarray] = None  # from every row's own score (the scores above are their bins' means)
    cells: Any = None  # aggregated regression: postreport.data.warehouse.RegressionCells (the metrics' exact sums)

    def scores_for(self, label) -> Optional[np.ndarray]:
        """The predicted probability of one class (binary: the positive label's scores)."""
        if self.proba is None or label not in self.classes:
            return None
        return self.proba[:, self.classes.index(label)]


def model_classes(model, default=()) -> list:
    """A classifier's classes as plain Python values (numpy scalars converted), in the model's column order."""
    return [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", default)]


TOP_CLASS_PREDICTORS = {  # predict(X) is classes_[argmax(predict_proba(X))] in their own code, ties included
    ("lightgbm.sklearn", "LGBMClassifier"), ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.ensemble._forest", "ExtraTreesClassifier"), ("sklearn.tree._classes", "DecisionTreeClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingClassifier"),
}


def predicts_top_class(model) -> bool:
    """Whether the model's labels are its classes at the argmax of its probabilities (so one pass gives both: a
    200-class LightGBM took 6 s a pass on 1,250 rows); a Pipeline by its final step."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return (type(final).__module__, type(final).__name__) in TOP_CLASS_PREDICTORS and hasattr(model, "classes_")


def predict(candidate, data) -> Predictions:
    if data.logged is not None:
        return from_log(data)
    model = candidate.estimator
    start = time.perf_counter()
    proba = None
    classes: list = []
    if data.task != "regression":
        classes = model_classes(model, data.labels)
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(data.X_test), dtype=float)
    if proba is not None and predicts_top_class(model):  # predict once: its labels are the top probability's
        y_pred = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
    else:
        y_pred = np.asarray(model.predict(data.X_test))
    seconds = time.perf_counter() - start
    y_true = data.y_test.to_numpy()
    if data.task == "regression":
        y_pred = y_pred.astype(float)
        y_true = y_true.astype(float)
    probabilities = proba is None or probabilities_checked(candidate, proba)
    return Predictions(y_true=y_true, y_pred=y_pred, proba=proba, classes=classes, seconds=seconds,
                       probabilities=probabilities)


def probabilities_checked(candidate, proba: np.ndarray) -> bool:
    """Whether a model's predict_proba holds probabilities (each in [0, 1], rows summing to 1 within 1e-3, the
    tolerance logged scores get): if not, they are scores that only rank rows, and the probability-reading metrics
    (log loss, Brier score, calibration, conformal sets) are not computed, with a note on the candidate; an error
    where the model's config says they are probabilities (model.scores=probabilities)."""
    if are_probabilities(proba):
        return True
    low, high = float(np.min(proba)), float(np.max(proba))
    sums = proba.sum(axis=1)
    what = (f"values from {low:.4g} to {high:.4g}, row sums from {sums.min():.4g} to {sums.max():.4g}")
    if getattr(candidate.estimator, "scores", None) == "probabilities":
        raise UserError(f"model.scores=probabilities, but the model's probability output holds {what}; set "
                        "model.scores=logits if they are logits, or null to report them as scores that rank rows")
    candidate.notes.append(f"The model's scores are not probabilities ({what}): they rank rows, but log loss, "
                           "Brier score, calibration and conformal sets are not computed. If they are logits, "
                           "set model.scores=logits (the sigmoid or softmax then gives probabilities).")
    return False


def from_log(data) -> Predictions:
    """Predictions read from a file: the positive class's score (binary) or one score per class in label order;
    labels derived from the scores where no prediction column is given (0.5 threshold, or the top class)."""
    y_true = data.y_test.to_numpy()
    logged = data.logged
    if data.task == "regression":
        return Predictions(y_true.astype(float), np.asarray(logged.y_pred, dtype=float), None, [], 0.0,
                           weight=data.weights, cells=logged.cells)
    proba, y_pred = logged_labels(data, logged.scores, logged.y_pred, y_true.dtype)
    return Predictions(y_true, y_pred, proba, list(data.labels), 0.0, logged.probabilities, logged.threshold,
                       weight=data.weights, loss=logged.loss, sq=logged.sq)


def logged_labels(data, scores: Optional[np.ndarray], y_pred: Optional[np.ndarray], dtype) -> tuple:
    """(probabilities in the data's label order or None, predicted labels) of logged rows: the logged labels, else
    the positive class at and above the threshold (binary) or the top class."""
    labels = list(data.labels)
    proba = None
    if scores is not None:
        if data.task == "binary":
            positive = labels.index(data.positive_label)
            proba = np.empty((len(scores), 2))
            proba[:, positive], proba[:, 1 - positive] = scores[:, 0], 1 - scores[:, 0]
        else:
            proba = scores
    if y_pred is not None:
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind == "f" and dtype.kind in "iu" and np.all(np.mod(y_pred, 1) == 0):
            y_pred = y_pred.astype(dtype)
    elif data.task == "binary":
        positive = labels.index(data.positive_label)
        y_pred = np.asarray(labels, dtype=object)[np.where(proba[:, positive] >= data.logged.threshold, positive,
                                                           1 - positive)]
    else:
        y_pred = np.asarray(labels, dtype=object)[np.argmax(proba, axis=1)]
    if y_pred.dtype == object and dtype != object:
        y_pred = y_pred.astype(dtype)
    return proba, y_pred


def confidence(labels: list, proba: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Each row's probability, by its own scores, that its predicted label is right (0 for a label the scores do
    not cover): the expected accuracy's terms."""
    index = {label: i for i, label in enumerate(labels)}
    idx = np.fromiter((index.get(v, -1) for v in y_pred.tolist()), dtype=int, count=len(y_pred))
    out = proba[np.arange(len(idx)), np.maximum(idx, 0)]
    return np.where(idx >= 0, out, 0.0)
