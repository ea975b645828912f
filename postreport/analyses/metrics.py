"""Headline metrics for binary, multiclass and regression, through scikit-learn's metric functions."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..report.model import Estimate, Note, Table
from .base import Analysis

CLASSIFICATION = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc",
                  "average_precision", "log_loss", "brier", "mcc")
MULTICLASS_EXTRA = ("f1_weighted", "f1_micro")
REGRESSION = ("mae", "rmse", "r2", "mape", "median_ae", "max_error")
PROBABILISTIC = ("roc_auc", "average_precision", "log_loss", "brier")

DESCRIPTIONS = {
    "accuracy": ("Accuracy", "share of test rows predicted correctly", True),
    "balanced_accuracy": ("Balanced accuracy", "mean recall over classes; robust to class imbalance", True),
    "precision": ("Precision", "share of the rows predicted {pos} that truly are {pos}", True),
    "recall": ("Recall", "share of the truly {pos} rows that the model finds", True),
    "f1": ("F1", "harmonic mean of precision and recall", True),
    "f1_weighted": ("F1 (weighted)", "per-class F1 averaged with class support as weights", True),
    "f1_micro": ("F1 (micro)", "F1 over all decisions pooled; equals accuracy for single-label data", True),
    "roc_auc": ("ROC AUC", "probability that a random positive is scored above a random negative", True),
    "average_precision": ("Average precision", "area under the precision-recall curve", True),
    "log_loss": ("Log loss", "mean negative log-likelihood of the true class", False),
    "brier": ("Brier score", "mean squared error of the predicted probabilities", False),
    "mcc": ("Matthews corr. coef.", "correlation of predicted and true labels, -1 to 1", True),
    "mae": ("MAE", "mean absolute error", False),
    "rmse": ("RMSE", "root mean squared error", False),
    "r2": ("R²", "share of the target's variance explained", True),
    "mape": ("MAPE", "mean absolute percentage error (as a fraction)", False),
    "median_ae": ("Median AE", "median absolute error", False),
    "max_error": ("Max error", "largest absolute error", False),
}


@dataclass
class MetricsResult:
    task: str
    values: dict  # name -> float or None (undefined for this data)
    averaging: str
    notes: list = field(default_factory=list)
    positive: object = None
    ci: dict = field(default_factory=dict)  # name -> [low, high] or None
    ci_level: Optional[float] = None
    ci_resamples: int = 0

    def to_json(self) -> dict:
        payload: dict = {}
        for name, value in self.values.items():
            payload[name] = value
            if self.ci_level is not None:
                payload[f"{name}_ci"] = self.ci.get(name)
        return {**payload, "ci_level": self.ci_level, "ci_resamples": self.ci_resamples,
                "averaging": self.averaging, "notes": list(self.notes)}


def binary_metrics(y_bin, pred_bin, score, positive, order=None) -> MetricsResult:
    """Binary metrics of the positive class, vectorised with the same formulas as the bootstrap resamples
    (tested against scikit-learn); a metric the data cannot define is None with a note."""
    from ..bootstrap import binary_point

    notes: list = []
    n_pos = int(y_bin.sum())
    one_class = n_pos in (0, len(y_bin))
    raw = binary_point(y_bin, pred_bin, None if one_class else score, order)
    if score is None:
        notes.append("The model gives no probabilities, so ROC AUC, average precision, log loss and Brier "
                     "score are not computed.")
    elif one_class:
        clipped = np.clip(score, np.finfo(float).eps, 1 - np.finfo(float).eps)
        raw["log_loss"] = float(-np.mean(y_bin * np.log(clipped) + (1 - y_bin) * np.log(1 - clipped)))
        raw["brier"] = float(np.mean((y_bin - score) ** 2))
        notes.append("ROC AUC and average precision are undefined: the test set holds one class only.")
    values = {}
    for name in CLASSIFICATION:
        value = raw.get(name)
        values[name] = None if value is None or not math.isfinite(value) else value
    if values["precision"] is None:
        notes.append(f"Precision is undefined: the model predicted no row as {positive!r}.")
    if n_pos == 0:
        notes.append(f"Recall is undefined: the test set has no row of the positive class {positive!r}.")
    if values["roc_auc"] is not None and values["roc_auc"] < 0.5:
        notes.append(f"ROC AUC is below 0.5: the scores rank the classes the wrong way round. Are they the "
                     f"probability of the positive class {positive!r}? If not, set data.positive_label.")
    return MetricsResult(task="binary", values=values, averaging=f"binary, positive class {positive!r}",
                         notes=notes, positive=positive)


def classification_metrics(y_true, y_pred, proba, classes, labels, task, positive=None) -> MetricsResult:
    """All classification metrics of DESIGN.md; a metric the data cannot define is None with a note."""
    if task == "binary":
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        score = proba[:, classes.index(positive)] if proba is not None and positive in classes else None
        return binary_metrics((y_true == positive).astype(int), (y_pred == positive).astype(int), score, positive)
    import sklearn.metrics as skm

    values: dict = {}
    notes: list = []

    def attempt(name, fn):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = float(fn())
        except ValueError as exc:
            notes.append(f"{DESCRIPTIONS[name][0]} is undefined here: {exc}")
            value = None
        if value is not None and not math.isfinite(value):
            value = None
        values[name] = value

    present = set(np.unique(y_true).tolist())
    onehot = (np.asarray(y_true)[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(float)
    prf = dict(labels=labels, average="macro", zero_division=np.nan)
    attempt("accuracy", lambda: skm.accuracy_score(y_true, y_pred))
    attempt("balanced_accuracy", lambda: skm.balanced_accuracy_score(y_true, y_pred))
    attempt("precision", lambda: skm.precision_score(y_true, y_pred, **prf))
    attempt("recall", lambda: skm.recall_score(y_true, y_pred, **prf))
    attempt("f1", lambda: skm.f1_score(y_true, y_pred, **prf))
    attempt("f1_weighted", lambda: skm.f1_score(y_true, y_pred, labels=labels, average="weighted",
                                                zero_division=np.nan))
    attempt("f1_micro", lambda: skm.f1_score(y_true, y_pred, labels=labels, average="micro"))
    if proba is None:
        for name in PROBABILISTIC:
            values[name] = None
        notes.append("The model gives no probabilities, so ROC AUC, average precision, log loss and Brier "
                     "score are not computed.")
    else:
        missing = [c for c in classes if c not in present]
        if missing:
            values["roc_auc"] = values["average_precision"] = None
            notes.append(f"ROC AUC and average precision (one-vs-rest, macro) are undefined: classes {missing} "
                         "do not occur in the test set.")
        else:
            attempt("roc_auc", lambda: skm.roc_auc_score(y_true, proba, multi_class="ovr", average="macro",
                                                         labels=classes))
            attempt("average_precision", lambda: skm.average_precision_score(onehot, proba, average="macro"))
        unknown = present - set(classes)
        if unknown:
            values["log_loss"] = values["brier"] = None
            notes.append(f"Log loss and Brier score are undefined: test labels {sorted(unknown, key=str)} are not "
                         "among the model's classes.")
        else:
            attempt("log_loss", lambda: skm.log_loss(y_true, proba, labels=classes))
            attempt("brier", lambda: np.mean(np.sum((onehot - proba) ** 2, axis=1)))
    attempt("mcc", lambda: skm.matthews_corrcoef(y_true, y_pred))
    order = CLASSIFICATION + MULTICLASS_EXTRA
    return MetricsResult(task=task, values={k: values[k] for k in order}, averaging="macro average over classes",
                         notes=notes, positive=positive)


def regression_metrics(y_true, y_pred) -> MetricsResult:
    import sklearn.metrics as skm

    notes = []
    values = {
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) >= 2 else None,
        "mape": None,
        "median_ae": float(skm.median_absolute_error(y_true, y_pred)),
        "max_error": float(skm.max_error(y_true, y_pred)),
    }
    if np.any(y_true == 0):
        notes.append("MAPE is undefined: some true values are 0.")
    else:
        values["mape"] = float(skm.mean_absolute_percentage_error(y_true, y_pred))
    if values["r2"] is not None and not math.isfinite(values["r2"]):
        values["r2"] = None
        notes.append("R² is undefined: the true values are constant.")
    return MetricsResult(task="regression", values=values, averaging="", notes=notes)


class MetricsAnalysis(Analysis):
    name = "metrics"
    title = "Evaluation metrics"
    lead = "How well the model predicts the held-out test set."

    def compute(self, ctx, settings) -> MetricsResult:
        from ..evaluation import test_intervals

        p, data = ctx.pred, ctx.data
        if data.task == "regression":
            result = regression_metrics(p.y_true, p.y_pred)
        elif data.task == "binary":
            enc = ctx.encoded
            result = binary_metrics(enc.y_bin, enc.pred_bin, enc.score, data.positive_label, enc.score_order)
        else:
            result = classification_metrics(p.y_true, p.y_pred, p.proba, p.classes, data.labels, data.task,
                                            data.positive_label)
        intervals = test_intervals(ctx)
        if intervals is not None:
            result.ci_level, result.ci_resamples = intervals.level, intervals.resamples
            result.ci = {name: intervals.interval(name) if value is not None else None
                         for name, value in result.values.items()}
            result.notes += intervals.notes
        return result

    def items(self, result: MetricsResult) -> list:
        rows = []
        for name, value in result.values.items():
            label, meaning, higher = DESCRIPTIONS[name]
            if result.task == "multiclass" and name in ("precision", "recall", "f1"):
                meaning = f"per-class {label.lower()}, averaged over classes with equal weight (macro)"
            meaning = meaning.format(pos=repr(result.positive))
            rows.append([label, Estimate(value, result.ci.get(name)), "higher" if higher else "lower", meaning])
        caption = "Computed on the test set"
        if result.ci_level is not None:
            caption += (f"; in brackets the {result.ci_level:.0%} bootstrap confidence interval "
                        f"({result.ci_resamples:,} resamples, stratified by class" if result.task != "regression"
                        else f"; in brackets the {result.ci_level:.0%} bootstrap confidence interval "
                        f"({result.ci_resamples:,} resamples")
            caption += ")"
        if result.averaging:
            caption += f"; precision, recall and F1 are {result.averaging}"
        value_column = "Value" if result.ci_level is None else f"Value [{result.ci_level:.0%} CI]"
        items = [Table(columns=["Metric", value_column, "Better", "What it measures"], rows=rows,
                       caption=caption + ".")]
        items += [Note(n, "warning") for n in result.notes]
        return items
