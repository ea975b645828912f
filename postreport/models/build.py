"""Candidate models: built from a config's `_target_` and `params`, or loaded from a file."""
from __future__ import annotations

import inspect
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError
from postreport.data.decide import sorted_labels
from postreport.data.held import held, held_name, is_held
from postreport.models.loaded import LoadedModel
from postreport.run.predictions import model_classes
from postreport.models import onnx_model
from postreport.planning.threads import available_cores

PREPROCESSING = ("none", "native", "trees", "linear")
SAFE_SUFFIXES = (".skops", ".txt", ".onnx")
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
# Types skops (0.16) lists as untrusted that only describe data; loading them runs no code.
SKOPS_SAFE_TYPES = {"numpy.dtype"}


@dataclass
class Candidate:
    """A model the report analyses, with how it came to be."""

    name: str
    estimator: Any
    origin: str  # "fitted here" or "loaded from <file>"
    estimator_class: str
    params: dict = field(default_factory=dict)
    preprocessing: str = "none"
    fit_seconds: Optional[float] = None
    notes: list = field(default_factory=list)
    role: str = "model"  # model (as configured) | tuned | member | ensemble
    predictions: Any = None  # postreport.run.predictions.Predictions on the test set, computed once (runner)


def build_candidate(cfg, data, seed: int) -> Candidate:
    if data.logged is not None:
        return Candidate(name="logged predictions", estimator=None, origin=f"predictions logged in {data.source}",
                         estimator_class="(none: predictions read from a file)",
                         notes=["The model config is not used: the predictions were read from data.path."])
    if cfg.path:
        return load_candidate(cfg, data)
    if data.X_train is None:
        raise UserError(
            f"model={cfg.name} must be trained, but the data has no training rows; give data.path, "
            "or load a trained model with model=file model.path=..."
        )
    from sklearn.exceptions import ConvergenceWarning

    pipeline, target, params = make_estimator(cfg, data.task, seed)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(data.X_train, data.y_train)
    except Exception as exc:  # the library's own error types (LightGBMError, ...) for invalid parameters
        raise UserError(f"model={cfg.name} could not be fitted with model.params={params}: "
                        f"{type(exc).__name__}: {str(exc).strip()}") from None
    notes = [f"The model did not converge: {w.message} Consider raising model.params.max_iter."
             for w in caught if issubclass(w.category, ConvergenceWarning)][:1]
    for w in caught:  # other warnings go where they would have gone
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Candidate(
        name=cfg.name, estimator=pipeline, origin="fitted here", estimator_class=target,
        params=params, preprocessing=cfg.preprocessing, fit_seconds=time.perf_counter() - start, notes=notes,
    )


def make_estimator(cfg, task: str, seed: int, overrides: Optional[dict] = None):
    """The unfitted estimator a model config describes (wrapped in its preprocessing), with `overrides` on top of
    its params: (pipeline, estimator class path, params)."""
    target = cfg.regressor if task == "regression" else cfg._target_
    if not target:
        if task == "regression":
            raise UserError(f"model={cfg.name} is a classifier only; for regression use lightgbm, random_forest, "
                            "hist_gradient_boosting or mlp")
        raise UserError(f"model={cfg.name} has neither model.path (a trained model file: .skops, LightGBM .txt, "
                        ".joblib/.pkl) nor model._target_ (an estimator class to fit)")
    estimator_cls = _import(target, "model._target_" if task != "regression" else "model.regressor")
    params = _with_defaults(estimator_cls, {**dict(cfg.params), **(overrides or {})}, seed)
    try:
        estimator = estimator_cls(**params)
    except TypeError as exc:
        raise UserError(f"model.params do not fit {target}: {exc}") from None
    if cfg.preprocessing not in PREPROCESSING:
        raise UserError(f"model.preprocessing={cfg.preprocessing!r} is not valid; valid: {', '.join(PREPROCESSING)}")
    return with_preprocessing(estimator, cfg.preprocessing), target, params


def _import(path: str, key: str):
    from hydra.utils import get_class

    try:
        return get_class(path)
    except Exception as exc:
        raise UserError(f"{key}={path!r} cannot be imported: {exc}") from None


def _with_defaults(cls, params: dict, seed: int) -> dict:
    """The top-level seed, unless the model's params set one. (Parallelism is set in each model's YAML.)"""
    if "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", seed)
    for key, value in params.items():
        if isinstance(value, list):  # YAML lists -> tuples, e.g. hidden_layer_sizes
            params[key] = tuple(value)
    return params


def with_preprocessing(estimator, preprocessing: str):
    """The estimator behind what model.preprocessing names: none/native keep it as it is (LightGBM behind column
    names it accepts); trees and the others impute and encode first."""
    if preprocessing in ("none", "native"):
        if type(estimator).__module__.startswith("lightgbm"):
            from sklearn.pipeline import Pipeline

            from postreport.models.safe_names import SafeNames  # a scikit-learn class: imported with scikit-learn, at the first fit

            return Pipeline([("names", SafeNames()), ("model", estimator)])
        return estimator
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = make_column_selector(dtype_exclude="category")
    categorical = make_column_selector(dtype_include="category")
    if preprocessing == "trees":
        num = SimpleImputer(strategy="median", keep_empty_features=True)
        cat = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
    else:
        num = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        cat = make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
    pre = ColumnTransformer([("num", num, numeric), ("cat", cat, categorical)], verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("model", estimator)])


# ---------------------------------------------------------------- models from files

def load_candidate(cfg, data) -> Candidate:
    if is_held(cfg.path):
        return held_candidate(cfg, data)
    path = Path(cfg.path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in SAFE_SUFFIXES + PICKLE_SUFFIXES:
        raise UserError(f"model.path={cfg.path!r}: unsupported model file type {suffix!r}; valid: "
                        f"{', '.join(SAFE_SUFFIXES + PICKLE_SUFFIXES)} (pickles only with model.trust=true)")
    if not path.is_file():
        raise UserError(f"model.path={cfg.path!r}: file not found (relative paths are taken from {Path.cwd()})")
    if suffix in PICKLE_SUFFIXES and not cfg.trust:
        raise UserError(
            f"model.path={cfg.path!r} is a pickle, and loading a pickle runs any code it contains. "
            "Load it only if you trust its source: add model.trust=true. Safer: save the model with skops (.skops) "
            "or LightGBM's save_model (.txt)."
        )
    notes: list = []
    try:
        if suffix == ".onnx":
            estimator, notes = onnx_model.load(path, cfg, data, available_cores())
        elif suffix == ".skops":
            estimator = _load_skops(path, cfg.trust)
        elif suffix == ".txt":
            estimator = BoosterModel.from_file(path, data)
        else:
            import joblib

            estimator = joblib.load(path)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"model.path={cfg.path!r}: cannot load the model: {type(exc).__name__}: {exc}") from None
    if not hasattr(estimator, "predict"):
        raise UserError(f"model.path={cfg.path!r} holds a {type(estimator).__name__}, which has no predict()")
    return checked_candidate(estimator, data, f"the model in model.path={cfg.path!r}", path.stem,
                             f"loaded from {path.name}", notes)


def checked_candidate(estimator, data, what: str, name: str, origin: str, notes: list) -> Candidate:
    """A model fitted elsewhere (a file's, or one held in memory) checked against the data: its classes widen the
    labels, its kind must be the task's, its columns must be there. what: how errors name it."""
    notes = notes + widen_labels(estimator, data)
    _check_kind(estimator, data, what)
    notes += _align_features(estimator, data, what)
    cls = type(estimator)
    return Candidate(name=name, estimator=estimator, origin=origin,
                     estimator_class=f"{cls.__module__}.{cls.__qualname__}", params=shown_params(estimator),
                     notes=notes)


def final_step(estimator):
    """A pipeline's last step (the estimator whose parameters are searched, whose class names it), else the
    estimator."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def given_name(key: str, estimator) -> str:
    """A held estimator's name in the report: the name it was given (postreport.compare), else its (last step's)
    class."""
    name = held_name(key)
    return type(final_step(estimator)).__name__ if name == "model" else name


def held_candidate(cfg, data) -> Candidate:
    """A fitted estimator handed over in memory (postreport.evaluate): checked as a model file's is."""
    estimator = held(cfg.path, "model.path")
    name = type(estimator).__name__
    if not hasattr(estimator, "predict"):
        raise UserError(f"the estimator is a {name}, which has no predict(): give a fitted scikit-learn-style model")
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise UserError(f"the estimator ({name}) is not fitted: call its fit() first (postreport.evaluate reports on "
                        "a fitted model; to fit one from a config, use postreport.generate)") from None
    except TypeError:  # not a scikit-learn estimator: judged by its predictions
        pass
    return checked_candidate(estimator, data, f"the estimator ({name})", given_name(cfg.path, estimator),
                             "given in memory", [])


def shown_params(estimator) -> dict:
    """The parameters a report shows of a given model: its last step's (a pipeline's own are its steps' reprs)."""
    final = final_step(estimator)
    return final.get_params(deep=False) if hasattr(final, "get_params") else {}


def widen_labels(estimator, data) -> list:
    """Classes come from the model: test rows that miss a class the model knows still have it among the labels
    (its recall undefined, its precision measured), never the labels found in y alone."""
    classes = model_classes(estimator, None) if getattr(estimator, "classes_", None) is not None else None
    if data.task == "regression" or classes is None or not set(data.labels) < set(classes):
        return []
    missing = [c for c in classes if c not in data.labels]
    data.labels = sorted_labels(pd.Series(list(classes)))
    if len(data.labels) > 2 and data.task == "binary":
        data.task, data.positive_label = "multiclass", None
    return [f"The model knows {len(classes)} classes; the rows given hold {len(classes) - len(missing)}: "
            f"{missing[:10]} have no row (their recall is undefined here)."]


def _check_kind(estimator, data, what: str) -> None:
    """The model must do the data's task and know its labels: a regressor on classes, a classifier on numbers, or
    classes that are not the data's labels would give numbers that mean nothing."""
    classes = model_classes(estimator, None) if getattr(estimator, "classes_", None) is not None else None
    name = type(estimator).__name__
    if data.task == "regression":
        if classes is not None:
            raise UserError(f"{what} is a classifier ({name}, classes {classes[:10]}), but the data's "
                            f"task is regression; if {data.target!r} holds class labels, set data.task=multiclass")
        return
    if classes is None:
        raise UserError(f"{what} is a regressor ({name}: no classes), but the data's task is "
                        f"{data.task}; if {data.target!r} is a number to predict, set data.task=regression")
    unknown = [label for label in data.labels if label not in classes]
    if unknown:
        raise UserError(f"{what} predicts the classes {classes[:20]}, but the data's labels in "
                        f"{data.target!r} are {data.labels[:20]} ({unknown[:5]} unknown to the model); evaluate it on "
                        "data labelled as it was trained, or map the labels")
    if data.task == "binary" and len(classes) != 2:
        raise UserError(f"{what} predicts {len(classes)} classes {classes[:20]}, but the data's target "
                        f"{data.target!r} has 2: {data.labels}")


def _load_skops(path: Path, trust: bool):
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    if set(untrusted) - SKOPS_SAFE_TYPES and not trust:
        raise UserError(
            f"model.path={str(path)!r} contains types that skops does not trust by default: {untrusted}. "
            "If you trust this file's source, add model.trust=true."
        )
    return sio.load(path, trusted=untrusted or None)


def _align_features(estimator, data, what: str) -> list:
    """The model's expected columns must be in the data; extra data columns are left out, with a note."""
    expected = getattr(estimator, "feature_names_in_", None)
    if expected is None:
        n = getattr(estimator, "n_features_in_", None)
        if n is not None and n != data.X_test.shape[1]:
            raise UserError(f"{what} expects {n} features, the data has {data.X_test.shape[1]}: "
                            f"{data.features}")
        return []
    expected = [str(c) for c in expected]
    # LightGBM (a text model file, or its scikit-learn estimators) stores names with whitespace replaced by "_"
    lenient = isinstance(estimator, BoosterModel) or type(estimator).__module__.startswith("lightgbm")
    by_name = {(_lightgbm_name(c) if lenient else c): c for c in data.X_test.columns}
    missing = [c for c in expected if c not in by_name]
    if missing:
        raise UserError(f"{what} needs columns the data lacks: {missing}; the data has: {data.features}")
    columns = [by_name[c] for c in expected]
    extra = [c for c in data.X_test.columns if c not in columns]
    data.X_test = data.X_test[columns]
    if data.X_train is not None:
        data.X_train = data.X_train[columns]
    notes = [f"Columns the model does not use were left out: {extra}."] if extra else []
    if lenient and any(by_name[c] != c for c in expected):
        notes.append("The model's column names are LightGBM's (spaces written as '_'); the data's columns were "
                     "matched to them that way.")
    return notes


def _lightgbm_name(column: str) -> str:
    return re.sub(r"\s", "_", str(column))


class BoosterModel(LoadedModel):
    """A LightGBM Booster from a text model file, with the scikit-learn prediction interface."""

    refit_message = "a LightGBM model loaded from a text file cannot be refitted here"

    def __init__(self, booster, classes: list, task: str):
        self.booster = booster
        self.classes_ = np.asarray(classes) if classes else None
        self.task = task
        self.feature_names_in_ = np.asarray(booster.feature_name(), dtype=object)

    @classmethod
    def from_file(cls, path: Path, data) -> "BoosterModel":
        import lightgbm

        booster = lightgbm.Booster(model_file=str(path))
        objective = str(booster.params.get("objective", "")) or _objective_from_dump(path)
        if data.task == "regression":
            return cls(booster, [], "regression")
        per_iteration = booster.num_model_per_iteration()  # 1 for a binary model, one per class otherwise
        n_class = 2 if per_iteration == 1 else per_iteration
        if "regression" in objective:
            raise UserError(f"model.path={str(path)!r} is a LightGBM regression model, but the data's task is "
                            f"{data.task}; set data.task=regression")
        if len(data.labels) != n_class:
            raise UserError(f"model.path={str(path)!r} predicts {n_class} classes, the data's target has "
                            f"{len(data.labels)}: {data.labels}")
        return cls(booster, data.labels, data.task)

    def get_params(self, deep=False):
        return {k: v for k, v in self.booster.params.items() if isinstance(v, (int, float, str, bool))}

    def predict_proba(self, X):
        raw = self.booster.predict(X)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, X):
        if self.task == "regression":
            return self.booster.predict(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _objective_from_dump(path: Path) -> str:
    with open(path) as fh:
        for line in fh:
            if line.startswith("objective="):
                return line.split("=", 1)[1].strip()
    return ""
