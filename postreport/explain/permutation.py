"""Permutation importance (the drop of a score when one column is shuffled, over repeats) and the methods' agreement."""
from __future__ import annotations

import numpy as np
import pandas as pd

from postreport.run.predictions import model_classes
from postreport.stats.ranking import rank_auc


PERMUTED_CELLS = 4_000_000  # rows x columns of permuted copies predicted in one call


def permutation(model, data, rows, settings, seed: int) -> dict:
    """Permutation importance on the given test rows (settings: scoring, repeats): the drop in the score when one
    column is shuffled ("drops": columns x repeats; "mean" and "std" over the repeats). The shuffled copies of every
    column are predicted in a few large calls (the model's own threads use the cores), not one call per column and
    repeat; a scorer this does not know goes through scikit-learn's permutation_importance."""
    scoring = settings.scoring or {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}[data.task]
    if scoring == "roc_auc" and not hasattr(model, "predict_proba"):
        scoring = "accuracy"
    X = data.X_test.iloc[rows].reset_index(drop=True)
    y = data.y_test.iloc[rows].reset_index(drop=True)
    score = _direct_scorer(scoring, model, data)
    if score is None:
        from sklearn.inspection import permutation_importance

        scorer = binary_scorer(scoring, data.positive_label) if data.task == "binary" and scoring in BINARY_SCORERS \
            else scoring
        result = permutation_importance(model, X, y, scoring=scorer, n_repeats=settings.repeats, random_state=seed,
                                        n_jobs=1)
        return {"mean": result.importances_mean, "std": result.importances_std, "drops": result.importances,
                "scoring": scoring, "repeats": settings.repeats}
    rng = np.random.default_rng(seed)
    n, F = X.shape
    base = score(y, X)
    drops = np.empty((F, settings.repeats))
    per_call = max(1, PERMUTED_CELLS // max(n * F, 1))
    jobs = [(j, r) for r in range(settings.repeats) for j in range(F)]
    tiled = np.tile(np.arange(n), per_call)
    for start in range(0, len(jobs), per_call):
        chunk = jobs[start:start + per_call]
        rows_of = tiled[:len(chunk) * n]
        copies = X.iloc[rows_of].reset_index(drop=True)  # the rows once per job, each block of columns taken once
        shuffled = {}  # column -> the rows its copies read: the copy of each of its jobs shuffled
        for i, (j, r) in enumerate(chunk):
            shuffled.setdefault(j, rows_of.copy())[i * n:(i + 1) * n] = rng.permutation(n)
        for j, positions in shuffled.items():
            copies.isetitem(j, X.iloc[:, j].iloc[positions].array)  # its dtype kept (categories, integers)
        scores = score(pd.concat([y] * len(chunk), ignore_index=True), copies, n)
        for (j, r), value in zip(chunk, scores):
            drops[j, r] = base - value
    return {"mean": drops.mean(axis=1), "std": drops.std(axis=1), "drops": drops, "scoring": scoring,
            "repeats": settings.repeats}


def _direct_scorer(scoring: str, model, data):
    """score(y, X, block=None): the score on X, or one score per consecutive block of `block` rows; None for a
    scoring this does not compute itself. Accuracy, ROC AUC (rank form) and R² are computed here on arrays (a
    scikit-learn metric call costs milliseconds of checks, times features x repeats); the rest by scikit-learn."""
    import sklearn.metrics as skm

    def r2(t, p):
        t, p = np.asarray(t, dtype=float), np.asarray(p, dtype=float)
        total = float(((t - t.mean()) ** 2).sum())
        return 1.0 - float(((t - p) ** 2).sum()) / total if total > 0 else skm.r2_score(t, p)

    proba_metrics = {"roc_auc": rank_auc, "average_precision": skm.average_precision_score}
    label_metrics = {"accuracy": lambda t, p: float(np.mean(t == p)), "balanced_accuracy": skm.balanced_accuracy_score}
    if data.task == "regression":
        if scoring != "r2":
            return None
        output, metric = (lambda X: np.asarray(model.predict(X), dtype=float)), r2
    elif scoring in proba_metrics and data.task == "binary":
        column = model_classes(model).index(data.positive_label)
        positive = data.positive_label
        output = lambda X: np.asarray(model.predict_proba(X))[:, column]  # noqa: E731
        metric = lambda t, p: proba_metrics[scoring]((np.asarray(t) == positive).astype(int), p)  # noqa: E731
    elif scoring in label_metrics:
        output, metric = (lambda X: np.asarray(model.predict(X))), label_metrics[scoring]
    else:
        return None

    def score(y, X, block=None):
        out = output(X)
        truth = y.to_numpy()
        if block is None:
            return metric(truth, out)
        return [metric(truth[i:i + block], out[i:i + block]) for i in range(0, len(out), block)]

    return score


BINARY_SCORERS = ("roc_auc", "average_precision", "f1", "precision", "recall")


def binary_scorer(name: str, positive):
    """A scorer(estimator, X, y) for the positive class, whatever its label."""
    import sklearn.metrics as skm

    def score(estimator, X, y):
        truth = (np.asarray(y) == positive).astype(int)
        if name in ("roc_auc", "average_precision"):
            p = np.asarray(estimator.predict_proba(X))[:, model_classes(estimator).index(positive)]
            fn = skm.roc_auc_score if name == "roc_auc" else skm.average_precision_score
            return fn(truth, p)
        pred = (np.asarray(estimator.predict(X)) == positive).astype(int)
        return {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name](
            truth, pred, zero_division=0)

    return score


def agreement(columns, methods: dict) -> tuple:
    from scipy.stats import spearmanr

    names = list(methods)
    rho = {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = methods[names[i]], methods[names[j]]
            if np.std(a) > 0 and np.std(b) > 0:
                rho[f"{names[i]} vs {names[j]}"] = float(spearmanr(a, b).statistic)
    tops = {name: set(np.asarray(columns)[np.argsort(-v, kind="mergesort")[:3]]) for name, v in methods.items()}
    first = next(iter(tops.values()))
    message = None
    if any(t != first for t in tops.values()):
        parts = "; ".join(f"{name}: {', '.join(repr(c) for c in sorted(map(str, t)))}" for name, t in tops.items())
        message = f"The methods disagree on the top three features ({parts})."
    return rho, message
