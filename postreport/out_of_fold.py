"""Out-of-fold scores of the configured model on its training rows: what sections choose or fit things on (a
threshold, a recalibration) without looking at the test rows they are then judged on."""
from __future__ import annotations

from typing import Optional

import numpy as np

FOLDS = 5
MAX_ROWS = 20000  # out-of-fold scores on at most this many training rows (a seeded, stratified sample)


def out_of_fold_scores(ctx) -> Optional[tuple]:
    """(y 0/1, positive-class score, rows used) of the configured model on training rows it did not see (5-fold
    cross-validation, on at most MAX_ROWS rows), or None without training data or a model config to refit."""
    data = ctx.data
    if data.X_train is None or ctx.cfg.model.path or ctx.model.estimator is None or data.n_train < 10 * FOLDS:
        return None
    if int(data.y_train.value_counts().min()) < FOLDS:
        return None

    def compute():
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        from .models import make_estimator
        from .tuning import search_rows

        X, y = search_rows(data, MAX_ROWS, ctx.seed)
        estimator, _, _ = make_estimator(ctx.cfg.model, data.task, ctx.seed)
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=ctx.seed)
        proba = np.asarray(cross_val_predict(estimator, X, y, cv=folds, method="predict_proba"))
        column = np.unique(np.asarray(y)).tolist().index(data.positive_label)  # sklearn's column order: sorted
        return (np.asarray(y) == data.positive_label).astype(int), proba[:, column], len(X)

    return ctx.shared(("out-of-fold scores", ctx.cfg.model.name, ctx.seed), compute)
