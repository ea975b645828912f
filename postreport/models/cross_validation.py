"""Cross-validation (cv: k, or a scikit-learn splitter handed over by postreport.evaluate): each model cloned and
fitted once per fold on the other folds' rows, its fold's rows predicted. The report then reads the out-of-fold
predictions (every row predicted by the fold model that did not see it) as a test set's; the folds' own metrics,
times and importances go to the cross-validation section."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from postreport.data.held import held, is_held
from postreport.errors import UserError
from postreport.run.predictions import Predictions, model_classes, predicts_top_class


@dataclass
class Fold:
    rows: np.ndarray  # the fold's test rows (indices into the data's rows)
    train_rows: int
    fit_seconds: float
    predict_seconds: float
    metrics: dict  # name -> value on the fold's rows (the report's formulas)
    importance: Optional[np.ndarray] = None  # the fold model's own importance per column (shares), if it has one


@dataclass
class CrossValidation:
    splitter: str  # how the rows were split, in words
    k: int
    n_rows: int
    folds: dict = field(default_factory=dict)  # model name -> [Fold]
    importance_kind: Optional[str] = None
    columns: list = field(default_factory=list)
    covered: Optional[np.ndarray] = None  # the rows some fold tests (all, but for TimeSeriesSplit's first ones)


def splitter_of(cv, task: str, seed: int) -> tuple:
    """(splitter, groups, words) for cv: a number of folds (stratified for classes, shuffled with the run's seed), or
    a held (splitter, groups) pair from postreport.evaluate."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if is_held(cv):
        splitter, groups = held(cv, "cv")
        return splitter, groups, f"{type(splitter).__name__}" + (
            f"(n_splits={splitter.get_n_splits()})" if hasattr(splitter, "get_n_splits") and groups is None
            else "") + (" with groups" if groups is not None else "")
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise UserError(f"cv={cv!r} must be a number of folds, 2 or more (or null: a held-out test set)")
    if task == "regression":
        return KFold(cv, shuffle=True, random_state=seed), None, f"KFold({cv}, shuffled, seed {seed})"
    return StratifiedKFold(cv, shuffle=True, random_state=seed), None, f"StratifiedKFold({cv}, shuffled, seed {seed})"


def folds_of(cv) -> int:
    """The number of folds cv makes (a held splitter's own count; GroupKFold and the like: their n_splits)."""
    if is_held(cv):
        splitter, groups = held(cv, "cv")
        return int(getattr(splitter, "n_splits", None) or splitter.get_n_splits(None, None, groups))
    return int(cv) if isinstance(cv, int) and not isinstance(cv, bool) and cv >= 2 else 2


def cross_validate(models: dict, data, cv, seed: int, threads: int) -> tuple:
    """models: name -> an estimator to clone and fit per fold, one fold after another, each fit on `threads` (the
    plan's for the folds' rows: postreport.planning.plan._cross_validation says why not processes). Returns
    (CrossValidation, {name: out-of-fold Predictions of every row}). The folds of every model are the same rows."""
    from sklearn.base import clone

    from postreport.explain.anatomy import anatomy
    from postreport.explain.attributions import native_importance
    from postreport.models.tuning import set_threads

    splitter, groups, words = splitter_of(cv, data.task, seed)
    X, y = data.X_test, data.y_test
    try:
        splits = list(splitter.split(X, y, groups))
    except ValueError as exc:
        raise UserError(f"cv: {words} cannot split these {len(y):,} rows: {exc}") from None
    if len(splits) < 2:
        raise UserError(f"cv: {words} makes {len(splits)} fold(s); cross-validation needs 2 or more")
    tested = np.concatenate([test for _, test in splits])
    if len(np.unique(tested)) < len(tested):
        raise UserError(f"cv: {words} puts some rows in more than one test fold (a repeated splitter); each row needs "
                        "one out-of-fold prediction: give one repetition")
    covered = np.unique(tested)  # TimeSeriesSplit: the first rows are only ever training rows
    columns = [str(c) for c in X.columns]
    result = CrossValidation(splitter=words, k=len(splits), n_rows=len(covered), columns=columns, covered=covered)
    out = {}
    for name, estimator in models.items():
        try:
            base = set_threads(clone(estimator), threads)  # the plan's threads for the folds' rows
        except Exception as exc:
            raise UserError(f"cv: the model {name!r} ({type(estimator).__name__}) cannot be fitted again "
                            f"(scikit-learn's clone: {exc}); cross-validation needs an estimator it can "
                            "refit") from None

        def one(train, test, base=base):
            fitted = clone(base)
            start = time.perf_counter()
            fitted.fit(X.iloc[train], y.iloc[train])
            fit = time.perf_counter() - start
            start = time.perf_counter()
            proba = None
            if data.task != "regression" and hasattr(fitted, "predict_proba"):
                proba = np.asarray(fitted.predict_proba(X.iloc[test]), dtype=float)
            if proba is not None and predicts_top_class(fitted):
                predicted = np.asarray(fitted.classes_)[np.argmax(proba, axis=1)]
            else:
                predicted = np.asarray(fitted.predict(X.iloc[test]))
            return fitted, fit, time.perf_counter() - start, predicted, proba

        try:
            runs = [one(train, test) for train, test in splits]
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"cv: the model {name!r} could not be fitted on a fold: {type(exc).__name__}: "
                            f"{str(exc).strip()[:500]}") from None
        out[name], result.folds[name] = out_of_fold(data, splits, runs, covered)
        kinds = []
        for fold, (fitted, *_rest) in zip(result.folds[name], runs):
            native = native_importance(anatomy(fitted), columns)
            if native:
                kind = next(iter(native["values"]))
                values = np.abs(np.asarray(native["values"][kind], dtype=float))
                fold.importance = values / values.sum() if values.sum() > 0 else values
                kinds.append(kind)
        result.importance_kind = result.importance_kind or (kinds[0] if kinds else None)
    return result, out


def out_of_fold(data, splits: list, runs: list, covered: np.ndarray) -> tuple:
    """The prediction of every row in a test fold (`covered`, in order) by its fold's model (probabilities in the
    data's label order), and the folds."""
    from postreport.stats.encoding import encode
    from postreport.stats.metrics import point_metrics

    n, labels = len(covered), list(data.labels)
    at = np.full(len(data.y_test), -1)
    at[covered] = np.arange(n)  # a row's place among the covered rows
    regression = data.task == "regression"
    y_all = data.y_test.to_numpy()
    y_true = y_all[covered]
    y_pred = np.empty(n, dtype=float if regression else object)
    proba = None if regression or any(r[4] is None for r in runs) else np.zeros((n, len(labels)))
    folds = []
    for (train, test), (fitted, fit, predict, predicted, p) in zip(splits, runs):
        y_pred[at[test]] = predicted
        fold_proba = None
        if proba is not None:  # a class absent from a fold's training rows: probability 0 there
            fold_proba = np.zeros((len(test), len(labels)))
            for j, c in enumerate(model_classes(fitted)):
                if c in labels:
                    fold_proba[:, labels.index(c)] = p[:, j]
            proba[at[test]] = fold_proba
        fold_pred = Predictions(y_true=y_all[test].astype(float) if regression else y_all[test],
                                y_pred=np.asarray(predicted, dtype=float) if regression else predicted,
                                proba=fold_proba, classes=labels, seconds=predict)
        enc = None if regression else encode(data, fold_pred)
        values = point_metrics(data, fold_pred, enc).values
        folds.append(Fold(rows=np.asarray(test), train_rows=len(train), fit_seconds=fit, predict_seconds=predict,
                          metrics={k: v for k, v in values.items() if v is not None}))
    if not regression:
        y_pred = np.asarray(y_pred.tolist())
    predictions = Predictions(y_true=y_true.astype(float) if regression else y_true, y_pred=y_pred, proba=proba,
                              classes=labels, seconds=sum(f.predict_seconds for f in folds))
    return predictions, folds
