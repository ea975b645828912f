"""Partial dependence curves: the mean prediction as one feature moves over a grid, the other columns as they are."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from postreport.stats.sampling import sample_rows


def partial_dependence_curves(model, data, rows, features: list, settings, seed: int,
                              notes: list) -> list:
    """Partial dependence (average) and ICE lines: scikit-learn's brute-force method with every grid value's rows
    predicted in one call (numeric features, binary or regression), else sklearn's partial_dependence."""
    from sklearn.inspection import partial_dependence

    X = data.X_test.iloc[rows].reset_index(drop=True)
    ice_rows = sample_rows(len(X), settings.ice_lines, seed + 2)
    out = []
    for feature in features:
        categorical = isinstance(X[feature].dtype, pd.CategoricalDtype)
        kind = "average" if categorical or data.task == "multiclass" else "both"
        try:
            pd_result = (batched_partial_dependence(model, X, feature, settings.grid, data.task) if kind == "both"
                         else None)
            if pd_result is None:
                pd_result = partial_dependence(model, X, [feature], kind=kind, grid_resolution=settings.grid,
                                               categorical_features=[feature] if categorical else None,
                                               response_method="auto")
        except (ValueError, TypeError) as exc:
            notes.append(f"No partial dependence for {feature!r}: {exc}")
            continue
        grid = pd_result["grid_values"][0]
        average = pd_result["average"]  # (n_outputs, G)
        entry = {"feature": feature, "grid": [str(g) for g in grid] if categorical else np.asarray(grid, float),
                 "categorical": categorical, "average": average}
        if kind == "both":
            entry["ice"] = pd_result["individual"][0][ice_rows]
        out.append(entry)
    return out


PERCENTILES = (0.05, 0.95)  # scikit-learn's default grid range


def batched_partial_dependence(model, X: pd.DataFrame, feature, grid_resolution: int, task: str) -> Optional[dict]:
    """What sklearn.inspection.partial_dependence(kind="both", method="brute") gives for one numeric feature (the
    same grid: the unique values when fewer than grid_resolution, else evenly spaced between the 5th and 95th
    percentiles; binary: the positive class's probability), with the rows of every grid value predicted in one
    call instead of one call per value. None where this does not apply (missing values, a model without
    predict_proba): the caller asks scikit-learn."""
    from scipy.stats.mstats import mquantiles

    values = X[feature].to_numpy()
    if not np.issubdtype(values.dtype, np.number) or np.isnan(values.astype(float)).any():
        return None
    if task != "regression" and not hasattr(model, "predict_proba"):
        return None
    uniques = np.unique(values)
    if uniques.shape[0] < grid_resolution:
        axis = uniques
    else:
        low, high = mquantiles(values, prob=PERCENTILES, axis=0)
        if np.allclose(low, high):
            raise ValueError("percentiles are too close to each other, unable to build the grid")
        axis = np.linspace(low, high, num=grid_resolution, endpoint=True)
    n, G = len(X), len(axis)
    stacked = pd.concat([X] * G, ignore_index=True)
    stacked[feature] = np.repeat(axis, n)
    if task == "regression":
        output = np.asarray(model.predict(stacked), dtype=float)
    else:
        output = np.asarray(model.predict_proba(stacked))[:, 1]  # binary: the positive (second) class, as sklearn
    predictions = output.reshape(G, n)
    return {"grid_values": [axis], "average": np.average(predictions, axis=1)[None, :],
            "individual": predictions.T[None, :, :]}
