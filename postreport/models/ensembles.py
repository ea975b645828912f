"""Ensembles declared in YAML, built from base model configs by name. Members are fitted once and shared by every
ensemble that uses them (voting and stacking combine the fitted members; stacking's meta-model learns from
out-of-fold predictions); bagging and boosting fit new copies of a named base by their nature."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
from omegaconf import OmegaConf

from postreport.config import ModelConfig
from postreport.errors import UserError
from postreport.models.build import Candidate, make_estimator, with_preprocessing
from postreport.models.out_of_fold import fold_predictions, training_sample
from postreport.resources import resource_dir
from postreport.stats.sampling import sample_rows

CLASSIFICATION_METHODS = ("soft_voting", "hard_voting", "stacking", "bagging", "boosting", "gradient_boosting")
REGRESSION_METHODS = ("voting", "stacking", "bagging", "boosting", "gradient_boosting")
FINAL_ESTIMATORS = {"logistic": "sklearn.linear_model.LogisticRegression", "ridge": "sklearn.linear_model.Ridge",
                    "lightgbm": None}


MODEL = "model"  # a member or base by this name is the report's own model: as configured, or given (model=file,
# postreport.evaluate), reused as fitted where a member is fitted once, cloned where copies are fitted


def model_names(extra_dirs: tuple = ()) -> list:
    """Model config names: the built-in ones and those in the user's --config-dir folders."""
    folders = [Path(d) / "model" for d in extra_dirs] + [resource_dir("conf") / "model"]
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")} - {"file"})


def member_config(name: str, n_jobs: int, extra_dirs: tuple = ()):
    """A model config by name, from the built-in conf/model (or a user's --config-dir), as the schema types it."""
    for folder in (*extra_dirs, resource_dir("conf")):
        path = Path(folder) / "model" / f"{name}.yaml"
        if path.is_file():
            root = OmegaConf.create({"n_jobs": n_jobs, "model": OmegaConf.load(path)})
            merged = OmegaConf.merge(OmegaConf.structured(ModelConfig), OmegaConf.to_container(root, resolve=True)["model"])
            return merged
    raise UserError(f"ensemble member {name!r} is not a model config; valid: {', '.join(model_names(extra_dirs))}")


def check(ecfg, extra_dirs: tuple = ()) -> None:
    names = model_names(extra_dirs) + [MODEL]
    unknown = [m for m in ecfg.members if m not in names]
    if unknown:
        raise UserError(f"ensemble.members names unknown models {unknown}; valid: {', '.join(names)}")
    valid = sorted(set(CLASSIFICATION_METHODS) | set(REGRESSION_METHODS))
    bad = [m for m in ecfg.methods if m not in valid]
    if bad:
        raise UserError(f"ensemble.methods names unknown methods {bad}; valid: {', '.join(valid)}")
    for key in ("bagging", "boosting"):
        base = ecfg[key].base
        if base not in names:
            raise UserError(f"ensemble.{key}.base={base!r} is not a model config; valid: {', '.join(names)}")
    if ecfg.stacking.final_estimator not in FINAL_ESTIMATORS:
        raise UserError(f"ensemble.stacking.final_estimator={ecfg.stacking.final_estimator!r} is not valid; "
                        f"valid: {', '.join(FINAL_ESTIMATORS)}")
    if ecfg.max_rows is not None and ecfg.max_rows < 10 * ecfg.stacking.cv:
        raise UserError(f"ensemble.max_rows={ecfg.max_rows} is too few training rows; use at least "
                        f"{10 * ecfg.stacking.cv} (or null: every training row)")
    limit = ecfg.stacking.max_rows
    if limit is not None and limit < 10 * ecfg.stacking.cv:
        raise UserError(f"ensemble.stacking.max_rows={limit} is too few rows for {ecfg.stacking.cv} folds; use at "
                        f"least {10 * ecfg.stacking.cv} (or null: every training row)")
    if ecfg.stacking.max_seconds is not None and ecfg.stacking.max_seconds <= 0:
        raise UserError(f"ensemble.stacking.max_seconds={ecfg.stacking.max_seconds:g} must be positive (or null: no "
                        "limit)")
    if ecfg.weights is not None and len(ecfg.weights) != len(ecfg.members):
        raise UserError(f"ensemble.weights has {len(ecfg.weights)} values for {len(ecfg.members)} members")
    if len(ecfg.members) < 2 and any(m in ("soft_voting", "hard_voting", "voting", "stacking") for m in ecfg.methods):
        raise UserError("ensemble.members needs at least 2 models for voting or stacking")


class KnownOutputs:
    """A fitted member whose test predictions were already made: for those rows (the same frame object) it returns
    them, for any other rows it predicts; so an ensemble's test predictions predict each member once."""

    def __init__(self, estimator, X, predictions):
        self.estimator, self.X, self.known = estimator, X, predictions

    def predict_proba(self, X):
        if X is self.X and self.known.proba is not None:
            return self.known.proba
        return self.estimator.predict_proba(X)

    def predict(self, X):
        return self.known.y_pred if X is self.X else self.estimator.predict(X)

    def __getattr__(self, name):  # classes_ and the rest: the member's own
        return getattr(self.estimator, name)


@contextmanager
def members_predicted(candidate, candidates: list, X):
    """While the runner predicts a voting or stacking ensemble on X: its members that are candidates with
    predictions on X read those (KnownOutputs) instead of predicting again; restored after."""
    ensemble = candidate.estimator
    members = getattr(ensemble, "members", None) if isinstance(ensemble, (PrefitVoting, PrefitStacking)) else None
    if not members:
        yield
        return
    predicted = {id(c.estimator): c.predictions for c in candidates if c.predictions is not None}
    ensemble.members = [KnownOutputs(m, X, predicted[id(m)]) if id(m) in predicted else m for m in members]
    try:
        yield
    finally:
        ensemble.members = members


def members_seconds(candidate, candidates: list) -> float:
    """The seconds of the member predictions a voting or stacking ensemble read instead of making (its own predict
    time counts them, as its fit time counts the members' fits)."""
    if not isinstance(candidate.estimator, (PrefitVoting, PrefitStacking)):
        return 0.0
    members = {id(m) for m in candidate.estimator.members}
    return sum(c.predictions.seconds for c in candidates if id(c.estimator) in members and c.predictions is not None)


class PrefitVoting:
    """Voting over members that are already fitted (soft: the weighted mean of their probabilities)."""

    def __init__(self, members: list, weights: Optional[list], soft: bool, task: str):
        self.members, self.soft, self.task = members, soft, task
        self.weights = np.asarray(weights if weights is not None else [1.0] * len(members), dtype=float)
        if task != "regression":
            self.classes_ = members[0].classes_

    def predict_proba(self, X):
        probas = np.stack([np.asarray(m.predict_proba(X)) for m in self.members])
        return np.tensordot(self.weights, probas, axes=1) / self.weights.sum()

    def predict(self, X):
        if self.task == "regression":
            preds = np.stack([np.asarray(m.predict(X), dtype=float) for m in self.members])
            return self.weights @ preds / self.weights.sum()
        if self.soft:
            return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]
        votes = np.stack([np.searchsorted(self.classes_, np.asarray(m.predict(X))) for m in self.members])
        counts = np.zeros((len(self.classes_), votes.shape[1]))
        for w, row in zip(self.weights, votes):
            counts[row, np.arange(votes.shape[1])] += w
        return np.asarray(self.classes_)[np.argmax(counts, axis=0)]  # ties: the first class, as sklearn

    def get_params(self, deep=False):
        return {"voting": "soft" if self.soft else "hard", "weights": self.weights.tolist()}


class PrefitHardVoting(PrefitVoting):
    """Majority vote; like scikit-learn's hard voting it gives no probabilities."""

    def __init__(self, members: list, weights: Optional[list], task: str):
        super().__init__(members, weights, False, task)

    @property
    def predict_proba(self):
        raise AttributeError("hard voting gives no probabilities")


class PrefitStacking:
    """Stacking over fitted members: a meta-model trained on the members' out-of-fold predictions."""

    def __init__(self, members: list, final, task: str, passthrough_columns: Optional[list], fill: Optional[dict]):
        self.members, self.final, self.task = members, final, task
        self.passthrough_columns, self.fill = passthrough_columns, fill

    @property
    def classes_(self):
        return self.final.classes_

    @staticmethod
    def member_outputs(members, X, task) -> np.ndarray:
        if task == "regression":
            return np.column_stack([np.asarray(m.predict(X), dtype=float) for m in members])
        probas = [np.asarray(m.predict_proba(X)) for m in members]
        if probas[0].shape[1] == 2:  # binary: one column per member, as sklearn's stacking does
            probas = [p[:, 1:] for p in probas]
        return np.column_stack(probas)

    def features(self, outputs, X) -> np.ndarray:
        if not self.passthrough_columns:
            return outputs
        extra = X[self.passthrough_columns].astype(float).fillna(self.fill).to_numpy()
        return np.column_stack([outputs, extra])

    def predict_proba(self, X):
        return self.final.predict_proba(self.features(self.member_outputs(self.members, X, self.task), X))

    def predict(self, X):
        return self.final.predict(self.features(self.member_outputs(self.members, X, self.task), X))

    def get_params(self, deep=False):
        return {"final_estimator": type(self.final).__name__, "passthrough": bool(self.passthrough_columns)}


def out_of_fold(member_cfgs: list, ctx, folds: int, rows=None) -> np.ndarray:
    """Each member's predictions for every training row (or those at `rows`) from a model that did not see it
    (shared with the sections when a member is the configured model with the same folds and rows)."""
    outputs = []
    for mcfg in member_cfgs:
        pred = fold_predictions(ctx, mcfg, folds, rows)
        outputs.append(pred[:, None] if pred.ndim == 1 else (pred[:, 1:] if pred.shape[1] == 2 else pred))
    return np.column_stack(outputs)


def build(ecfg, ctx, config_dirs: tuple = ()) -> list:
    """The ensembles' candidates, added to ctx.candidates with the members that are not candidates yet.
    (Their test predictions are made by the runner, once, like every candidate's.)"""
    methods = _methods(ecfg.methods, ctx.data.task)
    if ecfg.max_rows and ctx.data.n_train > ecfg.max_rows:
        ctx.notes.append(f"Ensemble members and ensembles fitted here learn from a seeded sample of {ecfg.max_rows:,} "
                         f"of the {ctx.data.n_train:,} training rows (ensemble.max_rows); the configured model keeps "
                         "its fit on every row.")
    members, member_cfgs = _members(ecfg, ctx, config_dirs)
    if len(members) < 2:
        methods = [m for m in methods if m not in ("soft_voting", "hard_voting", "voting", "stacking")]
    builders = {"soft_voting": _voting, "hard_voting": _voting, "voting": _voting, "stacking": _stacking,
                "bagging": _resampling, "boosting": _resampling, "gradient_boosting": _gradient_boosting}
    built = []
    for method in methods:
        if method == "stacking" and not _stacking_affordable(ctx):
            continue
        start = time.perf_counter()
        candidate = builders[method](method, ecfg, ctx, members, member_cfgs, config_dirs)
        candidate.fit_seconds = time.perf_counter() - start + (
            sum(m.fit_seconds or 0 for m in members) if method in ("soft_voting", "hard_voting", "voting", "stacking")
            else 0)  # an ensemble of fitted members costs their fits too
        built.append(candidate)
    ctx.candidates.extend(built)
    return built


def _methods(requested, task: str) -> list:
    """The requested methods for this task (voting kinds fold together for regression), in order, once each."""
    same = {"soft_voting": "voting", "hard_voting": "voting"} if task == "regression" else {"voting": "soft_voting"}
    methods = list(dict.fromkeys(same.get(m, m) for m in requested))
    allowed = REGRESSION_METHODS if task == "regression" else CLASSIFICATION_METHODS
    wrong = [m for m in methods if m not in allowed]
    if wrong:
        raise UserError(f"ensemble.methods {wrong} do not apply to {task}; valid: {', '.join(allowed)}")
    return methods


def _members(ecfg, ctx, config_dirs: tuple) -> tuple:
    """The members as fitted candidates (the configured model reused when it is one), and their model configs."""
    task = ctx.data.task
    by_name = {c.name: c for c in ctx.candidates}
    members, member_cfgs = [], []
    for name in ecfg.members:
        if name == MODEL:  # the report's model, as it is (a given one's clones where out-of-fold fits are needed)
            if ctx.cfg.model.path and not ctx.plan.shape.refittable and "stacking" in ecfg.methods:
                raise UserError(f"ensemble.members lists {MODEL!r}, whose model ({type(ctx.model.estimator).__name__}"
                                ") cannot be refitted for stacking's out-of-fold fits; leave stacking out of "
                                "ensemble.methods, or the model out of the members")
            members.append(ctx.model)
            member_cfgs.append(ctx.cfg.model)
            continue
        mcfg = member_config(name, ctx.n_jobs, config_dirs)
        if task == "regression" and not mcfg.regressor:
            ctx.notes.append(f"Ensemble member {name!r} is a classifier only and was left out of the regression "
                             "ensembles.")
            continue
        member_cfgs.append(mcfg)
        if name == ctx.cfg.model.name and name in by_name and not ctx.cfg.model.path:
            members.append(by_name[name])  # the configured model is a member: fitted once, reused
            continue
        start = time.perf_counter()
        estimator, target, params = make_estimator(mcfg, task, ctx.seed)
        estimator.fit(*training_rows(ecfg, ctx))
        candidate = Candidate(name=name, estimator=estimator, origin="fitted here (ensemble member)",
                              estimator_class=target, params=params, preprocessing=mcfg.preprocessing,
                              fit_seconds=time.perf_counter() - start)
        members.append(candidate)
        ctx.candidates.append(candidate)
    for m in members:
        m.role = "member"
    return members, member_cfgs


def _ensemble(name: str, estimator, origin: str, cls: str, params: Optional[dict] = None):
    return Candidate(name=name, estimator=estimator, origin=origin, estimator_class=cls,
                     params=params or estimator.get_params(deep=False), role="ensemble")


def _joined(members: list) -> str:
    return "+".join(m.name for m in members)


def _voting(method, ecfg, ctx, members, member_cfgs, config_dirs):
    fitted = [m.estimator for m in members]
    vote = (PrefitHardVoting(fitted, ecfg.weights, ctx.data.task) if method == "hard_voting"
            else PrefitVoting(fitted, ecfg.weights, True, ctx.data.task))
    return _ensemble(f"{method} ({_joined(members)})", vote, "combines the fitted members",
                     "postreport.models.ensembles.PrefitVoting")


def _stacking_affordable(ctx) -> bool:
    """Whether the plan builds stacking (postreport.planning.plan: its out-of-fold fits planned within
    ensemble.stacking.max_seconds from the data's shape, never timed); a note says why not."""
    if ctx.plan.stacking:
        return True
    ctx.notes.append(f"Stacking was left out: {ctx.plan.why('stacking')}. Raise it (or null) to build it, or lower "
                     "ensemble.stacking.cv.")
    return False


def _stacking(method, ecfg, ctx, members, member_cfgs, config_dirs):
    data, seed = ctx.data, ctx.seed
    rows = training_sample(data, ctx.plan.stacking_rows, seed)  # the sections' out-of-fold rows, when their folds
    if rows is not None:
        ctx.notes.append(f"Stacking's meta-model learns from out-of-fold predictions on a seeded sample of {len(rows):,} "
                         f"of the {data.n_train:,} training rows (as planned: ensemble.stacking.max_rows, or the "
                         "rows the sections' out-of-fold predictions use).")
    oof = out_of_fold(member_cfgs, ctx, ecfg.stacking.cv, rows)
    rows = np.arange(data.n_train) if rows is None else rows
    final = _final_estimator(ecfg.stacking.final_estimator, data.task, seed)
    columns, fill = None, None
    if ecfg.stacking.passthrough:
        categorical = set(data.categorical)
        columns = [c for c in data.features if c not in categorical]
        fill = data.X_train[columns].median().to_dict()
    stack = PrefitStacking([m.estimator for m in members], final, data.task, columns, fill)
    final.fit(stack.features(oof, data.X_train.iloc[rows]), data.y_train.iloc[rows])
    return _ensemble(f"stacking ({_joined(members)})", stack,
                     f"meta-model ({ecfg.stacking.final_estimator}) on {ecfg.stacking.cv}-fold out-of-fold predictions",
                     "postreport.models.ensembles.PrefitStacking")


def _resampling(method, ecfg, ctx, members, member_cfgs, config_dirs):
    """Bagging or AdaBoost over new copies of a named base model."""
    from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor, BaggingClassifier, BaggingRegressor

    data, seed = ctx.data, ctx.seed
    settings = ecfg[method]
    regression = data.task == "regression"
    cls = {("bagging", False): BaggingClassifier, ("bagging", True): BaggingRegressor,
           ("boosting", False): AdaBoostClassifier, ("boosting", True): AdaBoostRegressor}[method, regression]
    kwargs = {"n_jobs": ctx.n_jobs} if method == "bagging" else {}
    if settings.base == MODEL and ctx.cfg.model.path:  # a given model: copies of its clone
        from sklearn.base import clone

        if not ctx.plan.shape.refittable:
            raise UserError(f"ensemble.{method}.base={MODEL!r}: the given model ({type(ctx.model.estimator).__name__}) "
                            "cannot be refitted; name a model config instead")
        base = clone(ctx.model.estimator)
    else:
        base = make_estimator(ctx.cfg.model if settings.base == MODEL else member_config(settings.base, 1, config_dirs),
                              data.task, seed)[0]
    model = _around(base, lambda final: cls(estimator=final, n_estimators=settings.n_estimators, random_state=seed,
                                            **kwargs))
    try:
        model.fit(*training_rows(ecfg, ctx))
    except (TypeError, ValueError) as exc:
        raise UserError(f"ensemble.{method}.base={settings.base!r} cannot be used here ({exc}); for "
                        "boosting choose a base whose fit takes sample weights, e.g. lightgbm or logistic") from None
    label = "bagging" if method == "bagging" else "AdaBoost"
    base_name = ctx.model.name if settings.base == MODEL else settings.base
    return _ensemble(f"{label} ({base_name} ×{settings.n_estimators})", model,
                     "fitted here" + (" on bootstrap samples" if method == "bagging" else ""),
                     f"{cls.__module__}.{cls.__name__}", {"n_estimators": settings.n_estimators})


def _gradient_boosting(method, ecfg, ctx, members, member_cfgs, config_dirs):
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    cls = GradientBoostingRegressor if ctx.data.task == "regression" else GradientBoostingClassifier
    model = with_preprocessing(cls(random_state=ctx.seed), "trees").fit(*training_rows(ecfg, ctx))
    return _ensemble("gradient boosting (sklearn)", model, "fitted here", f"{cls.__module__}.{cls.__name__}")


def training_rows(ecfg, ctx) -> tuple:
    """(X, y) the ensembles fit here learn from: every training row, or a seeded sample of ensemble.max_rows."""
    data = ctx.data
    if not ecfg.max_rows or data.n_train <= ecfg.max_rows:
        return data.X_train, data.y_train

    def pick():
        rows = sample_rows(data.n_train, ecfg.max_rows, ctx.seed)
        return data.X_train.iloc[rows], data.y_train.iloc[rows]

    return ctx.shared(("ensemble rows", ecfg.max_rows), pick)


def _around(base, make):
    """The base model's preprocessing, then `make(its final estimator)`: bagging and boosting hand their estimator
    plain arrays and sample weights, which a preprocessing pipeline inside them would not take."""
    from sklearn.pipeline import Pipeline

    if isinstance(base, Pipeline):
        return Pipeline([("preprocess", base[:-1]), ("model", make(base.steps[-1][1]))])
    return make(base)


def _final_estimator(name: str, task: str, seed: int):
    if task == "regression":
        from sklearn.linear_model import Ridge

        return Ridge()
    if name == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=100, num_leaves=7, verbose=-1, random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)
