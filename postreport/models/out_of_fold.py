"""Out-of-fold predictions: each training row predicted by a model fitted on folds that did not see it. The
sections choose or fit things on the configured model's (a threshold, a recalibration, a conformal quantile) without
looking at the test rows they are then judged on, and stacking learns its meta-model from its members'. One set of
fits per (model, parameters, folds, rows), so that stacking with the configured model as a member and the sections
share them."""
from __future__ import annotations

import hashlib
from typing import Optional

import numpy as np

from postreport.models.build import make_estimator
from postreport.models.tuning import fold_workers, set_threads, threads_for

FOLDS = 5  # postreport.planning.plan plans the rows (at most plan.OOF_MAX_ROWS) and whether they run at all


def fold_predictions(ctx, mcfg, folds: int, rows: Optional[np.ndarray] = None) -> np.ndarray:
    """cross_val_predict of the model config on the training rows (all, or those at `rows`) with `folds` seeded
    folds: probabilities in scikit-learn's class order (the sorted labels present), or values for regression."""
    data = ctx.data
    if mcfg.path:  # the configured model fitted elsewhere: its clones (out_of_fold_outputs checked they can be)
        from sklearn.base import clone

        estimator = set_threads(clone(ctx.model.estimator), ctx.n_jobs)  # the plan's threads, not its own setting
        target, params = f"given: {mcfg.path}", {}
    else:
        estimator, target, params = make_estimator(mcfg, data.task, ctx.seed)
    same = repr(sorted((k, v) for k, v in params.items() if k != "n_jobs"))  # threads do not change predictions
    key = ("out-of-fold", target, mcfg.preprocessing, same, ctx.seed, folds,
           None if rows is None else hashlib.sha1(np.ascontiguousarray(rows).tobytes()).hexdigest())

    def compute():
        from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

        split = (KFold if data.task == "regression" else StratifiedKFold)(folds, shuffle=True, random_state=ctx.seed)
        workers = fold_workers(data, folds, ctx.n_jobs)
        X, y = (data.X_train, data.y_train) if rows is None else (data.X_train.iloc[rows], data.y_train.iloc[rows])
        method = "predict" if data.task == "regression" else "predict_proba"
        return np.asarray(cross_val_predict(threads_for(estimator, workers), X, y, cv=split, method=method,
                                            n_jobs=workers), dtype=float)

    return ctx.shared(key, compute)


def out_of_fold_outputs(ctx) -> Optional[tuple]:
    """(y, output, rows used): the true labels (values) of the training rows used and the configured model's
    out-of-fold predictions for them: probabilities in the data's label order (classification) or values
    (regression); None without training data or a model to refit (a model config, or a scikit-learn estimator
    fitted elsewhere: its clones)."""
    data = ctx.data
    if data.X_train is None or ctx.model.estimator is None or data.n_train < 10 * FOLDS:
        return None
    if not ctx.plan.shape.refittable:
        return None
    if data.task != "regression" and int(data.y_train.value_counts().min()) < FOLDS:
        return None
    if ctx.plan.oof_rows is None:  # not planned (postreport.planning.plan: budget.out_of_fold_seconds)
        return None
    rows = training_sample(data, ctx.plan.oof_rows, ctx.seed)
    y = np.asarray(data.y_train if rows is None else data.y_train.iloc[rows])
    predicted = fold_predictions(ctx, ctx.cfg.model, FOLDS, rows)
    if data.task == "regression":
        return np.asarray(y, dtype=float), predicted, len(y)
    seen = np.unique(y).tolist()  # scikit-learn's column order
    out = np.zeros((len(y), len(data.labels)))
    for k, label in enumerate(data.labels):
        if label in seen:
            out[:, k] = predicted[:, seen.index(label)]
    return y, out, len(y)


def training_sample(data, size: int, seed: int) -> Optional[np.ndarray]:
    """A seeded sample of `size` training row positions (stratified by class for classification), or None for all
    of them."""
    return None if size >= data.n_train else sample_indices(data, size, seed)


def sample_indices(data, size: int, seed: int) -> np.ndarray:
    """A seeded sample of `size` training row positions, stratified by class for classification."""
    from sklearn.model_selection import train_test_split

    y = data.y_train
    stratify = y if data.task != "regression" and y.value_counts().min() >= 2 else None
    chosen, _ = train_test_split(np.arange(data.n_train), train_size=size, stratify=stratify, random_state=seed)
    return np.sort(chosen)


def out_of_fold_scores(ctx) -> Optional[tuple]:
    """Binary: (y 0/1, the positive class's out-of-fold probability, rows used), or None."""
    oof = out_of_fold_outputs(ctx)
    if oof is None:
        return None
    y, proba, rows = oof
    positive = list(ctx.data.labels).index(ctx.data.positive_label)
    return (y == ctx.data.positive_label).astype(int), proba[:, positive], rows
