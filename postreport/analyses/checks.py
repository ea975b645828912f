"""Checks of the experiment, not only of the model: a column that leaks the label, test rows that are training rows,
duplicated or conflicting rows, a model no better than a dummy, too few rows of a class, a skewed class balance,
constant columns, untuned defaults, a search that stopped at its range's edge, scores that are not probabilities.

Each check looks at what the run has (logged predictions have no training rows: the checks that need them are
listed as skipped, with the reason) and says what it looked at whether or not it finds something. A finding is a
warning when the experiment's numbers cannot be trusted as they stand, information otherwise; its evidence carries
the numbers it rests on, with intervals where one applies, and the rule it was judged by (RULES). Over- and
underfitting are information: the test rows' numbers stay honest, they say how the model could do better."""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd

from postreport.analyses.base import Analysis
from postreport.errors import UserError
from postreport.explain.anatomy import anatomy
from postreport.explain.attributions import native_importance
from postreport.planning.costs import row_mean_seconds
from postreport.planning.plan import Step
from postreport.report.model import Note, Paragraph, Table
from postreport.stats.bootstrap import intervals_on
from postreport.stats.intervals import repeat_interval
from postreport.stats.metrics import candidate_metrics, label
from postreport.stats.paired import row_mean_interval
from postreport.stats.proportions import newcombe, wilson, z_for
from postreport.stats.sampling import sample_rows

log = logging.getLogger("postreport")
WARNING, INFO = "warning", "info"
LEAK_SCORE = 0.98  # one column alone: accuracy (classification) or R² (regression) at least this on the test rows
LEAK_LOWER = 0.95  # and the accuracy's interval above this (R²: the point alone)
OVERLAP_SHARE = 0.01  # test rows that are training rows: a warning from this share (and at least OVERLAP_ROWS)
OVERLAP_ROWS = 3
TIME_SHARE = 0.1  # test rows dated within the training period: a warning from this share
DUPLICATE_SHARE = 0.05  # identical test rows: a warning from this share
CONFLICT_SHARE = 0.01  # training rows whose twins carry another label: a warning from this share
OVERFIT_ACCURACY = 0.03  # train minus test accuracy: overfitting when the gap's interval lies above this
OVERFIT_R2 = 0.1  # and R² for regression
UNDERFIT_R2 = 0.05  # regression: a training R² under this has learnt almost nothing
MANY_LEVELS = 20  # importance bias: a whole-number or text column with more values than this is high-cardinality
NATIVE_TOP = 3  # and ranks among the model's first this many by its native importance
PERMUTATIONS = 5  # shuffles of each such column on (a seeded sample of SHUFFLE_ROWS) test rows: at most
SHUFFLE_ROWS = 500  # NATIVE_TOP x PERMUTATIONS predictions of them (not planned: the columns' kinds decide it)
FIT_ROWS = 2000  # training rows the model predicts for them (a seeded sample above: the gap's spread is the test's)
MINORITY_SHARE = 0.05  # the smallest class's share of the rows: a warning below it, and below
EVEN_FRACTION = 0.25  # this fraction of an even share (1 / classes): 30 even classes hold 3.3 % each
FEW_TEST_ROWS = 10  # a class with fewer test rows: its per-class numbers have intervals wider than about 0.5
TARGET_WIDTH = 0.1  # the interval width a class's recall would need these rows for
EDGE = 0.02  # a tuned parameter within this share of its range (log scale for log ranges) of an end
MAX_ROWS = 20000  # training rows the one-column models and the dummy learn from (a seeded sample above)
MAX_COLUMNS = 500  # columns the leakage check fits a one-column model for (the first ones)
CHECK_SECONDS = 0.1  # the section's fixed cost (scikit-learn's trees and dummies loaded)
TREE_SECONDS = 4e-4  # a one-column tree: fixed, and per training row (x (1 + classes / 25))
TREE_SECONDS_PER_ROW = 7e-7
HASH_SECONDS_PER_CELL = 3e-8  # hashing the rows' values, per row and column
FALSE_ALARMS = Path(__file__).with_name("checks_false_alarms.json")  # bench/bench_checks.py --write measures it
CHECKS = ("target_leakage", "train_test_overlap", "time_overlap", "duplicate_rows", "conflicting_labels",
          "not_better_than_baseline", "overfitting", "underfitting", "class_imbalance", "underrepresented_classes",
          "useless_features", "importance_bias", "untuned_model", "search_edge",
          "scores_not_probabilities")
RULES = {
    "target_leakage": f"one column alone, in a small tree fitted on the training rows, reaches accuracy >= "
                      f"{LEAK_SCORE} with its interval above {LEAK_LOWER} (regression: R² >= {LEAK_SCORE}) on the "
                      "test "
                      "rows",
    "train_test_overlap": f"at least {OVERLAP_ROWS} and {OVERLAP_SHARE:.0%} of the test rows have a training row "
                          "with the "
                          "same features (or the same data.id)",
    "time_overlap": f"at least {TIME_SHARE:.0%} of the test rows are dated within the training rows' dates (a date "
                    "column: its days): a random split of data ordered in time",
    "duplicate_rows": f"at least {DUPLICATE_SHARE:.0%} of the test rows repeat another test row's features",
    "conflicting_labels": f"at least {CONFLICT_SHARE:.0%} of the training rows share their features with a "
                          "training row "
                          "of another label",
    "not_better_than_baseline": "the model's ROC AUC interval does not lie above a dummy's 0.5 (without scores: its "
                                "balanced accuracy's above 1 / classes); regression: the paired interval of the "
                                "dummy's minus the model's absolute error per test row does not lie above 0",
    "overfitting": f"the model's score on (a seeded sample of {FIT_ROWS:,}) of its training rows beats its test "
                   f"score by more than {OVERFIT_ACCURACY} accuracy (regression: {OVERFIT_R2} R²), the interval "
                   "of the gap wholly above",
    "underfitting": f"on its own training rows the model is not above a dummy: accuracy's interval reaches the "
                    f"majority class's share (regression: R² under {UNDERFIT_R2})",
    "class_imbalance": f"the smallest class holds less than {MINORITY_SHARE:.0%} of the rows and less than "
                       f"{EVEN_FRACTION:g} of an even share (1 / classes)",
    "underrepresented_classes": f"a class has fewer than {FEW_TEST_ROWS} test rows",
    "useless_features": "a column holds one value on every training row, or its permutation importance's interval "
                        "(the feature importance section's shuffles) reaches 0 (information)",
    "importance_bias": f"a column of whole numbers or text with more than {MANY_LEVELS} values ranks among the "
                       f"model's {NATIVE_TOP} first by its own (split or impurity) importance, while shuffling it on "
                       f"the test rows ({PERMUTATIONS} times) costs no accuracy or R² its interval can tell from 0",
    "untuned_model": "the model's configured parameters were used without a search (information)",
    "search_edge": f"the best trial's value of a parameter lies within {EDGE:.0%} of an end of its declared range "
                   "(information)",
    "scores_not_probabilities": "the scores fall outside [0, 1] or a row's class scores do not sum to 1: metrics that "
                                "read them as probabilities are not computed (warning); or the calibration "
                                "section's slope interval excludes 1 (information)",
}


@dataclass
class ChecksSettings:
    ignore: List[str] = field(default_factory=list)  # check ids to silence (listed as silenced in the report)

    def __post_init__(self):
        unknown = [i for i in self.ignore if i not in CHECKS]
        if unknown:
            raise UserError(f"analyses.checks.ignore names unknown checks {unknown}; valid: {', '.join(CHECKS)}")


@dataclass
class Finding:
    id: str
    severity: str
    title: str
    evidence: dict
    advice: str

    def to_json(self) -> dict:
        return {"id": self.id, "severity": self.severity, "title": self.title, "evidence": self.evidence,
                "advice": self.advice}


@dataclass
class ChecksResult:
    findings: list = field(default_factory=list)
    ran: list = field(default_factory=list)  # (id, what it looked at)
    skipped: list = field(default_factory=list)  # (id, reason)
    ignored: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def warnings(self) -> list:
        return [f for f in self.findings if f.severity == WARNING]

    def look(self, check: str, more: str) -> None:
        """Add to what a check that ran looked at."""
        self.ran = [(i, f"{looked}; {more}" if i == check else looked) for i, looked in self.ran]

    def headline(self) -> str:
        if not self.warnings:
            return f"Checks of the experiment: {len(self.ran)} ran, no warning."
        return (f"Checks of the experiment: {len(self.warnings)} warning(s): "
                + "; ".join(f.title for f in self.warnings) + ".")

    def gate_values(self) -> dict:
        return {"checks_warnings": (float(len(self.warnings)), None)}

    def to_json(self) -> dict:
        return {"findings": [f.to_json() for f in self.findings], "ran": [i for i, _ in self.ran],
                "looked_at": dict(self.ran), "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
                "ignored": list(self.ignored), "rules": {i: RULES[i] for i in CHECKS}}


def codes(frame: pd.DataFrame) -> np.ndarray:
    """The columns as numbers a tree can split: numeric as they are, others by their category codes (missing:
    -1), so that a text column that spells the label is found too."""
    out = np.empty((len(frame), frame.shape[1]))
    for j, column in enumerate(frame.columns):
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[:, j] = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            out[:, j] = pd.Categorical(values.astype("string")).codes
    return out


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of its values (pandas' hash_pandas_object), for finding equal rows."""
    return pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()


def keys_of(ctx, split: str) -> np.ndarray:
    """The row keys of the training or the test rows ("train" | "test"), on the test rows' columns in their order,
    hashed once per run for the checks that compare rows."""
    frame = ctx.data.X_train if split == "train" else ctx.data.X_test
    return ctx.shared(("checks: row keys", split), lambda: row_keys(frame[list(ctx.data.X_test.columns)]))


def fit_score(truth: np.ndarray, predicted: np.ndarray, regression: bool) -> Optional[float]:
    """How well predictions fit: accuracy (labels compared as text, so 1 and "1" agree), or R² (None when the truth
    is constant: R² is undefined)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if not regression:
        return float(np.mean(predicted.astype(str) == truth.astype(str)))
    truth, predicted = truth.astype(float), predicted.astype(float)
    total = float(np.sum((truth - truth.mean()) ** 2))
    return 1 - float(np.sum((truth - predicted) ** 2)) / total if total > 0 else None


def one_column_scores(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                      regression: bool, leaves: int, seed: int) -> np.ndarray:
    """Each column's test score alone (accuracy, or R²) from a small tree fitted on the training rows."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    scores = np.full(X_train.shape[1], np.nan)
    for j in range(X_train.shape[1]):
        model = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(max_leaf_nodes=leaves,
                                                                                 random_state=seed)
        model.fit(X_train[:, [j]], y_train)
        score = fit_score(y_test, model.predict(X_test[:, [j]]), regression)
        scores[j] = np.nan if score is None else score
    return scores


def counted_rows(check: str, count: int, n: int, share: float, looked: str, none: str, title: str, evidence: dict,
                 advice: str) -> tuple:
    """(looked at, finding or None) of a check that counts rows: nothing at 0, a warning from `share` of the n rows,
    information below it. title: after the count, with {share} for the rows' share."""
    if count == 0:
        return f"{looked}: {none}", None
    return looked, Finding(check, WARNING if count >= share * n else INFO,
                           f"{count:,} " + title.format(share=f"{count / n:.1%}"),
                           {"rows": count, "share": count / n, **evidence}, advice)


def useless_finding(constant: list, idle: list, permutation: Optional[dict]) -> Finding:
    """constant: columns of one value; idle: [{column, drop, drop_ci}] whose shuffles cost nothing measurable."""
    parts = ([f"{len(constant)} constant column(s)"] if constant else []) + (
        [f"{len(idle)} column(s) whose shuffling costs no measurable test {permutation['scoring']}"] if idle else [])
    advice = "A column with one value cannot inform a prediction: drop it." if constant else ""
    if idle:
        advice += (f" Shuffled one at a time, {'the others' if constant else 'these'} cost no score their interval "
                   "tells from 0; correlated columns stand in for each other, so drop them together only where a "
                   "refit without them shows it costs nothing.")
    return Finding("useless_features", INFO, " and ".join(parts),
                   {"constant": constant, "columns": constant + [i["column"] for i in idle][:50],
                    "no_permutation_effect": idle[:50], "permutation": permutation}, advice.strip())


class ChecksAnalysis(Analysis):
    name = "checks"
    title = "Checks of the experiment"
    lead = ("Whether the experiment can be trusted, not only the model: leakage, overlap between training and test "
            "rows, duplicates, a dummy baseline, class counts, the search.")
    Settings = ChecksSettings
    quick = True
    aggregated = True  # on aggregated input the class checks run from the cells' counts; the rest say why not

    def offers_gate(self, name: str) -> bool:
        return name == "checks_warnings"

    def plan(self, plan, settings) -> list:
        """The one-column trees (per column and training row, more leaves with more classes), the rows' hashes and
        the dummy's paired interval (measured on bench/bench_plan.py's data: 300,000 x 20 about 1.0 s)."""
        s, b = plan.shape, plan.cfg.bootstrap
        rows = min(s.n_train, MAX_ROWS)
        columns = 0 if s.image_pixels else min(s.n_features, MAX_COLUMNS)
        seconds = (CHECK_SECONDS + columns * (TREE_SECONDS + TREE_SECONDS_PER_ROW * rows * (1 + s.n_classes / 25))
                   + HASH_SECONDS_PER_CELL * (s.n_train + s.n_test) * max(s.n_features, 1)
                   + (row_mean_seconds(min(s.n_test, b.max_exact_rows), b.resamples) if s.n_train else 0.0)
                   + (plan.cost.predict_seconds(min(s.n_train, FIT_ROWS), s.n_features, s.n_classes)
                      if plan.queried and s.n_train
                      else 0.0)  # the training rows' predictions (overfitting)
                   + (plan.metrics_seconds("configured") if plan.queried or s.n_test else 0.0))  # the model's
        # metrics with their intervals (baseline, overfitting): computed here when this section is first
        return [Step("checks", f"one-column models of {columns} column(s) on {rows:,} training rows, row hashes, "
                     "the dummy baseline", seconds, rows=rows)]

    def compute(self, ctx, settings: ChecksSettings) -> ChecksResult:
        result = ChecksResult(ignored=list(settings.ignore))
        data = ctx.data
        train = data.X_train is not None and data.y_train is not None and data.n_train
        for check in CHECKS:
            if check in settings.ignore:
                continue
            method = getattr(self, "_" + check)
            needs_train = check in ("target_leakage", "train_test_overlap", "time_overlap", "conflicting_labels",
                                    "not_better_than_baseline", "useless_features", "overfitting", "underfitting",
                                    "importance_bias")
            if needs_train and not train:
                folds = getattr(ctx, "cross_validation", None) is not None
                result.skipped.append((check, "a cross-validation: every row is a test row of one fold and a "
                                              "training row of the others" if folds else
                                              "no training rows (logged predictions, or a model from a file): it "
                                              "compares the test rows with the rows the model learnt from"))
                continue
            if data.weights is not None and check not in ("class_imbalance", "underrepresented_classes",
                                                          "scores_not_probabilities"):
                result.skipped.append((check, "aggregated input: the rows are counted where they live, not read"))
                continue
            outcome = method(ctx)
            if isinstance(outcome, str):  # not applicable: why
                result.skipped.append((check, outcome))
                continue
            looked_at, finding = outcome
            result.ran.append((check, looked_at))
            if finding is not None:
                result.findings.append(finding)
        result.findings.sort(key=lambda f: (f.severity != WARNING, CHECKS.index(f.id)))
        for f in result.warnings:  # on the console too, before the report is written
            log.warning("check %s: %s", f.id, f.title)
        return result

    # ------------------------------------------------------------------------------------------------ the checks

    @staticmethod
    def _target_leakage(ctx):
        data, seed = ctx.data, ctx.seed
        if data.image_shape:
            return "image data: a pixel is not a column that could hold the label"
        regression = data.task == "regression"
        columns = list(data.X_train.columns)[:MAX_COLUMNS]
        if not columns:
            return "no feature columns"
        rows = sample_rows(data.n_train, MAX_ROWS, seed)
        y_train = data.y_train.to_numpy()[rows]
        y_test = data.y_test.to_numpy()
        if not regression:
            y_train, y_test = y_train.astype(str), y_test.astype(str)
        else:
            y_train, y_test = y_train.astype(float), y_test.astype(float)
        leaves = 8 if regression else max(4, 2 * len(data.labels))
        X = codes(pd.concat([data.X_train[columns].iloc[rows], data.X_test[columns]], ignore_index=True))
        scores = one_column_scores(X[:len(rows)], y_train, X[len(rows):], y_test, regression, leaves, seed)
        best = int(np.nanargmax(scores)) if np.isfinite(scores).any() else None
        fitted = (f"{len(rows):,} training rows" if len(rows) == data.n_train else
                  f"a seeded sample of {len(rows):,} of the {data.n_train:,} training rows")
        looked = (f"{len(columns)} column(s)" + (f" (the first {MAX_COLUMNS} of {data.X_train.shape[1]})"
                                                 if data.X_train.shape[1] > MAX_COLUMNS else "")
                  + f", each alone in a tree of at most {leaves} leaves fitted on {fitted}, scored on the "
                  f"{data.n_test:,} test rows")
        if best is None:
            return looked, None
        score = float(scores[best])
        n = len(y_test)
        ci = None if regression else wilson(score * n, n, z_for(ctx.cfg.bootstrap.level))
        model = ctx.predictions
        full = fit_score(y_test, model.y_pred, regression)
        looked += f"; the best, {columns[best]!r}: {'R²' if regression else 'accuracy'} {score:.3f}"
        leak = score >= LEAK_SCORE and (regression or ci[0] > LEAK_LOWER)
        if not leak:
            return looked, None
        others = np.delete(scores, best)
        evidence = {"column": columns[best], "metric": "r2" if regression else "accuracy", "score": score,
                    "score_ci": ci, "model_score": full,
                    "next_best": float(np.nanmax(others)) if others.size and np.isfinite(others).any() else None}
        metric = "R²" if regression else "accuracy"
        shown = f"{metric} {score:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        return looked, Finding("target_leakage", WARNING, f"column {columns[best]!r} alone predicts the label "
                               f"({shown}; the model: {full:.3f})",
                               evidence, "A column that alone predicts the label this well is usually the label in "
                               "disguise (recorded after the outcome, or derived from it): drop it and run again, or "
                               "explain why it is known at prediction time.")

    @staticmethod
    def _train_test_overlap(ctx):
        data = ctx.data
        if data.key_name != "row" and data.test_keys is not None and getattr(data, "train_keys", None) is not None:
            test, train, what = data.test_keys, data.train_keys, f"data.id ({data.key_name})"
        else:
            test, train, what = keys_of(ctx, "test"), keys_of(ctx, "train"), "every feature"
        shared = np.isin(test, train)
        count, n = int(shared.sum()), len(test)
        looked = f"the {n:,} test rows against the {len(train):,} training rows, on {what}"
        if count < OVERLAP_ROWS or count < OVERLAP_SHARE * n:
            return looked + f": {count:,} shared", None
        ci = wilson(count, n, z_for(ctx.cfg.bootstrap.level))
        sample = [int(i) for i in np.flatnonzero(shared)[:10]]
        keys = ([data.test_keys[i].item() if hasattr(data.test_keys[i], "item") else data.test_keys[i] for i in sample]
                if data.test_keys is not None else sample)
        return looked, Finding("train_test_overlap", WARNING, f"{count:,} test rows ({count / n:.1%} "
                               f"[{ci[0]:.1%}, {ci[1]:.1%}]) are also training rows",
                               {"rows": count, "share": count / n, "share_ci": ci, "sample": keys, "on": what},
                               "The test rows must be rows the model has not seen: split before any duplication (or "
                               "by entity, data.id), then drop the shared rows from the test set.")

    @staticmethod
    def _time_overlap(ctx):
        data = ctx.data

        def days(frame, column):
            parts = {k: frame.get(f"{column}.{k}") for k in ("year", "month", "day")}
            if any(v is None for v in parts.values()):
                return None
            return pd.to_datetime(pd.DataFrame(parts), errors="coerce")

        dated = [(c, days(data.X_train, c), days(data.X_test, c)) for c in data.dates]
        dated = [(c, a, b) for c, a, b in dated if a is not None and b is not None and a.notna().any()]
        if not dated:
            return "no date column among the features"
        looked, worst = [], None
        for column, train, test in dated:
            start, end = train.min(), train.max()
            inside = test.between(start, end)
            share = float(inside.mean())
            looked.append(f"{column!r}: training {start:%Y-%m-%d} to {end:%Y-%m-%d}, {share:.0%} of the test rows "
                          "within")
            if share >= TIME_SHARE and (worst is None or share > worst[1]):
                worst = (column, share, int(inside.sum()), start, end, test.min(), test.max())
        if worst is None:
            return "; ".join(looked), None
        column, share, count, start, end, first, last = worst
        n = data.n_test
        return "; ".join(looked), Finding(
            "time_overlap", WARNING, f"{share:.0%} of the test rows fall within the training rows' dates ({column!r})",
            {"column": column, "training": [f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"],
             "test": [f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"], "share": share,
             "share_ci": wilson(count, n, z_for(ctx.cfg.bootstrap.level))},
            "A random split of data ordered in time lets the model learn from the future of the rows it is tested "
            "on: test on the rows after a cut-off date (data.test_path), as the model will be used.")

    @staticmethod
    def _duplicate_rows(ctx):
        data = ctx.data
        if data.logged is not None:
            return ("logged predictions: their other columns need not be the model's inputs, so equal values there "
                    "are not repeated rows")
        keys = keys_of(ctx, "test")
        repeated = pd.Series(keys).duplicated(keep="first").to_numpy()
        return counted_rows("duplicate_rows", int(repeated.sum()), len(keys), DUPLICATE_SHARE,
                            f"the {len(keys):,} test rows' features", "none repeated", "test rows ({share}) repeat "
                            "another test row", {"sample": [int(i) for i in np.flatnonzero(repeated)[:10]]},
                            "Repeated rows count twice in every metric and narrow its interval as if they were "
                            "independent evidence: drop the copies, or keep them only if each is a real case.")

    @staticmethod
    def _conflicting_labels(ctx):
        data = ctx.data
        frame = pd.DataFrame({"key": keys_of(ctx, "train"), "y": data.y_train.astype(str).to_numpy()})
        labels = frame.groupby("key")["y"].nunique()
        conflicted = frame["key"].isin(labels.index[labels > 1])
        return counted_rows("conflicting_labels", int(conflicted.sum()), len(frame), CONFLICT_SHARE,
                            f"the {len(frame):,} training rows' features and labels", "no twins with another label",
                            "training rows ({share}) have a twin with another label",
                            {"groups": int((labels > 1).sum())},
                            "Identical features with different labels cap what any model can reach and often "
                            "mean label noise or a missing column: check how those labels were recorded.")

    @staticmethod
    def _not_better_than_baseline(ctx):
        """Classification: the dummy (the training rows' class shares, scikit-learn's DummyClassifier(prior)) gives
        every row the same scores, so its ROC AUC is exactly 0.5 (without scores: its balanced accuracy exactly
        1 / classes, always the majority class): the model's interval from the metrics section against that value.
        Regression: the paired interval of the dummy's (the training mean) minus the model's absolute error per row."""
        data, pred, boot = ctx.data, ctx.predictions, ctx.cfg.bootstrap
        if not intervals_on(boot):
            return "bootstrap.resamples=0: no interval to judge the difference on"
        if data.task == "regression":
            y = data.y_test.to_numpy(dtype=float)
            rows = sample_rows(data.n_train, MAX_ROWS, ctx.seed)
            mean = float(data.y_train.to_numpy(dtype=float)[rows].mean())
            # absolute error: squared errors' heavy tails leave the interval too wide to judge on small test sets
            # (diabetes, 111 test rows, R² 0.20: squared-error difference [-431, 2445], absolute [1.2, 19.1])
            model_loss, dummy_loss = np.abs(y - pred.y_pred.astype(float)), np.abs(y - mean)
            ci = row_mean_interval(dummy_loss - model_loss, boot, ctx.bootstrap_seed)
            metric, model, dummy = "mae", float(model_loss.mean()), float(dummy_loss.mean())
            difference, difference_ci = dummy - model, ci
            looked = "per test row, the absolute error of a dummy (the training rows' mean) minus the model's"
        else:
            result = candidate_metrics(ctx, ctx.model)
            metric = "roc_auc" if result.values.get("roc_auc") is not None else "balanced_accuracy"
            model, ci = result.values.get(metric), result.ci.get(metric)
            if model is None or ci is None:
                return f"the model's {metric} has no interval"
            dummy = 0.5 if metric == "roc_auc" else 1 / len(data.labels)
            difference, difference_ci = model - dummy, [ci[0] - dummy, ci[1] - dummy]
            looked = (f"the model's {label(metric)} against a dummy's (the training rows' class shares: "
                      f"{dummy:.3g})")
        looked += f": difference {difference:.4g} [{difference_ci[0]:.4g}, {difference_ci[1]:.4g}]"
        if difference_ci[0] > 0:
            return looked, None
        evidence = {"metric": metric, "model": model, "model_ci": None if data.task == "regression" else ci,
                    "dummy": dummy, "difference": difference, "difference_ci": difference_ci}
        return looked, Finding("not_better_than_baseline", WARNING, f"the model is not clearly better than a dummy "
                               f"({label(metric)}: {difference:+.3g} [{difference_ci[0]:+.3g}, "
                               f"{difference_ci[1]:+.3g}] against the dummy's)", evidence,
                               "The model does not clearly beat predicting the training rows' "
                               + ("mean" if data.task == "regression" else "class shares") + ": check the "
                               "features reach the model, and the labels are the right ones.")

    @staticmethod
    def _fit(ctx):
        """(train score, its sample's rows, test score, the test score's interval, metric) of the configured model:
        accuracy for classes, R² for regression; the training rows' predictions made once (a seeded sample)."""
        data = ctx.data

        def compute():
            rows = sample_rows(data.n_train, FIT_ROWS, ctx.seed)
            predicted = ctx.model.estimator.predict(data.X_train.iloc[rows])
            return fit_score(data.y_train.to_numpy()[rows], predicted, data.task == "regression"), len(rows)

        train, m = ctx.shared(("checks: training rows' score",), compute)
        result = candidate_metrics(ctx, ctx.model)
        metric = "r2" if data.task == "regression" else "accuracy"
        return train, m, result.values.get(metric), result.ci.get(metric), metric

    @staticmethod
    def _overfitting(ctx):
        if ctx.model.estimator is None:
            return "no model to query on its training rows"
        train, m, test, ci, metric = ChecksAnalysis._fit(ctx)
        if train is None or test is None:
            return f"the {metric} is undefined here"
        n, z = ctx.data.n_test, z_for(ctx.cfg.bootstrap.level)
        if metric == "accuracy":
            gap_ci = newcombe(train * m, m, test * n, n, z)
            tolerance = OVERFIT_ACCURACY
        else:
            if ci is None:
                return "no interval of the test R²"
            gap_ci = [train - ci[1], train - ci[0]]  # the test score's spread (the training sample's is far smaller)
            tolerance = OVERFIT_R2
        gap = train - test
        sampled = "" if m == ctx.data.n_train else f" (a seeded sample of the {ctx.data.n_train:,})"
        looked = (f"{label(metric)} on {m:,} training rows{sampled} {train:.3f} against {test:.3f} on the test rows: "
                  "gap "
                  f"{gap:.3f} [{gap_ci[0]:.3f}, {gap_ci[1]:.3f}]")
        if gap_ci[0] <= tolerance:
            return looked, None
        return looked, Finding("overfitting", INFO, f"the model fits its training rows far better than the test rows "
                               f"({label(metric)} {train:.3f} against {test:.3f})",
                               {"metric": metric, "train": train, "train_rows": m, "test": test, "test_ci": ci,
                                "gap": gap, "gap_ci": gap_ci, "tolerance": tolerance},
                               "The model memorises its training rows: regularise it (fewer or shallower trees, "
                               "larger leaves, tuning=optuna), or give it more rows.")

    @staticmethod
    def _underfitting(ctx):
        if ctx.model.estimator is None:
            return "no model to query on its training rows"
        data = ctx.data
        train, m, _, _, metric = ChecksAnalysis._fit(ctx)
        if train is None:
            return f"the {metric} is undefined here"
        if metric == "accuracy":
            majority = float(data.y_train.astype(str).value_counts(normalize=True).iloc[0])
            ci = wilson(train * m, m, z_for(ctx.cfg.bootstrap.level))
            looked = (f"accuracy on {m:,} training rows {train:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] against the majority "
                      f"class's share {majority:.3f}")
            under = ci[0] <= majority
            evidence = {"metric": metric, "train": train, "train_ci": ci, "dummy": majority}
        else:
            looked = f"R² on {m:,} training rows {train:.3f}"
            under = train < UNDERFIT_R2
            evidence = {"metric": metric, "train": train, "dummy": 0.0}
        if not under:
            return looked, None
        return looked, Finding("underfitting", INFO, "the model does no better than a dummy on its own training rows",
                               evidence, "A model that cannot fit the rows it learnt from is too constrained, or "
                               "its features carry nothing about the label: loosen it, or check the features.")

    @staticmethod
    def _class_imbalance(ctx):
        data = ctx.data
        if data.task == "regression":
            return "regression: no classes"
        y = data.y_test if data.y_train is None else pd.concat([data.y_train, data.y_test], ignore_index=True)
        weights = None if data.weights is None or data.y_train is not None else data.weights
        counts = (pd.Series(weights).groupby(y.astype(str).to_numpy()).sum() if weights is not None
                  else y.astype(str).value_counts())
        shares = (counts / counts.sum()).sort_values()
        looked = f"the class shares of the {int(counts.sum()):,} labelled rows; the smallest {shares.iloc[0]:.1%}"
        if shares.iloc[0] >= min(MINORITY_SHARE, EVEN_FRACTION / len(shares)):
            return looked, None
        return looked, Finding("class_imbalance", WARNING,
                               f"class {shares.index[0]!r} is {shares.iloc[0]:.1%} of the rows",
                               {"shares": {str(k): float(v) for k, v in shares.items()}},
                               "Accuracy rewards predicting the large classes: read balanced accuracy, per-class "
                               "recall and precision, and average precision for the small class.")

    @staticmethod
    def _underrepresented_classes(ctx):
        data = ctx.data
        if data.task == "regression":
            return "regression: no classes"
        enc = ctx.encoded
        w = np.ones(len(enc.y_idx)) if enc.weight is None else enc.weight
        counts = np.bincount(enc.y_idx[enc.y_idx >= 0], w[enc.y_idx >= 0], minlength=len(data.labels))
        z = z_for(ctx.cfg.bootstrap.level)
        few = [(str(name), int(c)) for name, c in zip(data.labels, counts) if c < FEW_TEST_ROWS]
        looked = f"test rows per class: the fewest {int(counts.min()):,}"
        if not few:
            return looked, None
        needed = math.ceil((z / TARGET_WIDTH) ** 2)  # a proportion near 0.5 needs this many for a width of 0.1
        detail = []
        for name, c in few:
            low, high = wilson(c // 2, c, z) if c else (0.0, 1.0)
            detail.append({"class": name, "test_rows": c, "interval_width_at_half": high - low,
                           "rows_for_width": needed})
        return looked, Finding("underrepresented_classes", WARNING,
                               f"{len(few)} class(es) with fewer than {FEW_TEST_ROWS} test rows",
                               {"classes": detail},
                               f"Per-class numbers of these classes have intervals wider than about 0.5: about "
                               f"{needed} test rows per class give a width of {TARGET_WIDTH}; collect more, or merge "
                               "them.")

    @staticmethod
    def _useless_features(ctx):
        data = ctx.data
        constant = [str(c) for c in data.X_train.columns if data.X_train[c].nunique(dropna=False) <= 1]
        looked = f"the {data.X_train.shape[1]} columns' values on the training rows"
        if not constant:
            return looked, None
        return looked, useless_finding(constant, [], None)

    @staticmethod
    def _review_useless(result: ChecksResult, importance) -> None:
        """The permutation importance's columns whose interval of the mean drop reaches 0 (the importance section's
        shuffles, read here, not made twice)."""
        if importance is None:
            result.look("useless_features", "no permutation importance in this report (feature_importance)")
            return
        if importance.permutation_ci is None:
            result.look("useless_features", "permutation importance without an interval (one repeat, or "
                                            "bootstrap off)")
            return
        p = importance.permutation
        previous = next((f for f in result.findings if f.id == "useless_features"), None)
        constant = previous.evidence["constant"] if previous else []
        idle = [{"column": str(c), "drop": float(m), "drop_ci": ci}
                for c, m, ci in zip(importance.columns, p["mean"], importance.permutation_ci)
                if ci is not None and ci[0] <= 0 and str(c) not in constant]
        result.look("useless_features", f"the permutation importance of {len(importance.columns)} columns "
                    f"({p['scoring']}, {p['repeats']} shuffles on {importance.sample_size:,} test rows): "
                    f"{len(idle)} whose interval reaches 0")
        if idle:
            result.findings = [f for f in result.findings if f is not previous]
            result.findings.append(useless_finding(constant, idle, {"scoring": p["scoring"],
                                                                    "repeats": p["repeats"],
                                                                    "rows": importance.sample_size,
                                                                    "level": importance.ci_level}))

    @staticmethod
    def _importance_bias(ctx):
        data = ctx.data
        if ctx.model.estimator is None or data.image_shape:
            return "no model fitted here to read its own importances" if ctx.model.estimator is None else \
                "image data: pixels have no levels"
        columns = list(data.X_train.columns)
        native = native_importance(anatomy(ctx.model.estimator), columns)
        if native is None:
            return "the model has no importance of its own (split counts, impurity, coefficients)"
        # split counts where the model has them (LightGBM): the importance most drawn to columns of many values
        kind = "split" if "split" in native["values"] else next(iter(native["values"]))
        values = native["values"][kind]
        order = list(np.argsort(-np.asarray(values, dtype=float), kind="mergesort"))
        top = [columns[j] for j in order[:NATIVE_TOP]]

        def many_levels(c):
            v = data.X_train[c]
            whole = pd.api.types.is_integer_dtype(v) or not pd.api.types.is_numeric_dtype(v)
            return whole and not pd.api.types.is_bool_dtype(v) and v.nunique() > MANY_LEVELS

        suspects = [c for c in top if many_levels(c)]
        looked = (f"the {NATIVE_TOP} columns first by the model's {kind} importance ({', '.join(map(repr, top))}): "
                  f"{len(suspects)} of many values")
        if not suspects:
            return looked, None
        rows = sample_rows(data.n_test, SHUFFLE_ROWS, ctx.seed)
        X = data.X_test.iloc[rows].reset_index(drop=True)
        y = data.y_test.to_numpy()[rows]
        regression = data.task == "regression"

        def score(frame):
            return fit_score(y, ctx.model.estimator.predict(frame), regression)

        base = score(X)
        if base is None:
            return looked + "; the test rows' target is constant: R² is undefined", None
        rng = np.random.default_rng(ctx.seed)
        level = ctx.cfg.bootstrap.level  # the report's level (95 %: Student's t of 4 degrees of freedom)
        found = []
        for c in suspects:
            drops = []
            for _ in range(PERMUTATIONS):
                shuffled = X.copy()
                shuffled[c] = shuffled[c].to_numpy()[rng.permutation(len(X))]
                drops.append(base - score(shuffled))
            ci = repeat_interval(drops, level)
            if ci[0] <= 0:
                found.append({"column": str(c), "native_rank": top.index(c) + 1,
                              "levels": int(data.X_train[c].nunique()), "permutation_drop": float(np.mean(drops)),
                              "permutation_drop_ci": ci})
        if not found:
            return looked, None
        return looked, Finding("importance_bias", INFO, "the model's own importance ranks high "
                               + ", ".join(repr(f["column"]) for f in found) + ", which shuffling shows it does not "
                               "need", {"kind": kind, "columns": found, "rows": len(rows)},
                               "Split and impurity importances favour columns with many values (an id, a code): "
                               "read the permutation importance instead, and drop an identifier the model should "
                               "not learn from.")

    @staticmethod
    def _untuned_model(ctx):
        if ctx.model.estimator is None or ctx.data.X_train is None or ctx.cfg.model.path:
            return "no model fitted here: how a given model's parameters were chosen is not known to the report"
        if ctx.tuning is not None:
            return "a search ran (see search_edge)", None
        return "whether a search chose the parameters", Finding(
            "untuned_model", INFO, "the configured parameters were used without a search",
            {"why": ctx.tuning_skipped or "tuning is off"},
            "Defaults are a starting point: tuning=optuna searches model.search_space by cross-validation.")

    @staticmethod
    def _search_edge(ctx):
        o = ctx.tuning
        if o is None:
            return ctx.tuning_skipped or "no search ran"
        edges = []
        for p in o.params:
            value = o.best_params.get(p.name)
            if p.low is None or p.high is None or value is None or p.high == p.low:
                continue
            low, high, v = (math.log(p.low), math.log(p.high), math.log(value)) if p.log and value > 0 else \
                (float(p.low), float(p.high), float(value))
            at = (v - low) / (high - low)
            if at <= EDGE or at >= 1 - EDGE:
                edges.append({"parameter": p.name, "value": value, "low": p.low, "high": p.high,
                              "end": "low" if at <= EDGE else "high"})
        looked = f"the best trial's {len(o.params)} parameter(s) against their ranges"
        if not edges:
            return looked, None
        return looked, Finding("search_edge", INFO, "the best trial sits at the edge of the search: "
                               + ", ".join(f"{e['parameter']}={e['value']:g} ({e['end']} end)" for e in edges),
                               {"parameters": edges},
                               "The best value may lie beyond the range: widen it on that side and search again.")

    @staticmethod
    def _scores_not_probabilities(ctx):
        pred = ctx.predictions
        if ctx.data.task == "regression" or ctx.encoded.proba is None:
            return "no class scores"
        looked = "whether the scores are probabilities (each in [0, 1], a row's classes summing to 1)"
        if pred.probabilities:
            return looked, None
        proba = ctx.encoded.proba
        return looked, Finding("scores_not_probabilities", WARNING, "the scores are not probabilities",
                               {"min": float(np.nanmin(proba)), "max": float(np.nanmax(proba))},
                               "Log loss, Brier score, calibration and label-free estimates read scores as "
                               "probabilities and are not computed: pass probabilities (predict_proba, a softmax).")

    # ------------------------------------------------------------------------------- what later sections found

    reviews = True

    def review(self, result: ChecksResult, others: dict, ctx) -> None:
        ran = dict(result.ran)
        if "useless_features" in ran:
            self._review_useless(result, others.get("feature_importance"))
        if "scores_not_probabilities" in ran and not any(f.id == "scores_not_probabilities" for f in result.findings):
            self._review_calibration(result, others.get("calibration"))
        result.findings.sort(key=lambda f: (f.severity != WARNING, CHECKS.index(f.id)))

    @staticmethod
    def _review_calibration(result: ChecksResult, calibration) -> None:
        """Probabilities in form, read against the calibration section's slope: an interval that excludes 1 says
        the metrics that read them as probabilities measure the miscalibration too."""
        if calibration is None or calibration.slope_ci is None:
            result.look("scores_not_probabilities", "no calibration slope in this report (calibration)")
            return
        low, high = calibration.slope_ci
        slope = f"calibration slope {calibration.slope:.3f} [{low:.3f}, {high:.3f}]"
        result.look("scores_not_probabilities", f"the {calibration.main} scores' {slope}")
        if low <= 1 <= high:
            return
        result.findings.append(Finding(
            "scores_not_probabilities", INFO, f"the scores are not calibrated probabilities ({slope}: too "
            f"{'extreme' if high < 1 else 'cautious'})",
            {"slope": calibration.slope, "slope_ci": calibration.slope_ci, "scores": calibration.main,
             "marked": ["log_loss", "brier", "label-free estimates"]},
            "Log loss, the Brier score and estimates that trust the scores (monitoring without labels) measure this "
            "miscalibration along with the ranking: read ROC AUC and average precision for the ranking, and "
            "recalibrate (see the calibration section) before reading the scores as probabilities."))

    # ---------------------------------------------------------------------------------------------- the section

    def items(self, r: ChecksResult) -> list:
        items: list = []
        if r.findings:
            items.append(Table(["Severity", "Check", "Finding", "Advice"],
                               [[f.severity, f.id, f.title, f.advice] for f in r.findings],
                               caption="What the checks found; the numbers behind each are in metrics.json "
                                       "(results.checks.findings[].evidence).",
                               highlight_rows=[i for i, f in enumerate(r.findings) if f.severity == WARNING]))
        else:
            items.append(Paragraph(f"No finding: each of the {len(r.ran)} checks below looked and found nothing to "
                                   "question."))
        found = {f.id for f in r.findings}
        items.append(Table(["Check", "Looked at", "Found", "Rule"],
                           [[i, looked, "yes" if i in found else "no", RULES[i]] for i, looked in r.ran],
                           caption="Every check that ran, with what it looked at, whether or not it found something."))
        if r.skipped:
            items.append(Table(["Check", "Not run because"], [list(s) for s in r.skipped],
                               caption="Checks this run cannot make."))
        if r.ignored:
            items.append(Note("Silenced by analyses.checks.ignore: " + ", ".join(r.ignored) + "."))
        if FALSE_ALARMS.exists():  # (not yet, while bench/bench_checks.py measures it the first time)
            items.append(false_alarms())
        items += [Note(n) for n in r.notes]
        return items


def false_alarms() -> Table:
    """The measured table of what the checks raise on data with nothing wrong with it, and on faulty twins."""
    measured = json.loads(FALSE_ALARMS.read_text())
    rows = [[c["case"], "clean" if c["clean"] else "fault", ", ".join(c["warnings"]) or "-",
             ", ".join(c["information"]) or "-"] for c in measured["cases"]]
    true = [f"{c['case']}: {', '.join(c['expected'])}" for c in measured["cases"] if c["expected"]]
    return Table(["Case", "Data", "Warnings", "Information"], rows,
                 caption="How the thresholds were chosen: what the checks raise on data with nothing wrong with it "
                         "(a warning there would be a false alarm) and on twins built with one fault, measured with "
                         f"postreport {measured['version']} ({measured['command']}, the checks with the sections "
                         "they read)." + (" True of the clean data, not alarms: " + "; ".join(true) + "."
                                          if true else ""))
