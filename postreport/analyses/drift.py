"""Data drift between the training rows (the reference) and the test rows (current): per column a test and an effect
size with its interval, the population stability index, false discoveries controlled over the columns; a domain
classifier that tries to tell the two apart; prediction and label drift; and which drifted columns the model uses."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from postreport.stats.bootstrap import intervals_on
from postreport.data import histograms
from postreport.data.sources import resolve
from postreport.data.run_files import METRICS, PREDICTIONS, is_run_folder, read_predictions
from postreport.data.tables import read_source
from postreport.errors import UserError, at_least, strictly_between
from postreport.explain.anatomy import anatomy
from postreport.explain.attributions import native_importance
from postreport.report.figures import Lines, Panels, Series
from postreport.report.model import Estimate, Figure, Note, Table
from postreport.stats.sampling import sample_rows
from postreport.stats import drift as st
from postreport.stats.proportions import z_for
from postreport.stats.ranking import macro_auc_interval, rank_auc
from postreport.analyses.base import TABULAR, Analysis
from postreport.planning.costs import ModelCost
from postreport.planning.plan import Step
from postreport.run.baseline import score_column

DRIFT_SECONDS_PER_CELL = 2e-7  # the per-column tests, per row x column of both samples
DRIFT_SECONDS_PER_COLUMN = 2e-3  # and per column (scipy's KS and Wasserstein calls: 2,000 columns, 4 s)


@dataclass
class DriftSettings:
    reference: Optional[str] = None  # reference rows: a CSV/Parquet file, a folder or glob of them (as data.path of
    # data=predictions), or a run folder (its predictions); null: the training rows
    q: float = 0.1  # false discovery rate over the columns tested (Benjamini-Hochberg): drifted at q <= this
    bins: int = 10  # numeric columns: the reference's quantile bins (PSI, figures)
    domain_rows: int = 20000  # the domain classifier learns from at most this many rows per side
    figures: int = 6  # drifted columns drawn, largest effect first

    def __post_init__(self):
        strictly_between("analyses.drift.q", self.q, 0, 1)
        at_least("analyses.drift.bins", self.bins, 2)
        at_least("analyses.drift.domain_rows", self.domain_rows, 50)
        at_least("analyses.drift.figures", self.figures, 0)


@dataclass
class DriftResult:
    columns: list  # [{name, kind, test, statistic, p_value, q_value, effect: {name, value, ci}, psi, drifted,
    #                 importance, missing: [reference share, current share]}]
    q: float
    n_reference: int
    n_current: int
    domain_classifier: Optional[dict] = None  # {auc, auc_ci, top_columns, rows}
    prediction: Optional[dict] = None  # {test, statistic, p_value}
    label: Optional[dict] = None
    shapes: list = field(default_factory=list)  # figure data per drawn column: (name, kind, x labels, ref, cur)
    notes: list = field(default_factory=list)
    reference: Optional[str] = None  # the reference file; None: the training rows
    current: str = "the test rows"  # or "the logged predictions"

    @property
    def drifted(self) -> list:
        return [c for c in self.columns if c["drifted"]]

    @property
    def reference_words(self) -> str:
        return "the training rows" if self.reference is None else f"the reference {Path(self.reference).name!r}"

    @property
    def share_drifted(self) -> float:
        return len(self.drifted) / len(self.columns) if self.columns else 0.0

    def headline(self) -> str:
        if not self.columns:
            moved = [what for what, d in (("predictions", self.prediction), ("labels", self.label))
                     if d is not None and d["p_value"] < self.q]
            return (f"Drift from {self.reference_words} to {self.current}: "
                    + (f"the {' and the '.join(moved)} moved." if moved else "no clear change in predictions or "
                       "labels."))
        drifted = sorted(self.drifted, key=lambda c: -(c["importance"] or 0))
        text = (f"Drift from {self.reference_words} to {self.current}: {len(drifted)} of {len(self.columns)} columns "
                f"drifted (q ≤ {self.q:g})")
        used = [c["name"] for c in drifted if (c["importance"] or 0) > 0]
        if used:
            text += f"; the model uses {', '.join(repr(n) for n in used[:3])}"
        d = self.domain_classifier
        if d is not None:
            ci = d.get("auc_ci")
            auc = f"ROC AUC {d['auc']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            if ci is None:
                text += f"; a classifier trying to tell the two apart: {auc} (no interval; 0.5: it cannot)"
            elif ci[0] > 0.5:
                text += f"; a classifier tells the two apart: {auc}, above 0.5"
            else:
                text += f"; a classifier cannot tell the two apart: {auc} holds 0.5"
        return text + "."

    def gate_values(self) -> dict:
        out = {"drift_share": (self.share_drifted, None)}
        if self.domain_classifier is not None:
            out["domain_auc"] = (self.domain_classifier["auc"], self.domain_classifier.get("auc_ci"))
        return out

    def to_json(self) -> dict:
        return {"columns": self.columns, "share_drifted": self.share_drifted, "q": self.q,
                "reference": self.reference or "training rows",
                "n_reference": self.n_reference, "n_current": self.n_current,
                "domain_classifier": self.domain_classifier, "prediction": self.prediction, "label": self.label,
                "notes": list(self.notes)}


SHOWN = 20  # columns in the table besides the drifted ones (lowest q first); all of them are in metrics.json


class DriftAnalysis(Analysis):
    name = "drift"
    title = "Data drift"
    lead = "Has the data moved from the rows the model learned from to the rows it is judged on, and does it matter?"
    Settings = DriftSettings

    def offers_gate(self, name: str) -> bool:
        return name in ("drift_share", "domain_auc")

    aggregated = True  # on aggregated input: per-column counts where the rows live (engine_drift)

    def check(self, data, settings: DriftSettings) -> None:
        if settings.reference is None or is_run_folder(settings.reference):
            return
        folder = Path(settings.reference).expanduser()
        if (folder / METRICS).is_file():
            raise UserError(f"analyses.drift.reference={settings.reference!r} is a run folder without "
                            "predictions.parquet (a run on aggregated input writes none); give a run folder that has "
                            "one, or a file, folder or glob of reference rows")
        resolve(settings.reference, "analyses.drift.reference")  # a file, folder or glob of data files

    needs = (TABULAR,)

    def skip_reason(self, ctx, settings) -> Optional[str]:
        if settings.reference is None and (ctx.data.X_train is None or ctx.data.n_train == 0):
            return ("There is no reference: drift compares the training rows with the test rows, and there are none; "
                    "set analyses.drift.reference=PATH (rows the model was trained on, or an earlier period).")
        if not ctx.data.columns and not is_run_folder(settings.reference):
            return "The data has no feature columns."
        return None

    def plan(self, plan, settings) -> list:
        """The per-column tests on every row, and the domain classifier's folds on at most domain_rows per side."""
        shape = plan.shape
        if shape.n_train == 0:
            return []
        rows = min(shape.n_train, settings.domain_rows) + min(shape.n_test, settings.domain_rows)
        domain = ModelCost("gbdt", trees=100, leaves=15)
        seconds = ((DRIFT_SECONDS_PER_CELL * (shape.n_train + shape.n_test) + DRIFT_SECONDS_PER_COLUMN)
                   * max(shape.n_features, 1) + domain.fit_seconds(rows // 2, shape.n_features, 2))
        if settings.reference is None and shape.trainable and plan.cost is not None:
            # prediction drift: the model's predictions on a sample of the training rows
            seconds += plan.cost.predict_seconds(min(shape.n_train, settings.domain_rows, PREDICTION_ROWS),
                                                 shape.n_features, shape.n_classes)
        return [Step("drift", "per-column tests and the domain classifier (fitted on half the rows)", seconds,
                     rows=rows)]

    def compute(self, ctx, settings: DriftSettings) -> DriftResult:
        if settings.reference is not None and is_run_folder(settings.reference):
            return run_folder_drift(ctx, settings)
        if ctx.data.warehouse is not None:
            return engine_drift(ctx, settings)
        ref_frame, cur_frame, notes = reference_rows(ctx, settings)
        result = DriftResult([], settings.q, len(ref_frame), len(cur_frame), notes=notes,
                             reference=settings.reference, current=_current_words(ctx.data))
        weights = _importance(ctx)
        for name in ref_frame.columns:
            column = column_drift(name, ref_frame[name], cur_frame[name], settings, ctx.cfg.bootstrap.level)
            column["importance"] = weights.get(name)
            result.columns.append(column)
        _flag(result, settings)
        result.domain_classifier = _domain_classifier(ref_frame, cur_frame, ctx, settings, result)
        if settings.reference is None:  # the model's predictions and the labels of the training rows
            result.prediction, result.label = _prediction_drift(ctx, settings), _label_drift(ctx)
        return result

    def items(self, r: DriftResult) -> list:
        ordered = sorted(r.columns, key=lambda c: (not c["drifted"], c["q_value"]))
        shown = ordered[: max(len(r.drifted), SHOWN)]
        rows = [[c["name"], c["kind"], c["p_value"], c["q_value"], c["effect"]["value"],
                 Estimate(c["shift"]["value"], c["shift"]["ci"],
                          "" if c["shift"]["level"] is None else repr(c["shift"]["level"])), c["psi"],
                 "" if c["importance"] is None else f"{c['importance']:.1%}", "drifted" if c["drifted"] else ""]
                for c in shown]
        more = len(r.columns) - len(shown)
        numeric = next((c["test"] for c in r.columns if c["kind"] == "numeric"), "Kolmogorov-Smirnov")
        items: list = [Note(r.headline(), "warning" if r.drifted else "info")]
        if r.columns:
            items.append(Table(
                ["Column", "Kind", "p", "q", "Size", "Shift [CI]", "PSI", "Model's use", "Flag"], rows,
                caption=f"Reference: {r.reference_words} ({r.n_reference:,} rows); current: {r.current} "
                        f"({r.n_current:,} rows). Numeric columns: {numeric} test, size = Wasserstein distance in "
                        "reference standard deviations; categorical: chi-squared test, size = Jensen-Shannon distance "
                        f"(0 same mix, 1 disjoint). q: Benjamini-Hochberg over the {len(r.columns)} columns, drifted "
                        f"at q ≤ {r.q:g}. Shift, with its interval: numbers, the change of the mean in reference "
                        "standard deviations; categories, the largest change of one category's share (named; the "
                        "interval simultaneous over the categories, Bonferroni). "
                        "PSI on the reference's bins (0.1 and 0.25 are the usual alert levels). "
                        "Model's use: the column's share of the model's own importance."
                        + (f" {more} more columns, none drifted, are in metrics.json." if more else "")))
            items.append(Note("The sizes (distances) have no interval: two samples of one distribution are at a "
                              "positive distance, so a bootstrap interval would lie above 0 and never hold a true 0 "
                              "(simulated: 0 % coverage without drift). The signed shift beside each has one, which "
                              "holds 0 at its nominal rate when nothing moved; whether a column moved is its "
                              "q-value."))
        if r.shapes:
            panels = [Lines([Series(list(range(len(labels))), ref, "reference", "step"),
                             Series(list(range(len(labels))), cur, "current", "step")],
                            title=str(name), ylabel="share of rows", xticklabels=labels)
                      for name, kind, labels, ref, cur in r.shapes]
            items.append(Figure(Panels(panels, columns=min(3, len(panels))),
                                caption="The drifted columns' distributions, largest effect first: shares of rows per "
                                        "reference bin (numbers) or category."))
        d = r.domain_classifier
        if d is not None:
            items.append(Table(["", "Value"], [
                ["ROC AUC (held-out half)", Estimate(d["auc"], d.get("auc_ci"))],
                ["Rows per side", f"{d['rows'][0]:,} reference, {d['rows'][1]:,} current"],
                ["Columns that separate them most", ", ".join(d["top_columns"])]],
                caption=f"Domain classifier: LightGBM fitted on half of the rows to tell {r.reference_words} from "
                        f"{r.current}, its ROC AUC on the other half; 0.5 means it cannot, so the two sets look alike "
                        "to a model."))
        for what, drift in (("Predictions", r.prediction), ("Labels", r.label)):
            if drift is not None:
                items.append(Note(f"{what}: {drift['test']} p = {drift['p_value']:.3g} "
                                  f"({'moved' if drift['p_value'] < r.q else 'no clear change'} from "
                                  f"{r.reference_words} to {r.current}).", "info"))
        return items + [Note(n) for n in r.notes]


def column_drift(name, ref: pd.Series, cur: pd.Series, settings: DriftSettings, level: float = 0.95) -> dict:
    """One column's test, effect, signed shift with its interval, PSI, missing shares, and the shares drawn in the
    figure."""
    missing = [float(ref.isna().mean()), float(cur.isna().mean())]
    if isinstance(ref.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(ref):
        levels, r_counts, c_counts = category_counts(ref, cur)
        statistic, p = st.chi_squared(r_counts, c_counts)
        return {"name": str(name), "kind": "categorical", "test": "chi-squared", "statistic": statistic,
                "p_value": p, "effect": {"name": "Jensen-Shannon", "value": st.jensen_shannon(r_counts, c_counts),
                                         "ci": None},
                "shift": share_shift(levels, r_counts, c_counts, level),
                "psi": st.psi(r_counts, c_counts), "missing": missing,
                "_shape": (name, "categorical", levels, st.shares(r_counts).tolist(), st.shares(c_counts).tolist())}
    r_values = ref.dropna().to_numpy(float)
    c_values = cur.dropna().to_numpy(float)
    statistic, p, distance = st.ks_and_wasserstein(r_values, c_values)
    edges = st.decile_edges(r_values, settings.bins)
    r_counts, c_counts = st.binned(r_values, edges), st.binned(c_values, edges)
    labels = [f"≤ {e:.3g}" for e in edges[1:-1]] + [f"> {edges[-2]:.3g}" if len(edges) > 2 else "all"]
    moments = [(len(v), float(v.mean()) if len(v) else 0.0, float(v.var(ddof=1)) if len(v) > 1 else 0.0)
               for v in (r_values, c_values)]
    return {"name": str(name), "kind": "numeric", "test": "Kolmogorov-Smirnov", "statistic": statistic,
            "p_value": p, "effect": {"name": "Wasserstein / sd", "value": distance, "ci": None},
            "shift": number_shift(*moments, level),
            "psi": st.psi(r_counts, c_counts), "missing": missing,
            "_shape": (name, "numeric", labels, st.shares(r_counts).tolist(), st.shares(c_counts).tolist())}


def number_shift(reference: tuple, current: tuple, level: float) -> dict:
    """The change of a numeric column's mean in reference sds, with its interval (stats.drift.mean_shift)."""
    value, ci = st.mean_shift(reference, current, z_for(level))
    return {"name": "mean shift / sd", "value": value, "ci": ci, "level": None}


def share_shift(levels: list, reference_counts, current_counts, level: float) -> dict:
    """The largest change of one category's share, with its interval (Bonferroni over the categories)."""
    which, value, ci = st.largest_share_change(levels, reference_counts, current_counts,
                                               lambda k: z_for(1 - (1 - level) / k))
    return {"name": "share change", "value": value, "ci": ci, "level": None if which is None else str(which)}


def category_counts(reference: pd.Series, current: pd.Series) -> tuple:
    """(levels, reference counts, current counts) over the values either holds, as text, missing values left out."""
    ref, cur = reference.dropna().astype(str), current.dropna().astype(str)
    levels = sorted(set(ref) | set(cur))
    return (levels, ref.value_counts().reindex(levels, fill_value=0).to_numpy(float),
            cur.value_counts().reindex(levels, fill_value=0).to_numpy(float))


def _importance(ctx) -> dict:
    """Each column's share of the model's own importance (none for models without one)."""
    if ctx.model.estimator is None:
        return {}
    columns = list(ctx.data.X_test.columns)
    native = native_importance(anatomy(ctx.model.estimator), columns)
    if not native:
        return {}
    values = np.abs(np.asarray(next(iter(native["values"].values())), dtype=float))
    total = values.sum()
    return {c: float(v / total) if total > 0 else 0.0 for c, v in zip(columns, values)}


def reference_rows(ctx, settings: DriftSettings) -> tuple:
    """(reference, current, notes): the training rows and the test rows, or the reference's rows and the test rows'
    columns it shares (text columns of both as categories with the same levels). Logged rows whose labels have not
    arrived are current rows too."""
    data = ctx.data
    current = data.X_test if data.unlabeled is None else pd.concat([data.X_test, data.unlabeled.X], ignore_index=True)
    if settings.reference is None:
        return data.X_train, current, []
    notes: list = []
    source = resolve(settings.reference, "analyses.drift.reference")
    table = read_source(source, {}, ctx.cfg.data.na_values, notes, key="analyses.drift.reference",
                        dialect=source.dialect)
    shared = [c for c in data.X_test.columns if c in table.columns]
    if not shared:
        raise UserError(f"analyses.drift.reference={settings.reference!r} shares no column with the data; its "
                        f"columns: {list(table.columns)[:20]}, the data's: {list(data.X_test.columns)[:20]}")
    missing = [c for c in data.X_test.columns if c not in table.columns]
    if missing:
        notes.append(f"Columns not in the reference, not compared: {', '.join(map(str, missing[:20]))}.")
    ref, cur = table[shared].copy(), current[shared].copy()
    for c in shared:
        numbers = [pd.api.types.is_numeric_dtype(side[c]) for side in (ref, cur)]
        if numbers[0] != numbers[1]:
            as_numbers(ref, cur, c, settings.reference, notes)
        elif not numbers[0]:
            _as_categories(ref, cur, c)
    return ref.reset_index(drop=True), cur.reset_index(drop=True), notes


MOSTLY_NUMBERS = 0.9  # a text column whose values read as numbers this often, beside a numeric one, is numeric


def as_numbers(ref: pd.DataFrame, cur: pd.DataFrame, column, reference, notes: list) -> None:
    """A column numeric on one side and text on the other (one value '13.5x' makes a CSV column text): compared as
    numbers on the values that read as numbers, the others as missing, with a note naming them; an error when most
    of the text side's values are not numbers (then the two columns do not hold the same thing). In place."""
    text_side, name = (ref, "reference") if not pd.api.types.is_numeric_dtype(ref[column]) else (cur, "data")
    values = text_side[column]
    parsed = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    bad = values.notna() & parsed.isna()
    given = int(values.notna().sum())
    examples = sorted(set(values[bad].astype(str)))[:5]
    if given and (given - int(bad.sum())) / given < MOSTLY_NUMBERS:
        raise UserError(f"column {column!r} is numeric in the {'data' if name == 'reference' else 'reference'} but "
                        f"text in the {name} (analyses.drift.reference={reference!r}), and {int(bad.sum()):,} of its "
                        f"{given:,} values there are not numbers (such as {examples}); the columns must hold the same "
                        "kind of value: correct the file, or leave the column out with data.drop")
    text_side[column] = parsed.astype(float)
    notes.append(f"Column {column!r} is numeric in the {'data' if name == 'reference' else 'reference'} but text in "
                 f"the {name}: {int(bad.sum()):,} of its {given:,} values there are not numbers ({', '.join(examples)})"
                 "; it is compared as numbers, those values as missing.")


def _as_categories(ref: pd.DataFrame, cur: pd.DataFrame, column) -> None:
    """A column of both frames as text categories with the levels either holds (in place)."""
    levels = sorted(set(ref[column].dropna().astype(str)) | set(cur[column].dropna().astype(str)))
    ref[column] = pd.Categorical(ref[column].astype("string"), categories=levels)
    cur[column] = pd.Categorical(cur[column].astype("string"), categories=levels)


def _domain_classifier(ref_frame, cur_frame, ctx, settings: DriftSettings, result: DriftResult) -> Optional[dict]:
    """LightGBM fitted on half of the reference (0) and current (1) rows, stratified, and scored on the other half:
    its ROC AUC there with a bootstrap interval, and the columns its gain ranks first. One held-out half, not
    cross-validation: out-of-fold AUCs of a classifier that cannot learn sit below 0.5 (each fold's training rows
    over-represent the other side), and their interval held 0.5 in 88 % of runs without drift; the held-out
    half's held it in the nominal share (bench/bench_drift.py)."""
    import lightgbm
    from sklearn.model_selection import train_test_split

    seed = ctx.seed
    ref = ref_frame.iloc[sample_rows(len(ref_frame), settings.domain_rows, seed + 11)]
    cur = cur_frame.iloc[sample_rows(len(cur_frame), settings.domain_rows, seed + 12)]
    if min(len(ref), len(cur)) < 10:
        result.notes.append("No domain classifier: fewer than 10 rows on one side.")
        return None
    X = pd.concat([ref, cur], ignore_index=True)
    y = np.r_[np.zeros(len(ref), dtype=int), np.ones(len(cur), dtype=int)]
    X_fit, X_held, y_fit, y_held = train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)
    model = lightgbm.LGBMClassifier(n_estimators=100, num_leaves=15, learning_rate=0.1, min_child_samples=10,
                                    verbose=-1, n_jobs=1, random_state=seed).fit(X_fit, y_fit)
    score = model.predict_proba(X_held)[:, 1]
    ci = None
    boot = ctx.cfg.bootstrap
    if intervals_on(boot):  # DeLong's, as every ROC AUC's in the report (bootstrap.binary), without resampling
        ci = macro_auc_interval(y_held, np.column_stack([1 - score, score]), z_for(boot.level))[1]
    gain = model.booster_.feature_importance(importance_type="gain")
    top = [str(X.columns[i]) for i in np.argsort(-gain)[:5] if gain[i] > 0]
    return {"auc": rank_auc(y_held == 1, score), "auc_ci": ci, "top_columns": top, "rows": [len(ref), len(cur)]}


PREDICTION_ROWS = 1000  # training rows the model predicts for the prediction drift test (200 classes: 5 s a 1,000)


def _prediction_drift(ctx, settings: DriftSettings) -> Optional[dict]:
    """The model's predictions on (a sample of) the training rows against those on the test rows."""
    model, data = ctx.model.estimator, ctx.data
    if model is None:
        return None
    rows = sample_rows(data.n_train, min(settings.domain_rows, PREDICTION_ROWS), ctx.seed + 13)
    X = data.X_train.iloc[rows]
    if data.task == "regression":
        statistic, p = st.ks(model.predict(X).astype(float), ctx.predictions.y_pred.astype(float))
        return {"test": "Kolmogorov-Smirnov", "statistic": statistic, "p_value": p}
    _, train_counts, test_counts = category_counts(pd.Series(model.predict(X)), pd.Series(ctx.predictions.y_pred))
    statistic, p = st.chi_squared(train_counts, test_counts)
    return {"test": "chi-squared on predicted labels", "statistic": statistic, "p_value": p}


def _label_drift(ctx) -> Optional[dict]:
    data = ctx.data
    if data.task == "regression":
        statistic, p = st.ks(data.y_train.to_numpy(float), data.y_test.to_numpy(float))
        return {"test": "Kolmogorov-Smirnov", "statistic": statistic, "p_value": p}
    _, train_counts, test_counts = category_counts(pd.Series(data.y_train), pd.Series(data.y_test))
    statistic, p = st.chi_squared(train_counts, test_counts)
    return {"test": "chi-squared on the labels", "statistic": statistic, "p_value": p}


SAMPLE_ROWS = 20_000  # aggregated input: the reference rows (or periods' rows) whose deciles bin numeric columns


def engine_drift(ctx, settings: DriftSettings) -> DriftResult:
    """Drift where the rows live (DuckDB, Spark): the reference read by the same engine as a second view, each shared
    column's counts on the reference's bins in one pass per side (deciles of a seeded sample of the reference's
    rows; categories), the tests and effects from those counts, and the domain classifier on seeded samples."""
    wh = ctx.data.warehouse
    source = resolve(settings.reference, "analyses.drift.reference",
                     (ctx.cfg.data.encoding, ctx.cfg.data.sep, ctx.cfg.data.decimal))
    ref_kinds = wh.attach("ref", source)
    kinds = {c: kind for c, kind in wh.features.items() if c in ref_kinds and _same_kind(kind, ref_kinds[c])}
    if not kinds:
        raise UserError(f"analyses.drift.reference={settings.reference!r} shares no column of one kind with the "
                        f"logged predictions; its columns: {list(ref_kinds)[:20]}, theirs: {list(wh.features)[:20]}")
    ref_sample = wh.sample("reference sample", list(kinds), max(SAMPLE_ROWS, settings.domain_rows), ctx.seed + 11,
                           view="ref", rows_read=source.rows)
    bins = histograms.bins_from(ref_sample, kinds, settings.bins)
    ref_row = wh.histograms("reference counts", bins, kinds, view="ref", rows_read=source.rows).iloc[0]
    cur_row = wh.histograms("current counts", bins, kinds).iloc[0]
    left_out = [c for c in wh.features if c not in kinds]
    notes = [f"Counted by {wh.engine.name} over every row: numeric columns on the reference's deciles (from a seeded "
             f"sample of {len(ref_sample):,} reference rows), tested by chi-squared on those bins (not "
             "Kolmogorov-Smirnov, which needs the rows); Wasserstein distances between the bins' means "
             "(approximate); categories beyond the sample's 50 most frequent pooled."]
    if left_out:
        notes.append(f"Columns not in the reference (or of another kind there), not compared: "
                     f"{', '.join(map(str, left_out[:20]))}.")
    result = DriftResult([], settings.q, int(ref_row["n"]), int(cur_row["n"]), notes=notes,
                         reference=settings.reference, current="the logged predictions")
    for i, b in enumerate(bins):
        scale = float(pd.to_numeric(ref_sample[b.name], errors="coerce").std(ddof=0)) if b.kind == "numeric" else 1
        column = binned_column_drift(b, histograms.counts_of(ref_row, i, b), histograms.counts_of(cur_row, i, b),
                                     scale, ctx.cfg.bootstrap.level)
        column["importance"] = None
        result.columns.append(column)
    _flag(result, settings)
    cur_sample = wh.sample("current sample", list(kinds), settings.domain_rows, ctx.seed + 12)
    ref_frame, cur_frame = _shared_levels(ref_sample, cur_sample, kinds)
    result.domain_classifier = _domain_classifier(ref_frame, cur_frame, ctx, settings, result)
    return result


def _same_kind(a: str, b: str) -> bool:
    numeric = histograms.NUMERIC
    return (a in numeric) == (b in numeric) and (a in histograms.CATEGORICAL or a in numeric)


def _shared_levels(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict) -> tuple:
    """The two samples with each text column a categorical of the levels either holds (as the domain classifier
    needs), numbers as floats."""
    ref, cur = ref.copy(), cur.copy()
    for c, kind in kinds.items():
        if kind in histograms.NUMERIC:
            ref[c], cur[c] = pd.to_numeric(ref[c], errors="coerce"), pd.to_numeric(cur[c], errors="coerce")
        else:
            _as_categories(ref, cur, c)
    return ref.reset_index(drop=True), cur.reset_index(drop=True)


def binned_column_drift(b, ref, cur, scale: float, level: float = 0.95) -> dict:
    """One column's test, effect and PSI from its counts on the reference's bins (histograms.Counts per side)."""
    statistic, p = st.chi_squared(ref.counts, cur.counts)
    missing = [ref.missing / ref.rows if ref.rows else 0.0, cur.missing / cur.rows if cur.rows else 0.0]
    if b.kind == "numeric":
        edges = b.edges
        labels = [f"≤ {e:.3g}" for e in edges[1:-1]] + [f"> {edges[-2]:.3g}" if len(edges) > 2 else "all"]
        effect = {"name": "Wasserstein / sd (binned)", "value": st.binned_wasserstein(ref, cur, scale), "ci": None}
        test = "chi-squared on the reference's deciles"
        shift = number_shift(ref.moments, cur.moments, level)
    else:
        labels = list(b.levels) + [histograms.OTHER]
        effect = {"name": "Jensen-Shannon", "value": st.jensen_shannon(ref.counts, cur.counts), "ci": None}
        test = "chi-squared"
        shift = share_shift(labels, ref.counts, cur.counts, level)
    return {"name": b.name, "kind": b.kind, "test": test, "statistic": statistic, "p_value": p, "effect": effect,
            "shift": shift,
            "psi": st.psi(ref.counts, cur.counts), "missing": missing,
            "_shape": (b.name, b.kind, labels, st.shares(ref.counts).tolist(), st.shares(cur.counts).tolist())}


def _flag(result: DriftResult, settings: DriftSettings) -> None:
    """q-values over the columns, the drifted flags, and the shapes of the drifted columns to draw."""
    for column, q in zip(result.columns, st.benjamini_hochberg([c["p_value"] for c in result.columns])):
        column["q_value"] = q
        column["drifted"] = bool(q <= settings.q)
    for column in sorted(result.drifted, key=lambda c: -c["effect"]["value"])[: settings.figures]:
        result.shapes.append(column.pop("_shape"))
    for column in result.columns:
        column.pop("_shape", None)


def run_folder_drift(ctx, settings: DriftSettings) -> DriftResult:
    """Against an earlier run's folder, which holds its predictions, not its features: prediction drift (the
    positive class's scores by Kolmogorov-Smirnov when both runs have them, else the predicted labels by
    chi-squared) and label drift."""
    table, _, _ = read_predictions(Path(settings.reference).expanduser() / PREDICTIONS,
                                   f"analyses.drift.reference={settings.reference!r}")
    data, pred = ctx.data, ctx.predictions
    result = DriftResult([], settings.q, len(table), data.n_test, reference=settings.reference,
                         current=_current_words(data),
                         notes=["A run folder holds its predictions, not its features: predictions and labels "
                                "compared, no column."])
    if data.task == "regression":
        statistic, p = st.ks(table["y_pred"].to_numpy(float), np.asarray(pred.y_pred, float))
        result.prediction = {"test": "Kolmogorov-Smirnov", "statistic": statistic, "p_value": p}
        statistic, p = st.ks(table["y_true"].to_numpy(float), np.asarray(pred.y_true, float))
        result.label = {"test": "Kolmogorov-Smirnov", "statistic": statistic, "p_value": p}
        return result
    score = None if data.task != "binary" else score_column(data.positive_label)
    enc = ctx.encoded
    if score in table.columns and enc.score is not None:
        statistic, p = st.ks(table[score].to_numpy(float), enc.score)
        result.prediction = {"test": "Kolmogorov-Smirnov on the positive class's score", "statistic": statistic,
                             "p_value": p}
    else:
        _, a, b = category_counts(table["y_pred"], pd.Series(pred.y_pred))
        statistic, p = st.chi_squared(a, b)
        result.prediction = {"test": "chi-squared on predicted labels", "statistic": statistic, "p_value": p}
    _, a, b = category_counts(table["y_true"], pd.Series(pred.y_true))
    statistic, p = st.chi_squared(a, b)
    result.label = {"test": "chi-squared on the labels", "statistic": statistic, "p_value": p}
    return result


def _current_words(data) -> str:
    return "the logged predictions" if data.logged is not None else "the test rows"
