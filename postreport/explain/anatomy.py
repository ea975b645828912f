"""What a model is made of, for the explanations: the final estimator, the preprocessing in front of it (and which
original column each transformed feature comes from), a LightGBM booster; the model's output as one number per row."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from postreport.models.build import BoosterModel


LINEAR_CLASSES = ("LogisticRegression", "LinearRegression", "Ridge", "Lasso", "ElasticNet", "SGDClassifier",
                  "SGDRegressor", "LinearSVC", "RidgeClassifier")


class Progress:
    """A one-line progress bar on stderr for slow steps; silent when stderr is not a terminal."""

    def __init__(self, label: str, total: int, min_seconds: float = 2.0):
        self.label, self.total, self.start = label, max(total, 1), time.perf_counter()
        self.min_seconds, self.shown = min_seconds, False
        self.enabled = sys.stderr.isatty()

    def update(self, done: int) -> None:
        if not self.enabled or time.perf_counter() - self.start < self.min_seconds:
            return
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


@dataclass
class Anatomy:
    """The parts of a model that explanations need."""

    final: object  # the estimator at the end (or a LightGBM Booster)
    preprocess: Optional[object]  # a fitted transformer in front of it (sklearn Pipeline), or None
    booster: Optional[object]  # a LightGBM Booster when the final estimator is LightGBM
    kind: str  # lightgbm | linear | tree | mlp | other

    def transformed_sources(self, columns: list) -> list:
        """For each feature the final estimator sees, the original column it comes from."""
        if self.preprocess is None:
            return list(columns)
        return source_columns(self.preprocess, columns)


def anatomy(model) -> Anatomy:
    from sklearn.pipeline import Pipeline

    if isinstance(model, BoosterModel):
        return Anatomy(model, None, model.booster, "lightgbm")
    preprocess, final = None, model
    if isinstance(model, Pipeline):
        final = model.steps[-1][1]
        preprocess = model[:-1] if len(model.steps) > 1 else None
    name = type(final).__name__
    booster = getattr(final, "booster_", None) if type(final).__module__.startswith("lightgbm") else None
    if booster is not None:
        kind = "lightgbm"
    elif name in LINEAR_CLASSES and hasattr(final, "coef_"):
        kind = "linear"
    elif hasattr(final, "feature_importances_"):
        kind = "tree"
    elif name.startswith("MLP"):
        kind = "mlp"
    else:
        kind = "other"
    return Anatomy(final, preprocess, booster, kind)


def source_columns(preprocess, columns: list) -> list:
    """Map each output feature of a fitted ColumnTransformer (possibly inside a Pipeline) to its input column;
    one-hot dummies map back to the column they encode."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    ct = preprocess
    if isinstance(ct, Pipeline):
        ct = next((s for _, s in ct.steps if isinstance(s, ColumnTransformer)), None)
    if not isinstance(ct, ColumnTransformer):
        return list(columns)
    sources: list = []
    for name, transformer, cols in ct.transformers_:
        if name == "remainder" and transformer == "drop" or len(cols) == 0:
            continue
        cols = [columns[c] if isinstance(c, (int, np.integer)) else c for c in cols]
        encoder = transformer
        if isinstance(transformer, Pipeline):
            encoder = transformer.steps[-1][1]
        categories = getattr(encoder, "categories_", None)
        if categories is not None and type(encoder).__name__ == "OneHotEncoder":
            for col, cats in zip(cols, categories):
                dropped = 0 if getattr(encoder, "drop_idx_", None) is None else 1
                sources += [col] * (len(cats) - dropped)
        else:
            sources += list(cols)
    return sources


def aggregate(values: np.ndarray, sources: list, columns: list, axis: int = -1) -> np.ndarray:
    """Sum values over transformed features that come from the same original column (axis: the feature axis)."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    index = {c: i for i, c in enumerate(columns)}
    out = np.zeros(values.shape[:-1] + (len(columns),))
    for j, source in enumerate(sources):
        out[..., index[source]] += values[..., j]
    return np.moveaxis(out, -1, axis)


def model_output(model, task: str):
    """The function explanations of a model without exact attributions explain: probabilities or the value."""
    if task == "regression":
        return lambda frame: np.asarray(model.predict(frame), dtype=float)[:, None]
    return lambda frame: np.asarray(model.predict_proba(frame), dtype=float)


def scaled_values(X: pd.DataFrame) -> np.ndarray:
    """Each numeric column ranked to 0..1 (for colouring dots by feature value); categoricals NaN."""
    out = np.full(X.shape, np.nan)
    for j, col in enumerate(X.columns):
        if pd.api.types.is_numeric_dtype(X[col]) and not isinstance(X[col].dtype, pd.CategoricalDtype):
            out[:, j] = X[col].rank(pct=True).to_numpy()
    return out
