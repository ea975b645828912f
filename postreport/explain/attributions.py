"""Attributions per row: exact TreeSHAP for LightGBM, exact contributions for linear models, sampling Shapley values for
any other model; native importance and the stability of the top features over resamples of the rows."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Optional

import numpy as np
import pandas as pd

from postreport.stats.bootstrap import Cells, resample_counts
from postreport.errors import UserError, at_least
from postreport.run.predictions import model_classes
from postreport.stats.sampling import sample_rows
from postreport.stats.intervals import percentile_bounds
from postreport.explain.anatomy import Anatomy, Progress, aggregate, anatomy, model_output


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


def attribution_key(settings: AttributionSettings) -> tuple:
    """What makes two sections' attributions the same computation (and the same planned work)."""
    return ("attributions",) + tuple(getattr(settings, f.name) for f in fields(AttributionSettings))


def explained(ctx, candidate, settings: AttributionSettings) -> "Attributions":
    """A candidate's attributions on a seeded sample of test rows, computed once per candidate and settings: every
    section that asks with the same settings gets the same object, whatever the section order."""
    key = attribution_key(settings) + (candidate.name,)
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
                         "top3_share": float(np.mean(ranks[:, j] <= 3)),
                         "top5_share": float(np.mean(ranks[:, j] <= 5))})
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
