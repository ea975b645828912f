"""Explanations, computed: what a model is made of, attributions per row (exact TreeSHAP for LightGBM, exact
contributions for linear models, sampling Shapley values for any other model), native and permutation importance,
the methods' agreement, partial dependence, occlusion and gradient saliency. The analyses in
`analyses/importance.py` and `analyses/saliency.py` turn these into report items."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, fields
from typing import ClassVar, Optional

import numpy as np
import pandas as pd

from postreport.stats.bootstrap import Cells, resample_counts
from postreport.errors import UserError, at_least
from postreport.models.build import BoosterModel
from postreport.run.predictions import model_classes
from postreport.stats.sampling import sample_rows
from postreport.stats.intervals import percentile_bounds
from postreport.stats.ranking import rank_auc

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


# ------------------------------------------------------------------------------------------------ model anatomy

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


# ------------------------------------------------------------------------------------------------ attributions

@dataclass
class AttributionSettings:
    """How attributions are computed; the importance and saliency sections share them when these agree."""

    sample_size: int = 2000  # test rows (a seeded sample) explained, and used for permutation importance
    shap_rows: int = 100  # rows explained when attributions are estimated by sampling (models without exact ones)
    permutations: int = 8  # feature orders per row for the sampling estimate
    background: int = 50  # background rows for the sampling estimate and linear contributions
    max_seconds: Optional[float] = 15.0  # planned seconds: permutation, partial dependence and TreeSHAP each use the
    # rows planned to fit a third of it (from the model's size and the data's shape; at least MIN_ROWS); null: all

    SECTION: ClassVar[str] = "feature_importance"  # the section whose settings these are, for error messages

    def __post_init__(self):
        for key in ("sample_size", "shap_rows", "permutations", "background"):
            at_least(f"analyses.{self.SECTION}.{key}", getattr(self, key), 1)
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise UserError(f"analyses.{self.SECTION}.max_seconds={self.max_seconds:g} must be positive (or null: "
                            "no limit)")


MIN_ROWS = 200  # fewest rows a costly pass is cut to


def explained(ctx, candidate, settings: AttributionSettings) -> "Attributions":
    """A candidate's attributions on a seeded sample of test rows, computed once per candidate and settings: every
    section that asks with the same settings gets the same object, whatever the section order."""
    key = ("attributions", candidate.name) + tuple(getattr(settings, f.name) for f in fields(AttributionSettings))
    data = ctx.data
    rows = sample_rows(data.n_test, settings.sample_size, ctx.seed)
    keep = ctx.plan.rows_for(settings)["attributions"]  # planned from the shape, never timed
    return ctx.shared(key, lambda: attributions(candidate.estimator, anatomy(candidate.estimator), data, rows,
                                                settings, ctx.seed, keep))


@dataclass
class Attributions:
    """Per-row contributions of each original column, and what they are contributions to."""

    values: np.ndarray  # (n, F) or (n, F, K) for multiclass
    base: np.ndarray  # expected value: () / (K,)
    rows: np.ndarray  # indices into the test set of the explained rows
    method: str
    output: str  # what the contributions add up to, e.g. "log-odds of 'malignant'"
    exact: bool


def output_name(task: str, positive=None) -> str:
    return {"binary": f"the model's raw score (log-odds) of {positive!r}", "multiclass": "each class's raw score",
            "regression": "the predicted value"}[task]


def tree_shap(an: Anatomy, X: pd.DataFrame, task: str) -> tuple:
    """Exact TreeSHAP through LightGBM's own pred_contrib: contributions and expected value."""
    data = X if an.preprocess is None else an.preprocess.transform(X)
    contrib = np.asarray(an.booster.predict(data, pred_contrib=True))
    if task == "multiclass":
        K = an.booster.num_model_per_iteration()
        contrib = contrib.reshape(len(X), K, -1).transpose(0, 2, 1)  # (n, F+1, K)
        return contrib[:, :-1, :], contrib[:, -1, :].mean(axis=0)
    return contrib[:, :-1], contrib[:, -1].mean()


def linear_contributions(an: Anatomy, X: pd.DataFrame, background: pd.DataFrame, task: str) -> tuple:
    """Exact contributions of a linear model to its decision function: coef * (x - mean of the background)."""
    transform = (lambda d: d) if an.preprocess is None else an.preprocess.transform
    Z = np.asarray(transform(X), dtype=float)
    mean = np.asarray(transform(background), dtype=float).mean(axis=0)
    coef = np.atleast_2d(an.final.coef_)
    intercept = np.atleast_1d(an.final.intercept_)
    phi = (Z - mean)[:, :, None] * coef.T[None, :, :]  # (n, F, K)
    base = intercept + mean @ coef.T
    if phi.shape[2] == 1:
        return phi[:, :, 0], base[0]
    return phi, base


def sampling_shapley(predict, X: pd.DataFrame, background: pd.DataFrame, permutations: int, seed: int,
                     progress: Optional[Progress] = None) -> tuple:
    """Shapley values by permutation sampling (Strumbelj & Kononenko, 2014), for any model.

    For each explained row and each random feature order, features switch one at a time from a random background
    row's values to the row's own; each feature's value is its average change in the prediction. `predict` maps a
    DataFrame to an (m, K) array. Every order's contributions add up exactly to f(x) - f(background row).
    """
    rng = np.random.default_rng(seed)
    n, F = X.shape
    orders = np.argsort(rng.random((n, permutations, F)), axis=2)  # (n, M, F)
    bg_rows = rng.integers(0, len(background), size=(n, permutations))
    ranks = np.argsort(orders, axis=2)  # rank of each feature in its order
    steps = np.arange(F + 1)
    phi = None
    base_sum, count = 0.0, 0
    batch = max(1, 20000 // ((F + 1) * permutations))
    for start in range(0, n, batch):
        idx = np.arange(start, min(n, start + batch))
        # mask[i, m, k, j]: feature j comes from the explained row at step k of order m
        mask = ranks[idx][:, :, None, :] < steps[None, None, :, None]
        frame = _mix(X, background, idx, bg_rows[idx], mask.reshape(-1, F))
        f = np.asarray(predict(frame), dtype=float).reshape(len(idx), permutations, F + 1, -1)
        diff = np.diff(f, axis=2)  # (b, M, F, K): the change as feature orders[..., k] switches
        contrib = np.zeros((len(idx), permutations, F, f.shape[3]))
        np.put_along_axis(contrib, orders[idx][:, :, :, None], diff, axis=2)
        block = contrib.mean(axis=1)
        phi = block if phi is None else np.concatenate([phi, block])
        base_sum += f[:, :, 0, :].sum(axis=(0, 1))
        count += len(idx) * permutations
        if progress:
            progress.update(min(n, start + batch))
    base = base_sum / count
    if phi.shape[2] == 1:
        return phi[:, :, 0], base[0]
    return phi, base


def _mix(X: pd.DataFrame, background: pd.DataFrame, rows: np.ndarray, bg: np.ndarray, mask: np.ndarray):
    """Rows that take column j from X.iloc[row] where mask[:, j], else from background.iloc[bg row]."""
    reps = mask.shape[0] // (len(rows) * bg.shape[1])
    row_of = np.repeat(rows, bg.shape[1] * reps)
    bg_of = np.repeat(bg.ravel(), reps)
    out = {}
    for j, col in enumerate(X.columns):
        own, other = X[col].iloc[row_of], background[col].iloc[bg_of]
        if isinstance(X[col].dtype, pd.CategoricalDtype):
            codes = np.where(mask[:, j], own.cat.codes.to_numpy(), other.cat.codes.to_numpy())
            out[col] = pd.Categorical.from_codes(codes, dtype=X[col].dtype)
        else:
            out[col] = np.where(mask[:, j], own.to_numpy(dtype=float), other.to_numpy(dtype=float))
    return pd.DataFrame(out)


def model_output(model, task: str):
    """The function explanations of a model without exact attributions explain: probabilities or the value."""
    if task == "regression":
        return lambda frame: np.asarray(model.predict(frame), dtype=float)[:, None]
    return lambda frame: np.asarray(model.predict_proba(frame), dtype=float)


# ------------------------------------------------------------------------------------------------ importance

def scaled_values(X: pd.DataFrame) -> np.ndarray:
    """Each numeric column ranked to 0..1 (for colouring dots by feature value); categoricals NaN."""
    out = np.full(X.shape, np.nan)
    for j, col in enumerate(X.columns):
        if pd.api.types.is_numeric_dtype(X[col]) and not isinstance(X[col].dtype, pd.CategoricalDtype):
            out[:, j] = X[col].rank(pct=True).to_numpy()
    return out


STABILITY_RESAMPLES = 500  # resamples of the explained rows (each one matrix product)
STABLE_SHARE = 0.9  # a top feature is stable when it is in the top 3 in at least this share of resamples


def stability(values: np.ndarray, columns: list, boot, seed: int, shown: int = 10) -> dict:
    """How stable the importance ranking is over bootstrap resamples of the explained rows: each feature's mean
    |attribution| and rank with intervals, the share of resamples in which it is in the top 3 / top 5, and the share
    with the same top-3 / top-5 set as all the rows."""
    magnitude = np.abs(values).mean(axis=2) if values.ndim == 3 else np.abs(values)
    n, F = magnitude.shape
    full = magnitude.mean(axis=0)
    order = np.argsort(-full, kind="mergesort")
    rank_of = np.empty(F, dtype=int)
    rank_of[order] = np.arange(1, F + 1)
    cells = Cells(stratum=np.zeros(n, dtype=int), count=np.ones(n, dtype=int), exact=True)
    draws = min(boot.resamples, STABILITY_RESAMPLES)
    imp = np.concatenate([W @ magnitude / n for W in resample_counts(cells, draws, seed)])  # (B, F)
    ranks = np.argsort(np.argsort(-imp, axis=1, kind="mergesort"), axis=1) + 1

    def same_top(k):
        top = set(order[:k].tolist())
        return float(np.mean([set(np.argsort(-row, kind="mergesort")[:k].tolist()) == top for row in imp]))

    features = []
    for j in order[:shown]:
        low, high = percentile_bounds(imp[:, j], boot.level)
        rlow, rhigh = percentile_bounds(ranks[:, j], boot.level)
        features.append({"feature": columns[j], "importance": float(full[j]), "importance_ci": [low, high],
                         "rank": int(rank_of[j]), "rank_ci": [int(np.floor(rlow)), int(np.ceil(rhigh))],
                         "top3_share": float(np.mean(ranks[:, j] <= 3)), "top5_share": float(np.mean(ranks[:, j] <= 5))})
    stable = [f["feature"] for f in features[:3] if f["top3_share"] >= STABLE_SHARE]
    return {"resamples": draws, "rows": n, "level": boot.level, "features": features,
            "top3_same": same_top(min(3, F)), "top5_same": same_top(min(5, F)), "stable_top": stable}


def native_importance(an, columns: list) -> Optional[dict]:
    if an.kind == "lightgbm":
        sources = an.transformed_sources(columns) if an.preprocess is not None else columns
        gain = an.booster.feature_importance("gain")
        split = an.booster.feature_importance("split")
        return {"kind": "LightGBM gain and split counts",
                "values": {"gain": aggregate(gain, sources, columns), "split": aggregate(split, sources, columns)}}
    if an.kind == "tree":
        sources = an.transformed_sources(columns)
        return {"kind": "impurity decrease (mean over trees)",
                "values": {"impurity": aggregate(an.final.feature_importances_, sources, columns)}}
    if an.kind == "linear":
        sources = an.transformed_sources(columns)
        coef = np.abs(np.atleast_2d(an.final.coef_)).mean(axis=0)
        scaled = "on standardised inputs" if an.preprocess is not None else "on raw inputs"
        return {"kind": f"|coefficient| {scaled}", "values": {"abs_coef": aggregate(coef, sources, columns)}}
    return None


def attributions(model, an: Anatomy, data, rows: np.ndarray, settings: AttributionSettings, seed: int,
                 keep: Optional[int] = None):
    """Attributions of the test rows at `rows`: exact where the model allows (TreeSHAP on `keep` of them, a seeded
    sample, as the plan sized it), else the sampling estimate on the first settings.shap_rows."""
    X = data.X_test.iloc[rows].reset_index(drop=True)
    columns = list(data.X_test.columns)
    source = data.X_train if data.X_train is not None else data.X_test
    background = source.iloc[sample_rows(len(source), settings.background, seed + 1)].reset_index(drop=True)
    output = output_name(data.task, data.positive_label)
    if an.kind == "lightgbm":
        keep = sample_rows(len(X), len(X) if keep is None else keep, seed + 4)
        values, base = tree_shap(an, X.iloc[keep], data.task)
        rows = rows[keep]
        if an.preprocess is not None:
            values = aggregate(values, an.transformed_sources(columns), columns, axis=1)
        return Attributions(values, np.asarray(base), rows, "exact TreeSHAP (LightGBM pred_contrib)", output, True)
    if an.kind == "linear" and hasattr(an.final, "intercept_"):
        values, base = linear_contributions(an, X, background, data.task)
        values = aggregate(values, an.transformed_sources(columns), columns, axis=1)
        output = ("the decision function (log-odds)" if data.task != "regression" else "the predicted value")
        return Attributions(values, np.asarray(base), rows, "exact linear contributions, coef × (x − mean)",
                            output, True)
    few = rows[: settings.shap_rows]
    X = X.iloc[: len(few)]
    progress = Progress("attributions (sampling Shapley)", len(few))
    values, base = sampling_shapley(model_output(model, data.task), X, background, settings.permutations, seed,
                                    progress)
    progress.close()
    if data.task == "binary":
        positive = model_classes(model).index(data.positive_label)
        values, base = values[:, :, positive], base[positive]
        output = f"the predicted probability of {data.positive_label!r}"
    elif data.task == "multiclass":
        output = "each class's predicted probability"
    return Attributions(values, np.asarray(base), few,
                        f"sampling Shapley values ({settings.permutations} feature orders per row, "
                        f"{settings.background} background rows)", output, False)


PERMUTED_CELLS = 4_000_000  # rows x columns of permuted copies predicted in one call


def permutation(model, data, rows, settings, seed: int) -> dict:
    """Permutation importance on the given test rows (settings: scoring, repeats): the drop in the score when one
    column is shuffled. The shuffled copies of every column are predicted in a few large calls (the model's own
    threads use the cores), not one call per column and repeat; a scorer this does not know goes through
    scikit-learn's permutation_importance."""
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
        return {"mean": result.importances_mean, "std": result.importances_std, "scoring": scoring,
                "repeats": settings.repeats}
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
    return {"mean": drops.mean(axis=1), "std": drops.std(axis=1), "scoring": scoring, "repeats": settings.repeats}


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


# ------------------------------------------------------------------------------------------------ images

def input_gradient(an: Anatomy, images: np.ndarray, target: np.ndarray) -> Optional[np.ndarray]:
    """The exact gradient of the target class's probability with respect to the input pixels, for sklearn's MLP
    and linear classifiers (behind an optional StandardScaler); None for other models."""
    scale = np.ones(images.shape[1])
    Z = images.astype(float)
    if an.preprocess is not None:
        scaler = _only_scaler(an.preprocess)
        if scaler is None:
            return None
        Z = np.asarray(an.preprocess.transform(pd.DataFrame(images, columns=getattr(an.preprocess,
                                                                                      "feature_names_in_", None))))
        scale = 1 / getattr(scaler, "scale_", np.ones(images.shape[1]))
    if an.kind == "linear" and hasattr(an.final, "predict_proba"):
        coef = np.atleast_2d(an.final.coef_)
        proba = an.final.predict_proba(Z)
        if coef.shape[0] == 1:  # binary: d p1/dz = p1 (1 - p1) w; d p0 = -that
            g = (proba[:, 1] * proba[:, 0])[:, None] * coef[0][None, :]
            grad = np.where(target[:, None] == 1, g, -g)
        else:  # softmax: d p_t/dz = p_t (w_t - sum_k p_k w_k)
            pt = proba[np.arange(len(Z)), target]
            grad = pt[:, None] * (coef[target] - proba @ coef)
        return grad * scale
    if an.kind == "mlp" and hasattr(an.final, "coefs_"):
        return _mlp_gradient(an.final, Z, target) * scale
    return None


def _only_scaler(preprocess):
    """The StandardScaler of a preprocessing step that only imputes and scales numbers (images), else None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = preprocess.steps if isinstance(preprocess, Pipeline) else [("p", preprocess)]
    for _, step in steps:
        if isinstance(step, StandardScaler):
            return step
        if isinstance(step, ColumnTransformer):
            for name, transformer, cols in step.transformers_:
                if len(cols) == 0 or name == "remainder":
                    continue
                inner = transformer.steps if isinstance(transformer, Pipeline) else [("t", transformer)]
                for _, t in inner:
                    if isinstance(t, StandardScaler):
                        return t
    return None


def _mlp_gradient(mlp, Z: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Backpropagation through sklearn's MLPClassifier (ReLU, tanh, logistic or identity hidden layers)."""
    acts = [Z]
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        acts.append(_activate(mlp.activation, acts[-1] @ W + b))
    logits = acts[-1] @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    n = len(Z)
    if logits.shape[1] == 1:  # binary: sigmoid output
        p = 1 / (1 + np.exp(-logits[:, 0]))
        sign = np.where(target == 1, 1.0, -1.0)
        delta = (sign * p * (1 - p))[:, None]
    else:
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        onehot = np.eye(p.shape[1])[target]
        delta = p[np.arange(n), target][:, None] * (onehot - p)
    for layer in range(len(mlp.coefs_) - 1, 0, -1):
        delta = (delta @ mlp.coefs_[layer].T) * _derivative(mlp.activation, acts[layer])
    return delta @ mlp.coefs_[0].T


def _activate(name, x):
    return {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "logistic": lambda v: 1 / (1 + np.exp(-v)),
            "identity": lambda v: v}[name](x)


def _derivative(name, a):
    """Derivative of the activation, from its output a."""
    return {"relu": lambda v: (v > 0).astype(float), "tanh": lambda v: 1 - v ** 2, "logistic": lambda v: v * (1 - v),
            "identity": lambda v: np.ones_like(v)}[name](a)
