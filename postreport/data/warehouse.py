"""Logged predictions too many to hold: aggregated where they live (DuckDB out of core on this machine, or Spark),
never loaded row by row.

Each pass over the data is one SQL query that both engines run as written (only the quoting of names and text
differs: postreport.data.engines). Classification takes two:
1. profile: per true label, the rows, the missing predictions and scores, the score range and whether every score
   is a probability;
2. cells: rows grouped by (true label, predicted label, score bin), with each group's row count and the sums of its
   scores, log losses and squared errors (multiclass: by (true, predicted) label, with the sums of log losses and
   Brier scores).
Regression: a profile, then cells of (absolute error's bin on a log scale, target's bin) with the sums every
metric needs, and the same sums per fine error bin for the median (`RegressionCells`).

The report is then computed from the cells as weighted rows (postreport.data.aggregated, `Dataset.weights`): counting
metrics and the confusion matrix are exact; log loss and Brier score are exact (sums of each row's own value); every
score in a bin counts as the bin's mean score, so ROC AUC is the binned AUC, within a bound the report states
(pairs of a positive and a negative in the same bin count as ties: at most half of them are misjudged); curves,
calibration and thresholds move in steps of one bin (1/`data.score_bins` of the score range). Bootstrap intervals
resample the cells (a multinomial over their row counts), so memory grows with cells, not rows. The engine stays
open (`Warehouse`) for the sections' own passes: slices (GROUP BY), error examples (top-k), samples.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError
from postreport.data import histograms
from postreport.data.decide import infer_task
from postreport.data.engines import ENGINES
from postreport.data.sources import Source

log = logging.getLogger("postreport")
EPS = float(np.finfo(float).eps)
MAX_LABELS = 1000


@dataclass
class Aggregation:
    """How the report's rows were read: shown in the report and in metrics.json (`data.aggregation`)."""

    engine: str
    rows: int  # rows read
    files: int
    cells: int
    passes: list = field(default_factory=list)  # [{"pass", "rows", "seconds"}]
    score_bins: Optional[int] = None
    score_range: Optional[tuple] = None
    auc_error_bound: Optional[float] = None
    median_ae_bound: Optional[float] = None

    def to_json(self) -> dict:
        return {"engine": self.engine, "rows_read": self.rows, "files": self.files, "cells": self.cells,
                "passes": self.passes, "score_bins": self.score_bins,
                "score_range": list(self.score_range) if self.score_range else None,
                "auc_error_bound": self.auc_error_bound, "median_ae_bound": self.median_ae_bound,
                "sampling": None}


class Passes:
    """Each query over the data is a pass: a progress line when it ends (rows read, seconds)."""

    def __init__(self, engine, rows: int, exact: bool = True):
        self.engine, self.rows, self.exact, self.done = engine, rows, exact, []

    def run(self, what: str, sql: str, counted=None, rows: Optional[int] = None) -> pd.DataFrame:
        """The query's result; `counted(result)` gives the rows read when the result counts them (the profile);
        `rows`: the rows of another view read (a drift reference), said instead of the predictions'."""
        start = time.perf_counter()
        log.info("%s pass %d (%s) ...", self.engine.name, len(self.done) + 1, what)
        frame = self.engine.query(sql)
        seconds = time.perf_counter() - start
        if counted is not None:
            self.rows, self.exact = counted(frame), True
        read = self.rows if rows is None else rows
        self.done.append({"pass": what, "rows": read, "seconds": round(seconds, 2)})
        log.info("%s pass %d (%s): %s%s rows read in %.1f s", self.engine.name, len(self.done), what,
                 "" if self.exact or rows is not None else "about ", f"{read:,}", seconds)
        return frame


class Warehouse:
    """The engine open on the predictions, with what every pass shares: the true and predicted label expressions
    and the rows kept. Sections that need more than the cells (slices, error examples) run their own pass here."""

    def __init__(self, cfg, source: Source, engine):
        self.cfg, self.source, self.engine = cfg, source, engine
        q = engine.ident
        self.y = q(cfg.target)
        self.pred = q(cfg.prediction) if cfg.prediction and cfg.prediction in source.columns else None
        self.score_columns = list(cfg.scores)  # in the order of the labels once the profile has decided them
        self.scores = [q(c) for c in cfg.scores]
        self.where = f"{self.y} IS NOT NULL"
        self.confidence = self.p_true = None  # the scores of the predicted and of the true class (when given)
        self.error_bin = self.sums = self.terms = None  # regression: the error bins and per-cell sums (SQL)
        self.passes = Passes(engine, source.rows, source.rows_exact)  # CSV: estimated until the profile counts
        used = {cfg.target, cfg.prediction, *cfg.scores}
        self.features = {c: kind for c, kind in source.columns.items() if c not in used}  # name -> type

    def run(self, what: str, sql: str, counted=None, rows: Optional[int] = None) -> pd.DataFrame:
        return self.passes.run(what, sql, counted, rows)

    def close(self) -> None:
        self.engine.close()

    # ------------------------------------------------ the sections' own passes: their SQL is written here, once

    def attach(self, view: str, source: Source) -> dict:
        """Another Source's files as the view `view` (a drift reference): its columns' kinds."""
        self.engine.register(view, source)
        return self.engine.column_types(view)

    def _period(self, by: str, period) -> str:
        return self.engine.period(self.engine.ident(by), period)

    def _in_periods(self, by: str, period, names) -> str:
        return f"{self._period(by, period)} IN ({', '.join(self.engine.literal(p) for p in names)})"

    def sample(self, what: str, columns, rows: int, seed: int, view: str = "src", periods: Optional[tuple] = None,
               rows_read: Optional[int] = None) -> pd.DataFrame:
        """A seeded sample of `rows` rows of these columns of `view`; periods: (date column, period, names) keeps
        the rows of those periods; rows_read: the view's rows, when it is not the predictions'."""
        where = "" if periods is None else f" WHERE {self._in_periods(*periods)}"
        select = f"SELECT {', '.join(self.engine.ident(c) for c in columns)} FROM {view}{where}"
        return self.run(what, self.engine.sample(select, rows, seed), rows=rows_read)

    def labelled_sample(self, what: str, rows: int, seed: int) -> pd.DataFrame:
        """A seeded sample of the labelled rows' target `y` and prediction `p`."""
        return self.run(what, self.engine.sample(f"SELECT {self.y} AS y, {self.pred} AS p FROM src WHERE "
                                                 f"{self.where}", rows, seed))

    def histograms(self, what: str, bins: list, kinds: dict, view: str = "src", periods: Optional[tuple] = None,
                   rows_read: Optional[int] = None) -> pd.DataFrame:
        """Every column's counts on its bins (histograms.histogram_sql): one row, or one per period (column `g`)
        of those periods: (date column, period, names)."""
        if periods is None:
            return self.run(what, histograms.histogram_sql(self.engine, view, bins, kinds), rows=rows_read)
        group = self._period(*periods[:2])
        return self.run(what, histograms.histogram_sql(self.engine, view, bins, kinds, group,
                                                       self._in_periods(*periods)), rows=rows_read)

    def period_cells(self, by: str, period, regression: bool, confidence: bool) -> pd.DataFrame:
        """Rows per period of the date column `by` (null: undated): regression, with the sums of the absolute
        errors and their squares; classification, per (period, true label, predicted label), with the sums of the
        predicted class's score and its square when `confidence` (rows without a label yet count, y null)."""
        when = self._period(by, period)
        if regression:
            ae = f"ABS({self.pred} - {self.y})"
            return self.run("over time", f"SELECT {when} AS period, COUNT(*) AS n, SUM({ae}) AS ae, "
                                         f"SUM({ae} * {ae}) AS se FROM src WHERE {self.y} IS NOT NULL AND "
                                         f"{self.pred} IS NOT NULL GROUP BY {when}")
        present = " AND ".join([f"{self.pred} IS NOT NULL"] + [f"{s} IS NOT NULL" for s in self.scores])
        conf = self.confidence if confidence and self.confidence is not None else "NULL"
        return self.run("over time", (
            f"SELECT period, y, pred, COUNT(*) AS n, SUM(c) AS conf, SUM(c * c) AS conf2 FROM (SELECT {when} AS "
            f"period, {self.y} AS y, {self.pred} AS pred, CAST({conf} AS DOUBLE) AS c FROM src WHERE {present}) "
            "AS t GROUP BY period, y, pred"))

    def distinct_counts(self, what: str, columns: list) -> dict:
        """About how many distinct values each column holds (the engine's approximate count)."""
        q = self.engine.ident
        counted = self.run(what, "SELECT " + ", ".join(f"approx_count_distinct({q(c)}) AS {q(f'k{i}')}"
                                                       for i, c in enumerate(columns)) + " FROM src")
        return {c: int(counted.iloc[0, i]) for i, c in enumerate(columns)}

    def _text(self, column: str) -> str:
        return histograms.text(self.engine, column, self.features.get(column, ""))

    def slice_counts(self, what: str, columns: list, regression: bool) -> pd.DataFrame:
        """Per column (k: its position) and value as text (v), the labelled rows of each (true, predicted) pair
        (y, pred, n); regression: per value and fine error bin (eb), the sums every metric needs."""
        if regression:
            sql = " UNION ALL ".join(
                f"SELECT {i} AS k, v, eb, {self.sums} FROM (SELECT {self._text(c)} AS v, {self.terms}, "
                f"{self.error_bin(1024)} AS eb FROM src WHERE {self.where}) AS t GROUP BY v, eb"
                for i, c in enumerate(columns))
        else:
            sql = " UNION ALL ".join(
                f"SELECT {i} AS k, {self._text(c)} AS v, {self.y} AS y, {self.pred} AS pred, COUNT(*) AS n FROM src "
                f"WHERE {self.where} GROUP BY {self._text(c)}, {self.y}, {self.pred}" for i, c in enumerate(columns))
        return self.run(what, sql)

    def wrong_rows(self, what: str, regression: bool, features: list, top: int, seed: int) -> tuple:
        """(rows, how): the labelled rows whose prediction is wrong, with the target, the prediction and then the
        residual (regression) or the predicted and the true class's scores (when given), then `features`:
        the `top` largest residuals, the most confident wrong predictions, or (no scores) a seeded sample of them.
        how: "residual", "confidence" or "sample"."""
        q = self.engine.ident
        if regression:
            exprs = [self.y, self.pred, f"{self.pred} - {self.y}"]
        else:
            exprs = [self.y, self.pred] + ([self.confidence, self.p_true] if self.confidence else [])
        select = ", ".join([f"{e} AS {q(f'postreport {i}')}" for i, e in enumerate(exprs)] + [q(f) for f in features])
        wrong = f"SELECT {select} FROM src WHERE {self.where} AND {self.pred} <> {self.y}"
        if regression:
            how, sql = "residual", f"{wrong} ORDER BY ABS({q('postreport 2')}) DESC LIMIT {int(top)}"
        elif self.confidence:
            how, sql = "confidence", f"{wrong} ORDER BY {q('postreport 2')} DESC, {q('postreport 3')} LIMIT {int(top)}"
        else:
            how, sql = "sample", self.engine.sample(wrong, top, seed)
        return self.run(what, sql), how


def open_warehouse(cfg, source: Source, engine_name: str) -> Warehouse:
    """The engine open on `source` (CSV columns typed by the engine's own sniffing; the header only names them).
    Its owner closes it (postreport.data.aggregated: on an error, or when the report's sections are done)."""
    engine = ENGINES[engine_name](source, cfg)
    try:
        if source.kind != "parquet":
            source.columns.update({c: kind for c, kind in engine.column_types().items() if c not in source.partitions})
        return Warehouse(cfg, source, engine)
    except BaseException:
        engine.close()
        raise


def classification_profile(wh: Warehouse) -> pd.DataFrame:
    """Pass 1: per true label, the rows, the rows with a prediction and with each score, each score's range and
    infinities, and (several scores) the rows whose scores do not sum to 1."""
    cfg, source = wh.cfg, wh.source
    y, pred, scores = wh.y, wh.pred, wh.scores
    numeric = {c: source.columns[c] for c in cfg.scores if source.columns[c] not in ("number", "integer")}
    if numeric:  # CSV: typed by the engine's sniffing (Parquet's stored types were checked when resolved)
        column, kind = next(iter(numeric.items()))
        raise UserError(f"column {column!r} must hold numbers (the engine reads it as {kind} in "
                        f"{source.files[0]}: some values are not numbers); data.scores names the score columns")
    parts = ["COUNT(*) AS n"]
    if pred:
        parts.append(f"COUNT({pred}) AS n_pred")
    for i, s in enumerate(scores):
        parts += [f"COUNT({s}) AS n_s{i}", f"MIN({s}) AS min_s{i}", f"MAX({s}) AS max_s{i}",
                  f"SUM(CASE WHEN ABS({s}) = CAST('Infinity' AS DOUBLE) THEN 1 ELSE 0 END) AS inf_s{i}"]
    if len(scores) > 1:
        total = " + ".join(scores)
        parts.append(f"SUM(CASE WHEN ABS({total} - 1) > 0.001 THEN 1 ELSE 0 END) AS off_sum")
    return wh.run("profile", f"SELECT {y} AS y, {', '.join(parts)} FROM src GROUP BY {y}",
                  counted=lambda frame: int(frame["n"].sum()))


def classification_cells(wh: Warehouse, profile: pd.DataFrame, decided) -> tuple:
    """Pass 2, once the labels are decided (postreport.data.aggregated.Decision): the cells and how they were read."""
    cfg = wh.cfg
    wh.score_columns = list(decided.score_columns)  # in the order of the labels
    wh.scores = [wh.engine.ident(c) for c in decided.score_columns]
    if cfg.missing == "drop":
        wh.where = " AND ".join([wh.where] + [f"{c} IS NOT NULL" for c in ([wh.pred] if wh.pred else []) + wh.scores])
    if decided.task == "binary":
        cells, bins, low, high = _binary_cells(wh, profile, decided.labels, decided.positive, decided.probabilities)
    else:
        cells, bins, low, high = _multiclass_cells(wh, decided.labels)
    order = [c for c in ("bin", "y", "pred") if c in cells]  # one order whatever the engine's: the same report
    cells = cells.sort_values(order, kind="mergesort", ignore_index=True)
    aggregation = Aggregation(engine=wh.engine.name, rows=int(cells["n"].sum()), files=len(wh.source.files),
                              cells=len(cells), passes=wh.passes.done, score_bins=bins,
                              score_range=None if low is None else (low, high))
    return cells, aggregation


def _binary_cells(wh: Warehouse, profile, labels, positive, probabilities):
    cfg, y = wh.cfg, wh.y
    if not wh.scores:
        sql = f"SELECT {y} AS y, {wh.pred} AS pred, COUNT(*) AS n FROM src WHERE {wh.where} GROUP BY {y}, {wh.pred}"
        return wh.run("cells", sql), None, None, None
    s = wh.scores[0]
    low = 0.0 if probabilities else float(profile["min_s0"].min())
    high = 1.0 if probabilities else float(profile["max_s0"].max())
    bins = int(cfg.score_bins)
    scale = bins / (high - low) if high > low else 1.0  # multiplied, not divided by a width: 0.5 * 100000 is exact
    negative = next(label for label in labels if label != positive)
    literal = wh.engine.literal
    is_pos = f"({y} = {literal(positive)})"
    if wh.pred is None:
        threshold = 0.5 if cfg.threshold is None else float(cfg.threshold)
        wh.pred = f"(CASE WHEN {s} >= {threshold!r} THEN {literal(positive)} ELSE {literal(negative)} END)"
    wh.confidence = f"(CASE WHEN {wh.pred} = {literal(positive)} THEN {s} ELSE 1 - {s} END)"
    wh.p_true = f"(CASE WHEN {is_pos} THEN {s} ELSE 1 - {s} END)"
    clipped = f"LEAST(GREATEST({s}, {EPS!r}), {1 - EPS!r})"
    sql = (f"SELECT y, pred, bin, COUNT(*) AS n, SUM(s) AS s_sum, MIN(s) AS s_min, MAX(s) AS s_max, "
           f"SUM(loss) AS loss_sum, SUM(sq) AS sq_sum FROM ("
           f"SELECT {y} AS y, {wh.pred} AS pred, {s} AS s, "
           f"LEAST(GREATEST(CAST(FLOOR(({s} - {low!r}) * {scale!r}) AS BIGINT), 0), {bins - 1}) AS bin, "
           f"CASE WHEN {is_pos} THEN -LN({clipped}) ELSE -LN(1 - {clipped}) END AS loss, "
           f"POWER((CASE WHEN {is_pos} THEN 1.0 ELSE 0.0 END) - {s}, 2) AS sq "
           f"FROM src WHERE {wh.where}) AS t GROUP BY y, pred, bin")
    return wh.run("cells", sql), bins, low, high


def _multiclass_cells(wh: Warehouse, labels):
    literal = wh.engine.literal
    if wh.pred is None:  # the top class's label, the first on ties (as numpy's argmax)
        top = f"GREATEST({', '.join(wh.scores)})"
        cases = " ".join(f"WHEN {s} = {top} THEN {literal(label)}" for s, label in zip(wh.scores, labels))
        wh.pred = f"(CASE {cases} END)"
    sums = ""
    if wh.scores:
        wh.confidence, wh.p_true = (
            "(CASE " + " ".join(f"WHEN {label_of} = {literal(label)} THEN {s}" for s, label in zip(wh.scores, labels))
            + " END)" for label_of in (wh.pred, wh.y))
        brier = " + ".join(f"POWER((CASE WHEN {wh.y} = {literal(label)} THEN 1.0 ELSE 0.0 END) - {s}, 2)"
                           for s, label in zip(wh.scores, labels))
        sums = (f", SUM(-LN(LEAST(GREATEST({wh.p_true}, {EPS!r}), {1 - EPS!r}))) AS loss_sum, "
                f"SUM({brier}) AS sq_sum")
    sql = (f"SELECT {wh.y} AS y, {wh.pred} AS pred, COUNT(*) AS n{sums} FROM src WHERE {wh.where} "
           f"GROUP BY {wh.y}, {wh.pred}")
    return wh.run("cells", sql), None, None, None


def is_regression(wh: Warehouse) -> bool:
    """data.task=regression, or a numeric target that the in-memory rule (postreport.data.infer_task) calls one:
    decided on its distinct values (more than a classifier's MAX_LABELS: regression)."""

    cfg = wh.cfg
    if cfg.task is not None or wh.source.columns.get(cfg.target) not in ("number", "integer"):
        return cfg.task == "regression"
    distinct = wh.run("distinct labels", f"SELECT DISTINCT {wh.y} AS y FROM src WHERE {wh.y} IS NOT NULL "
                                         f"LIMIT {MAX_LABELS + 1}")["y"]
    return len(distinct) > MAX_LABELS or len(distinct) >= 2 and infer_task(distinct) == "regression"


ERROR_BINS, COARSE_ERROR_BINS, TARGET_BINS = 100_000, 1024, 64


def regression_profile(wh: Warehouse) -> pd.Series:
    """Pass 1 of regression: rows, missing and infinite values, the target's mean and range, the errors' scale."""
    cfg, y = wh.cfg, wh.y
    if wh.pred is None:
        raise UserError("regression predictions need data.prediction, the column of predicted values")
    for key, column in (("data.target", cfg.target), ("data.prediction", cfg.prediction)):
        kind = wh.source.columns[column]
        if kind not in ("number", "integer"):
            raise UserError(f"{key}={column!r} must hold numbers for regression; it is {kind} in {wh.source.files[0]}")
    pred, inf = wh.pred, "CAST('Infinity' AS DOUBLE)"
    profile = wh.run("profile", (
        f"SELECT COUNT(*) AS n, COUNT({y}) AS n_y, COUNT({pred}) AS n_pred, "
        f"SUM(CASE WHEN ABS({y}) = {inf} THEN 1 ELSE 0 END) AS inf_y, "
        f"SUM(CASE WHEN ABS({pred}) = {inf} THEN 1 ELSE 0 END) AS inf_pred, "
        f"SUM(CASE WHEN {y} IS NOT NULL AND {pred} IS NULL THEN 1 ELSE 0 END) AS no_pred, "
        f"AVG({y}) AS mean_y, MIN({y}) AS min_y, MAX({y}) AS max_y, AVG(ABS({pred} - {y})) AS mean_ae, "
        f"MAX(ABS({pred} - {y})) AS max_ae FROM src"), counted=lambda frame: int(frame["n"].iloc[0])).iloc[0]
    return profile


def regression_cells(wh: Warehouse, profile: pd.Series) -> tuple:
    """Pass 2 of regression: absolute errors in ERROR_BINS bins on a log scale (the median absolute error within its
    bin, the largest exactly), and cells of (coarse error bin, target bin) with the sums every metric needs (exact:
    MAE, RMSE, R², MAPE, max error) and the bootstrap resamples. (RegressionCells, Aggregation)."""
    y, pred = wh.y, wh.pred
    wh.where = f"{y} IS NOT NULL AND {pred} IS NOT NULL"
    shift = float(profile["mean_y"])  # sums of (y - shift): R²'s total sum of squares without cancellation
    scale = float(profile["mean_ae"]) or 1.0
    top = float(np.log1p(float(profile["max_ae"]) / scale)) or 1.0
    low, high = float(profile["min_y"]), float(profile["max_y"])
    ae = f"ABS({pred} - {y})"
    wh.error_bin = lambda bins: (f"LEAST(CAST(FLOOR(LN(1 + {ae} / {scale!r}) * {bins / top!r}) AS BIGINT), "
                                 f"{bins - 1})")
    wh.sums = ("COUNT(*) AS n, SUM(ae) AS ae, SUM(ae * ae) AS se, SUM(e) AS e, SUM(d) AS d, SUM(d * d) AS d2, "
               "SUM(rel) AS rel, SUM(ae * ae * ae * ae) AS se2, SUM(rel * rel) AS rel2, SUM(zero) AS zeros, "
               "SUM(exact) AS exact, MIN(ae) AS lo, MAX(ae) AS hi")
    wh.terms = (f"{ae} AS ae, {pred} - {y} AS e, {y} - {shift!r} AS d, "
                f"CASE WHEN {y} <> 0 THEN {ae} / ABS({y}) ELSE 0 END AS rel, "
                f"CASE WHEN {y} = 0 THEN 1 ELSE 0 END AS zero, CASE WHEN {ae} = 0 THEN 1 ELSE 0 END AS exact")
    y_bin = (f"LEAST(GREATEST(CAST(FLOOR(({y} - {low!r}) * {TARGET_BINS / (high - low) if high > low else 1.0!r}) "
             f"AS BIGINT), 0), {TARGET_BINS - 1})")
    rows = wh.run("cells", (
        f"SELECT fine, eb, yb, {wh.sums} FROM (SELECT {wh.terms}, {wh.error_bin(ERROR_BINS)} AS fine, "
        f"{wh.error_bin(COARSE_ERROR_BINS)} AS eb, {y_bin} AS yb FROM src WHERE {wh.where}) AS t "
        f"GROUP BY GROUPING SETS ((fine), (eb, yb))"))
    fine = rows[rows["fine"].notna()].sort_values("fine", ignore_index=True)
    cells = RegressionCells(rows[rows["fine"].isna()].sort_values(["eb", "yb"], ignore_index=True), fine, shift)
    aggregation = Aggregation(engine=wh.engine.name, rows=int(cells.cells["n"].sum()), files=len(wh.source.files),
                              cells=len(cells.cells), passes=wh.passes.done)
    aggregation.median_ae_bound = cells.median()[1]
    return cells, aggregation


@dataclass
class RegressionCells:
    """Aggregated regression predictions: `cells` (coarse error bin x target bin) with each cell's rows and sums of
    |e|, e², e, y - shift, (y - shift)², |e| / |y|, e⁴, (|e| / |y|)² (the last two for bootstrap-t intervals), rows with y = 0, rows with e = 0, and the least and largest |e|;
    `fine`: the same per fine error bin (for the median)."""

    cells: pd.DataFrame
    fine: pd.DataFrame
    shift: float

    def median(self) -> tuple:
        """The median absolute error, and the most it can be off: the middle rows' bins hold every |e| between
        their least and largest."""
        n = self.fine["n"].to_numpy(dtype=float)
        cum = np.cumsum(n)
        total = cum[-1]
        picks = [int(np.searchsorted(cum, k, side="right")) for k in ((total - 1) // 2, total // 2)]
        lo, hi = self.fine["lo"].to_numpy(float), self.fine["hi"].to_numpy(float)
        mean = np.clip(self.fine["ae"].to_numpy(float) / n, lo, hi)
        value = float(np.mean([mean[i] for i in picks]))
        return value, float(max(hi[i] - lo[i] for i in picks))


def auc_error_bound(y_bin: np.ndarray, bins: np.ndarray, weight: np.ndarray) -> float:
    """The most the binned ROC AUC can differ from the exact one: half the share of (positive, negative) pairs
    whose scores share a bin (each such pair counts 1/2; exactly, it counts 0, 1/2 or 1)."""
    pos = np.bincount(bins, weight * y_bin)
    neg = np.bincount(bins, weight * (1 - y_bin))
    P, N = pos.sum(), neg.sum()
    return float(0.5 * np.dot(pos, neg) / (P * N)) if P and N else 0.0
