"""Out-of-fold predictions of the configured model on its training rows: what sections choose or fit things on (a
threshold, a recalibration, a conformal quantile) without looking at the test rows they are then judged on."""
from __future__ import annotations

from typing import Optional

import numpy as np

FOLDS = 5
MAX_ROWS = 20000  # out-of-fold predictions on at most this many training rows (a seeded, stratified sample)


def out_of_fold_outputs(ctx) -> Optional[tuple]:
    """(y, output, rows used): the true labels (values) of the training rows used and the configured model's
    predictions for them from the folds that did not see them: probabilities in the data's label order
    (classification) or values (regression); None without training data or a model config to refit."""
    data = ctx.data
    if data.X_train is None or ctx.cfg.model.path or ctx.model.estimator is None or data.n_train < 10 * FOLDS:
        return None
    if data.task != "regression" and int(data.y_train.value_counts().min()) < FOLDS:
        return None

    def compute():
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

        from .models import make_estimator
        from .tuning import search_rows

        X, y = search_rows(data, MAX_ROWS, ctx.seed)
        estimator, _, _ = make_estimator(ctx.cfg.model, data.task, ctx.seed)
        split = (KFold if data.task == "regression" else StratifiedKFold)(FOLDS, shuffle=True, random_state=ctx.seed)
        if data.task == "regression":
            return np.asarray(y, dtype=float), np.asarray(cross_val_predict(estimator, X, y, cv=split), float), len(X)
        proba = np.asarray(cross_val_predict(estimator, X, y, cv=split, method="predict_proba"), dtype=float)
        seen = np.unique(np.asarray(y)).tolist()  # sklearn's column order
        out = np.zeros((len(X), len(data.labels)))
        for k, label in enumerate(data.labels):
            if label in seen:
                out[:, k] = proba[:, seen.index(label)]
        return np.asarray(y), out, len(X)

    return ctx.shared(("out-of-fold outputs", ctx.cfg.model.name, ctx.seed), compute)


def out_of_fold_scores(ctx) -> Optional[tuple]:
    """Binary: (y 0/1, the positive class's out-of-fold probability, rows used), or None."""
    oof = out_of_fold_outputs(ctx)
    if oof is None:
        return None
    y, proba, rows = oof
    positive = list(ctx.data.labels).index(ctx.data.positive_label)
    return (y == ctx.data.positive_label).astype(int), proba[:, positive], rows
