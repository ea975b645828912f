"""Hyperparameter tuning with Optuna: the search space comes from the model config (`model.search_space`), the
search from `tuning` (sampler, trials, timeout, folds, scoring, seed, optional shared storage). The best
parameters are refitted on all training data and become the `tuned` candidate."""
from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from omegaconf import DictConfig, OmegaConf

from postreport.errors import UserError
from postreport.models.build import Candidate, final_step, make_estimator
from postreport.planning.threads import cores_for

SAMPLERS = ("tpe", "random", "grid")
TYPES = ("int", "float", "categorical")
DEFAULT_SCORING = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "neg_root_mean_squared_error"}
log = logging.getLogger("postreport")


@dataclass
class Param:
    name: str
    type: str
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: Optional[list] = None

    def suggest(self, trial):
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, self.choices)
        if self.type == "int":
            return trial.suggest_int(self.name, self.low, self.high, log=self.log, step=self.step or 1)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)

    def clip(self, value):
        """The value moved into the search range (a configured default outside it becomes its nearest bound)."""
        if self.choices is not None:
            return value if value in self.choices else self.choices[0]
        return type(self.low)(min(max(value, self.low), self.high))

    def grid(self, points: int) -> list:
        if self.choices is not None:
            return list(self.choices)
        if self.log:
            values = np.geomspace(self.low, self.high, points)
        else:
            values = np.linspace(self.low, self.high, points)
        if self.type == "int":
            return sorted({int(round(v)) for v in values})
        return [float(v) for v in values]


def parse_space(space: dict, model_name: str) -> list:
    """Validate `model.search_space`; errors name the key and say what is valid."""
    if not space:
        raise UserError(f"model={model_name} declares no model.search_space to tune; add one (see conf/model/"
                        "lightgbm.yaml) or turn tuning off with tuning=none")
    params = []
    for name, spec in space.items():
        key = f"model.search_space.{name}"
        if not isinstance(spec, dict):
            raise UserError(f"{key} must be a mapping like {{type: int, low: 1, high: 10}}")
        unknown = set(spec) - {"type", "low", "high", "log", "step", "choices"}
        if unknown:
            raise UserError(f"{key} has unknown keys {sorted(unknown)}; valid: type, low, high, log, step, choices")
        kind = spec.get("type")
        if kind not in TYPES:
            raise UserError(f"{key}.type={kind!r} is not valid; valid: {', '.join(TYPES)}")
        if kind == "categorical":
            choices = spec.get("choices")
            if not choices:
                raise UserError(f"{key}.choices must list at least one value for a categorical parameter")
            params.append(Param(name, kind, choices=list(choices)))
            continue
        low, high = spec.get("low"), spec.get("high")
        if low is None or high is None:
            raise UserError(f"{key} needs low and high for a {kind} parameter")
        if low > high:
            raise UserError(f"{key}.low={low} is greater than {key}.high={high}")
        if spec.get("log") and low <= 0:
            raise UserError(f"{key}.low={low} must be > 0 with log: true")
        cast = int if kind == "int" else float
        params.append(Param(name, kind, cast(low), cast(high), bool(spec.get("log", False)), spec.get("step"),
                            list(spec["choices"]) if spec.get("choices") else None))
    return params


def check(tcfg, mcfg) -> list:
    """Everything about the tuning config that can be checked before any work."""
    if tcfg.sampler not in SAMPLERS:
        raise UserError(f"tuning.sampler={tcfg.sampler!r} is not valid; valid: {', '.join(SAMPLERS)}")
    if tcfg.n_trials < 1:
        raise UserError(f"tuning.n_trials={tcfg.n_trials} must be at least 1")
    if tcfg.cv < 2:
        raise UserError(f"tuning.cv={tcfg.cv} must be at least 2 folds")
    if tcfg.max_rows is not None and tcfg.max_rows < 10 * tcfg.cv:
        raise UserError(f"tuning.max_rows={tcfg.max_rows} is too few rows for {tcfg.cv} folds; use at least "
                        f"{10 * tcfg.cv} (or null: every training row)")
    if tcfg.timeout is not None and tcfg.timeout <= 0:
        raise UserError(f"tuning.timeout={tcfg.timeout} must be a positive number of seconds (or null: no limit)")

    space = mcfg.search_space
    return parse_space(OmegaConf.to_container(space, resolve=True) if isinstance(space, DictConfig) else dict(space),
                       mcfg.name)


@dataclass
class TuningOutcome:
    params: list  # [Param]
    sampler: str
    scoring: str
    cv: int
    best_params: dict
    best_score: float
    best_std: float
    default_score: float
    default_std: float
    trials: list  # [{number, value, std, params, state, seconds}]
    importances: dict
    seconds: float
    storage: Optional[str]
    study_name: str
    candidate: Any = None  # the refitted tuned model (models.Candidate)
    notes: list = field(default_factory=list)


def threads_for(estimator, workers: int):
    """When cross-validation folds run in worker processes, the model inside each uses one thread (never nest);
    in one process it keeps its own setting (all cores)."""
    if workers <= 1:
        return estimator
    return set_threads(estimator, 1, only_set=True)


def set_threads(estimator, threads: int, only_set: bool = False):
    """Every n_jobs of the estimator (a pipeline's steps' too) set to `threads`. One left at None stays None unless
    its owner is LightGBM's (whose None is every core; scikit-learn's None is one, and some of its estimators warn
    when given any); only_set: None always stays."""
    params = estimator.get_params()

    def owner(key: str):
        return params.get(key.rsplit("__", 1)[0]) if "__" in key else estimator

    keys = [k for k, v in params.items() if (k == "n_jobs" or k.endswith("__n_jobs"))
            and (v is not None or (not only_set and type(owner(k)).__module__.startswith("lightgbm")))]
    return estimator.set_params(**{k: threads for k in keys}) if keys else estimator


def tune(tcfg, mcfg, data, seed: int, n_jobs: int, configured_model=None, trials: Optional[int] = None,
         planned: str = "", build=None) -> TuningOutcome:
    """The search, then the best parameters refitted on all training rows. `configured_model`: the configured model
    as fitted (a Candidate): when the configured parameters win it is the tuned model as it is (no refit).
    trials: as many as the plan gives (postreport.planning.plan: tuning.timeout is planned seconds, never timed), else
    tuning.n_trials; planned: the plan's reason for fewer. build(overrides) -> (estimator, class path, its
    parameters): how a trial's model is made (default: from the model config; given_builder for a given one)."""
    build = build or (lambda overrides: make_estimator(mcfg, data.task, seed, overrides))
    import optuna
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = check(tcfg, mcfg)
    seed = seed if tcfg.seed is None else tcfg.seed
    scoring = tcfg.scoring or DEFAULT_SCORING[data.task]
    folds = (KFold if data.task == "regression" else StratifiedKFold)(tcfg.cv, shuffle=True, random_state=seed)
    workers = fold_workers(data, tcfg.cv, n_jobs)
    X, y = search_rows(data, tcfg.max_rows, seed)

    scored: dict = {}  # parameters -> (mean, std): the configured parameters, scored first, are also trial 0

    def cv_score(overrides: dict):
        estimator, _, final = build(overrides)
        key = repr(sorted(final.items()))
        if key not in scored:
            scores = cross_val_score(threads_for(estimator, workers), X, y, cv=folds, scoring=scoring,
                                     n_jobs=workers, error_score="raise")
            scored[key] = float(scores.mean()), float(scores.std())
        return scored[key]

    n_trials = tcfg.n_trials if trials is None else trials
    start = time.perf_counter()
    default_score, default_std = cv_score({})
    if tcfg.sampler == "grid":
        sampler = optuna.samplers.GridSampler({p.name: p.grid(tcfg.grid_points) for p in params}, seed=seed)
    elif tcfg.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    study_name = tcfg.study_name or f"postreport-{mcfg.name}-{data.name}"
    study = open_study(optuna, tcfg.storage, study_name, sampler)

    configured = {p.name: p.clip(mcfg.params[p.name]) for p in params if p.name in mcfg.params}
    if configured and not study.trials and tcfg.sampler != "grid":
        study.enqueue_trial(configured)  # the configured parameters are the first trial: tuning never does worse

    def objective(trial):
        mean, std = cv_score({p.name: p.suggest(trial) for p in params})
        trial.set_user_attr("std", std)
        return mean

    study.optimize(objective, n_trials=n_trials, catch=(ValueError,))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
        raise UserError(f"every tuning trial failed ({len(failed)}); check model.search_space against "
                        f"{build({})[1]}")
    best = study.best_trial
    importances: dict = {}
    notes: list = []
    if len(X) < data.n_train:
        notes.append(f"The search cross-validated on a seeded sample of {len(X):,} of the {data.n_train:,} training "
                     "rows (tuning.max_rows); the best parameters were refitted on all of them.")
    if n_trials < tcfg.n_trials:
        notes.append(f"The plan ran {planned} (from the data's shape and the model's size, the same on any machine).")
    if len(complete) >= 4 and len(params) > 1:
        try:
            importances = {k: float(v) for k, v in optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed)).items()}
        except (RuntimeError, ValueError) as exc:
            notes.append(f"Parameter importances are not available: {exc}")
    trials = [{"number": t.number, "value": t.value, "std": t.user_attrs.get("std"), "params": dict(t.params),
               "state": t.state.name, "seconds": (t.duration.total_seconds() if t.duration else None)}
              for t in study.trials]
    fit_start = time.perf_counter()
    estimator, target, final_params = build(dict(best.params))
    if configured_model is not None and final_params == configured_model.params:
        estimator = configured_model.estimator  # the configured parameters won: the same fit, not a second one
        origin = f"tuned here ({len(complete)} trials): the configured parameters scored best, so it is the configured model"
    else:
        estimator.fit(data.X_train, data.y_train)
        origin = f"tuned here ({len(complete)} trials) and refitted on all training data"
    candidate = Candidate(name=f"{mcfg.name} (tuned)", estimator=estimator, origin=origin, estimator_class=target,
                          params=final_params, preprocessing=mcfg.preprocessing,
                          fit_seconds=time.perf_counter() - fit_start, role="tuned")
    log.info("tuning: best %s %.4f after %d trials (default %.4f)", scoring, best.value, len(study.trials),
             default_score)
    return TuningOutcome(params=params, sampler=tcfg.sampler, scoring=scoring, cv=tcfg.cv,
                         best_params=dict(best.params), best_score=float(best.value),
                         best_std=float(best.user_attrs.get("std", math.nan)), default_score=default_score,
                         default_std=default_std, trials=trials, importances=importances,
                         seconds=time.perf_counter() - start, storage=tcfg.storage, study_name=study_name,
                         candidate=candidate, notes=notes)


def open_study(optuna, storage: Optional[str], study_name: str, sampler, attempts: int = 6):
    """The study, created or (in a shared storage) joined. Processes that start together on a new database race to
    create its tables; the loser retries after a short wait instead of failing."""
    for attempt in range(attempts):
        try:
            return optuna.create_study(direction="maximize", sampler=sampler, storage=storage, study_name=study_name,
                                       load_if_exists=storage is not None)
        except Exception as exc:  # sqlalchemy's errors while another process creates the same schema
            if storage is None or attempt == attempts - 1:
                if storage is None:
                    raise
                raise UserError(f"tuning.storage={storage!r} cannot be opened: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0]}") from None
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.3)


def search_rows(data, max_rows: Optional[int], seed: int) -> tuple:
    """The training rows the search cross-validates on: all of them, or a seeded (stratified) sample of max_rows."""
    X, y = data.X_train, data.y_train
    if not max_rows or len(X) <= max_rows:
        return X, y
    from sklearn.model_selection import train_test_split

    stratify = y if data.task != "regression" and y.value_counts().min() >= 2 else None
    X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=stratify, random_state=seed)
    return X, y


SMALL_DATA_CELLS = 2_000_000  # rows x features below which worker processes cost more than they save


def fold_workers(data, folds: int, n_jobs: int) -> int:
    """Processes for cross-validation folds: one for small data (starting workers costs more than the fits)."""
    if data.n_train * max(1, len(data.features)) < SMALL_DATA_CELLS:
        return 1
    return min(folds, cores_for(n_jobs))


def given_space(mcfg, estimator, task: str) -> tuple:
    """A search space for an estimator fitted elsewhere (model=file, postreport.evaluate): model.search_space when the
    config gives one, else the packaged model config's of the same class (lightgbm, logistic, ...). (space dict,
    where it came from); (None, why not) when neither."""
    space = OmegaConf.to_container(mcfg.search_space, resolve=True) if isinstance(mcfg.search_space, DictConfig) \
        else dict(mcfg.search_space or {})
    final = final_step(estimator)
    if space:
        return space, "model.search_space"
    from pathlib import Path

    from postreport.resources import resource_dir

    for path in sorted(Path(resource_dir("conf"), "model").glob("*.yaml")):
        packaged = OmegaConf.load(path)
        target = packaged.get("regressor") if task == "regression" and packaged.get("regressor") else \
            packaged.get("_target_")
        if not target or not packaged.get("search_space"):
            continue
        module, _, name = str(target).rpartition(".")
        try:
            cls = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):
            continue
        if type(final) is cls:
            return OmegaConf.to_container(packaged.search_space, resolve=True), f"model={path.stem}'s search space"
    return None, (f"no search space for {type(final).__name__}: give model.search_space (its parameters, e.g. "
                  "'+model.search_space.C={type: float, low: 0.01, high: 100, log: true}')")


def given_builder(estimator):
    """build(overrides) -> (a clone with the searched parameters set on its last step, its class path, the last
    step's searched parameters): tune's way of making a trial's estimator from a given one."""
    from sklearn.base import clone

    prefix = f"{estimator.steps[-1][0]}__" if hasattr(estimator, "steps") else ""
    final = final_step(estimator)
    target = f"{type(final).__module__}.{type(final).__qualname__}"

    def build(overrides: dict) -> tuple:
        trial = clone(estimator).set_params(**{prefix + k: v for k, v in overrides.items()})
        params = final_step(trial).get_params(deep=False)
        return trial, target, params

    return build
