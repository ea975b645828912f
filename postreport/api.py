"""The Python API: the same configs, the same run, the same RunResult as the command line, for notebooks and scripts.

    import postreport
    result = postreport.generate(["data=wine", "model=random_forest"], output_dir="reports/wine")
    result.metrics["metrics"]["accuracy"]; result.files["pdf"]; result        # shows the report in Jupyter

    postreport.from_predictions(y_true, scores=proba, labels=["a", "b", "c"], output_dir="reports/logged")
    result = postreport.evaluate(fitted_pipeline, X_test, y_test, X_train=X_train, y_train=y_train)
    result.pdf; result.save("reports/pipeline")
"""
from __future__ import annotations

import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from postreport.cli import config_dir_error
from postreport.config import register_schemas
from postreport.data.run_files import PREDICTIONS
from postreport.errors import UserError
from postreport.resources import resource_dir
from postreport.run.runner import run
from postreport.data.decide import positive_label, sorted_labels


_COMPOSING = threading.Lock()


def generate(overrides: Sequence[str] = (), output_dir: Optional[str | Path] = None,
             config_dir: Optional[str | Path] = None):
    """Compose the packaged configs with `overrides` (Hydra's override syntax, as on the command line) and an
    optional folder of your own configs (searched like --config-dir), run the report into `output_dir` (default:
    outputs/DATE/TIME) and return its RunResult (exit_code, files, metrics). Bad input raises UserError with the
    message the command line prints."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_schemas()
    extra = []
    if config_dir is not None:
        folder = Path(config_dir).expanduser().resolve()
        if not folder.is_dir():
            raise UserError(f"config_dir={str(config_dir)!r} is not a folder")
        broken = config_dir_error(["--config-dir", str(folder)])
        if broken:
            raise UserError(broken)
        extra = [f"hydra.searchpath=[file://{folder}]"]
    with _COMPOSING:  # Hydra's composition is one global per process: one thread composes at a time
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(version_base="1.3", config_dir=str(resource_dir("conf")),
                                       job_name="postreport"):
                cfg = compose("config", overrides=[*overrides, *extra])
        except Exception as exc:  # Hydra's composition errors name the key or option
            raise UserError(str(exc).splitlines()[0]) from None
    out = Path(output_dir) if output_dir is not None else Path("outputs") / datetime.now().strftime(
        "%Y-%m-%d/%H-%M-%S")
    return run(cfg, out, overrides=list(overrides))


def from_predictions(y_true, y_pred=None, scores=None, labels: Optional[Sequence] = None, frame=None,
                     output_dir: Optional[str | Path] = None, overrides: Sequence[str] = ()):
    """A report of predictions already made (no model): `y_true`, and `y_pred` and/or `scores` (binary: the
    positive class's score, one value per row, or scikit-learn's predict_proba of two columns with `labels`;
    multiclass: one column per class in the order of `labels`); `frame`: other columns per row (a pandas, polars or
    pyarrow frame, or any with `to_pandas` or `__dataframe__`) for slices, error analysis and fairness; it may not
    name a column `y_true`, `y_pred`, `score` or `score_<label>`. The arrays are written to a temporary Parquet file
    and read as `data=predictions`."""
    n = len(y_true)
    table = pd.DataFrame(index=range(n)) if frame is None else as_pandas(frame).reset_index(drop=True)
    if len(table) != n:
        raise UserError(f"frame has {len(table)} rows and y_true {n}; give one row per prediction")
    reserved = [c for c in ("y_true", "y_pred", "score") if c in table.columns]
    reserved += [c for c in table.columns if str(c).startswith("score_") and scores is not None]
    if reserved:
        raise UserError(f"frame has columns named {reserved}; rename them (from_predictions uses y_true, y_pred, "
                        "score and score_<label> for the labels and scores)")
    table["y_true"] = _column(y_true, n, "y_true")
    settings = []
    if y_pred is not None:
        table["y_pred"] = _column(y_pred, n, "y_pred")
    if scores is not None:
        values = np.asarray(_column(scores, n, "scores"), dtype=float)
        if values.ndim == 2 and values.shape[1] == 2 and labels is not None and len(labels) == 2:
            # scikit-learn's binary predict_proba: one column per class; the positive class's column is kept
            values = values[:, list(labels).index(_positive(labels, overrides))]
        if values.ndim == 1 or values.shape[1] == 1:
            table["score"] = values.ravel()
            names = ["score"]
        else:
            if labels is None or len(labels) != values.shape[1]:
                raise UserError(f"scores has {values.shape[1]} columns: give labels=[...] naming the class of each "
                                "column, in order")
            names = [f"score_{label}" for label in labels]
            for k, name in enumerate(names):
                table[name] = values[:, k]
        settings.append(f"data.scores={_listed(names)}")
        if values.ndim > 1:  # the class of each column, as given: never the sorted order of the labels
            settings.append(f"data.score_labels={_listed(labels)}")
    if y_pred is None and scores is None:
        raise UserError("from_predictions needs y_pred or scores (or both)")
    if y_pred is None:
        settings.append("data.prediction=null")
    with tempfile.TemporaryDirectory(prefix="postreport-predictions-") as folder:
        path = Path(folder) / PREDICTIONS
        table.to_parquet(path)
        return generate(["data=predictions", f"data.path={path}", *settings, *overrides], output_dir=output_dir)


def evaluate(estimator, X_test, y_test, *, X_train=None, y_train=None, cv=None, groups=None,
             overrides: Sequence[str] = (), output_dir: Optional[str | Path] = None,
             config_dir: Optional[str | Path] = None):
    """The whole report of a fitted estimator on rows in memory: any model with the scikit-learn API (a Pipeline,
    LightGBM, HistGradientBoosting, a CalibratedClassifierCV, a regressor), X as pandas, polars or numpy (feature
    names then the estimator's, else x0, x1, ...), y as a Series, list or array. Its classes come from
    `estimator.classes_`. With X_train and y_train, the sections that compare with the training rows (drift,
    checks, importance stability) run; without them they say why not. The same run as `postreport model=file
    data=file` on the same rows and model (the objects are handed over in memory, not written to files).

    output_dir=None: the run's folder is temporary and removed; the result keeps its files (`result.html`,
    `result.pdf`, `result.metrics`; `result.save(folder)` writes them). In Jupyter the result shows the report.

    cv: a cross-validation report instead: a number of folds (stratified for classes, shuffled with the seed) or
    any scikit-learn splitter (StratifiedKFold, GroupKFold with `groups`, TimeSeriesSplit) over X_test, y_test (all
    the rows; no X_train then). The estimator is cloned and fitted per fold; the report reads the out-of-fold
    predictions, and its cross-validation section each fold's numbers (cross_validate's with the same splitter)
    with their corrected t intervals."""
    return _in_memory({"model": estimator}, X_test, y_test, X_train, y_train, overrides, output_dir, config_dir,
                      cv, groups)


def compare(estimators: dict, X_test, y_test, *, X_train=None, y_train=None, cv=None, groups=None,
            overrides: Sequence[str] = (), output_dir: Optional[str | Path] = None,
            config_dir: Optional[str | Path] = None):
    """One report of several fitted estimators on the same rows ({name: estimator}, two or more): the first is the
    report's subject, the comparison section compares it with the second row by row (paired bootstrap
    differences, DeLong, McNemar, the flipped rows: as compare.baseline would with the second's run), and the
    leaderboard ranks them all. With cv, every estimator is cross-validated on the same folds and each pair gets
    the corrected resampled t-test on their per-fold differences. Input and result as `evaluate`'s."""
    if not isinstance(estimators, dict) or len(estimators) < 2:
        raise UserError("compare takes a dict of two or more fitted estimators, {name: estimator}; for one, use "
                        "postreport.evaluate")
    return _in_memory(dict(estimators), X_test, y_test, X_train, y_train, overrides, output_dir, config_dir, cv,
                      groups)


def _in_memory(estimators: dict, X_test, y_test, X_train, y_train, overrides, output_dir, config_dir, cv=None,
               groups=None):
    """The run of evaluate and compare: the frames and estimators held in memory for it, named in its config."""
    from postreport.data.held import holding

    first = next(iter(estimators.values()))
    X = feature_frame(X_test, "X_test", first)
    test = with_target(X, y_test, "y_test")
    train = None
    if (X_train is None) != (y_train is None):
        raise UserError("give both X_train and y_train (the rows the estimator was fitted on), or neither")
    if X_train is not None:
        train = with_target(feature_frame(X_train, "X_train", first), y_train, "y_train")
        if list(train.columns) != list(test.columns):
            raise UserError(f"X_train's columns {list(train.columns)[:20]} are not X_test's {list(test.columns)[:20]}")
    target = test.columns[-1]
    splitter = None
    if cv is not None:
        if train is not None:
            raise UserError("cv cross-validates X_test and y_test (give all the rows there); X_train and y_train are "
                            "for a report on a held-out test set")
        if groups is not None and len(groups) != len(test):
            raise UserError(f"groups has {len(groups)} values and X_test {len(test)} rows; give one per row")
        if not isinstance(cv, int) or isinstance(cv, bool):
            if not hasattr(cv, "split"):
                raise UserError(f"cv={cv!r}: give a number of folds or a scikit-learn splitter (with a split method)")
            splitter = (cv, None if groups is None else np.asarray(groups))
        elif groups is not None:
            raise UserError("groups= goes with a splitter that reads them (GroupKFold): cv=GroupKFold(5)")
    with holding(test=test, train=train, cv=splitter) as rows, \
            holding(**{str(k): v for k, v in estimators.items()}) as models:
        keys = list(models.values())
        given = ["ensemble=none",  # ensembles of other model configs only when asked for (overrides)
                 "data=file", f"data.test_path={_listed([rows['test']])[1:-1]}",
                 f"data.target={_listed([target])[1:-1]}", "data.name='rows in memory'", "model=file",
                 f"model.path={_listed(keys[:1])[1:-1]}"]
        if keys[1:]:
            given.append(f"compare.models={_listed(keys[1:])}")
        if train is not None:
            given.append(f"data.path={_listed([rows['train']])[1:-1]}")
        if cv is not None:
            given.append(f"cv={cv}" if splitter is None else f"cv={_listed([rows['cv']])[1:-1]}")
        if output_dir is not None:
            return generate([*given, *overrides], output_dir=output_dir, config_dir=config_dir)
        with tempfile.TemporaryDirectory(prefix="postreport-evaluate-") as folder:
            result = generate([*given, *overrides], output_dir=folder, config_dir=config_dir)
            result.keep()
        result.files = {}
        return result


def feature_frame(X, name: str, estimator) -> pd.DataFrame:
    """X as a pandas frame of its own column names; a numpy array's columns are named as the estimator was fitted
    (feature_names_in_), else x0, x1, ..."""
    if isinstance(X, np.ndarray) or isinstance(X, list):
        array = np.asarray(X)
        if array.ndim != 2:
            raise UserError(f"{name} has {array.ndim} dimension(s); give a table: rows x columns")
        fitted = getattr(estimator, "feature_names_in_", None)
        names = [str(c) for c in fitted] if fitted is not None and len(fitted) == array.shape[1] else \
            [f"x{j}" for j in range(array.shape[1])]
        return pd.DataFrame(array, columns=names)
    return as_pandas(X)  # its index kept: the rows' keys in predictions.parquet, as a Parquet file's would be


def with_target(X: pd.DataFrame, y, name: str) -> pd.DataFrame:
    """The features and the target as one table; the target named as the Series y is (else "target"), never as a
    feature column."""
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if values.ndim != 1:
        raise UserError(f"{name} has shape {values.shape}; give one label (or value) per row")
    if len(values) != len(X):
        raise UserError(f"{name} has {len(values)} rows and {name.replace('y', 'X')} {len(X)}; give one per row")
    target = str(getattr(y, "name", None) or "target")
    while target in X.columns:
        target += "_"
    return X.assign(**{target: values})


def as_pandas(frame):
    """A DataFrame of pandas, polars, pyarrow or anything with `to_pandas` or the dataframe interchange protocol
    (`__dataframe__`), its column names kept."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):
        return frame.to_pandas()
    if hasattr(frame, "__dataframe__"):
        from pyarrow.interchange import from_dataframe

        return from_dataframe(frame).to_pandas()
    return pd.DataFrame(frame)


def _column(values, n: int, name: str):
    """An array of one value per row (a Series, list, array or another library's column), checked for its length."""
    array = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if len(array) != n:
        raise UserError(f"{name} has {len(array)} rows and y_true {n}; give one per prediction")
    return array


def _positive(labels, overrides) -> object:
    """The positive class of two labels: data.positive_label among the overrides, else the data's default (1 or
    True, else the last in sorted order)."""
    given = [o.split("=", 1)[1] for o in overrides if o.startswith("data.positive_label=")]
    return positive_label(given[0] if given else None, sorted_labels(pd.Series(list(labels))))


def _listed(values) -> str:
    """A list override of any text: each value quoted, quotes and backslashes escaped."""
    quoted = ["'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values]
    return f"[{','.join(quoted)}]"
