"""Metrics per slice of the test set: per value of a categorical column, per quantile bin of a numeric one.
Small slices are flagged; the worst slice big enough to trust is highlighted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import pandas as pd

from postreport.stats import bootstrap, metrics
from postreport.stats.bootstrap import interval_level, intervals_on
from postreport.data.warehouse import RegressionCells
from postreport.stats.encoding import positions
from postreport.errors import at_least, strictly_between
from postreport.report.model import Estimate, Note, Table
from postreport.stats.segments import MAX_PAIR_COLUMNS, discover, loss_per_row
from postreport.stats.groups import AUTO_COLUMNS, MISSING, OTHER, frequent, slice_groups
from postreport.analyses.base import TABULAR, Analysis, Need
from postreport.planning.plan import Step

SLICE_SECONDS = 0.015  # a slice's metrics (measured on bench/bench_plan.py's cases)
SLICE_SECONDS_PER_CLASS = 4e-4  # and per class
SEGMENT_SECONDS = 1.5e-4  # weak-segment search: per one- or two-column split searched
SEGMENT_SECONDS_PER_ROW = 2e-8  # and per test row in it

@dataclass
class SliceSettings:
    by: Optional[List[str]] = None  # columns to slice by; null: up to 2 chosen automatically
    bins: int = 4  # quantile bins for numeric columns
    min_size: int = 30  # slices with fewer test rows are flagged as too small to trust
    max_levels: int = 12  # categorical levels shown; the rarest are pooled as "(other)"
    discover: bool = True  # search one- and two-feature segments for a higher loss, false discoveries controlled
    q: float = 0.1  # the false discovery rate the search controls (Benjamini-Hochberg)

    def __post_init__(self):
        at_least("analyses.slices.bins", self.bins, 2)
        at_least("analyses.slices.min_size", self.min_size, 1)
        at_least("analyses.slices.max_levels", self.max_levels, 1)
        strictly_between("analyses.slices.q", self.q, 0, 1)


@dataclass
class SliceRow:
    column: str
    value: str
    n: int
    values: dict
    ci: Optional[list]  # of the first metric
    small: bool


@dataclass
class SlicesResult:
    rows: list
    metrics: tuple
    overall: dict
    min_size: int
    auto: bool
    ci_level: Optional[float] = None
    notes: list = field(default_factory=list)
    segments: Optional[list] = None  # postreport.stats.segments.Segment: flagged ones and the strongest others
    searched: int = 0
    loss: str = ""
    q: float = 0.1

    @property
    def worst(self) -> Optional[SliceRow]:
        main = self.metrics[0]
        trusted = [r for r in self.rows if not r.small and r.values[main] is not None]
        if not trusted:
            return None
        sign = 1 if metrics.lower_is_better(main) else -1
        return max(trusted, key=lambda r: sign * r.values[main])

    @property
    def worst_clearly_weaker(self) -> Optional[bool]:
        """Does the lowest trusted slice's interval lie wholly on the worse side of the overall value? None: no
        interval."""
        w, main = self.worst, self.metrics[0]
        if w is None or not w.ci:
            return None
        return w.ci[0] > self.overall[main] if metrics.lower_is_better(main) else w.ci[1] < self.overall[main]

    def headline(self) -> Optional[str]:
        """The weakest segment only when the search flags one (its false discovery rate controlled)."""
        if self.segments is None:
            w, main = self.worst, self.metrics[0]
            if w is None:
                return None
            ci = f" [{w.ci[0]:.3f}, {w.ci[1]:.3f}]" if w.ci else ""
            said = f"{w.column} = {w.value} ({w.n:,} rows): {main} {w.values[main]:.3f}{ci}"
            if self.worst_clearly_weaker is None:
                return f"Lowest slice: {said}, against {self.overall[main]:.3f} overall (no interval)."
            if not self.worst_clearly_weaker:
                return (f"No slice is clearly weaker than overall: the lowest, {said}, holds the overall "
                        f"{self.overall[main]:.3f} in its interval.")
            trusted = sum(not r.small for r in self.rows)
            return (f"Weakest slice: {said}, its interval wholly worse than the overall {self.overall[main]:.3f} "
                    f"(one of {trusted} slices compared, not adjusted for multiplicity).")
        flagged = [s for s in self.segments if s.flagged]
        if not flagged:
            return (f"No segment is clearly weaker than the rest: {self.searched:,} one- and two-feature segments "
                    f"searched, none flagged at a false discovery rate of {self.q:g}.")
        top = flagged[0]
        return (f"Weakest segment: {top.text()} ({top.size:,} rows): {self.loss} {top.metric:.3f} "
                f"[{top.metric_ci[0]:.3f}, {top.metric_ci[1]:.3f}] against {top.rest:.3f} in the other rows "
                f"(q = {top.q_value:.2g}; {len(flagged)} of {self.searched:,} segments flagged).")

    def to_json(self) -> dict:
        return {
            "metrics": list(self.metrics), "overall": self.overall, "min_size": self.min_size,
            "slices": [{"column": r.column, "value": r.value, "n": r.n, **r.values, f"{self.metrics[0]}_ci": r.ci,
                        "small": r.small} for r in self.rows],
            "worst": None if self.worst is None else {"column": self.worst.column, "value": self.worst.value,
                                                      "clearly_weaker": self.worst_clearly_weaker},
            "segments": None if self.segments is None else [s.to_json() for s in self.segments],
            "segments_searched": self.searched, "segment_loss": self.loss or None, "q": self.q,
            "notes": list(self.notes),
        }


class SlicesAnalysis(Analysis):
    name = "slices"
    aggregated = True
    title = "Performance by slice"
    lead = "Whether the model works as well for every group of rows as it does on average."
    Settings = SliceSettings

    def check(self, data, settings: SliceSettings) -> None:
        if settings.by:  # as the file names them: a date column is sliced by its parts
            settings.by = data.file_columns(settings.by, "analyses.slices.by")

    needs = (TABULAR, Need(lambda ctx: bool(ctx.data.columns),
                           "The test data has no columns besides the labels and predictions to slice by."))
    quick = True

    def plan(self, plan, settings) -> list:
        n, F, K = plan.shape.n_test, plan.shape.n_features, plan.shape.n_classes
        columns = len(settings.by) if settings.by else min(AUTO_COLUMNS, F)
        slices = columns * min(settings.bins, settings.max_levels + 1)
        # each slice's metrics, and the counting metrics' intervals (each column's slices hold every test row)
        seconds = (slices * (SLICE_SECONDS + SLICE_SECONDS_PER_CLASS * K)
                   + columns * plan.bootstrap_seconds(n, scores=False))
        if settings.discover:
            paired = min(F, MAX_PAIR_COLUMNS)
            seconds += (F + paired * (paired - 1) // 2) * (SEGMENT_SECONDS + SEGMENT_SECONDS_PER_ROW * n)
        return [Step("slices", "metrics per slice and the weak-segment search", seconds, rows=n)]

    def compute(self, ctx, settings: SliceSettings) -> SlicesResult:
        if ctx.data.warehouse is not None:
            return aggregated_slices(ctx, settings)
        data, pred, enc, task = ctx.data, ctx.predictions, ctx.encoded, ctx.data.task
        names = metrics.TASKS[task].sliced
        overall = self._values(metrics.point_metrics(data, pred, enc), names)
        rows = []
        for column, value, idx in slice_groups(data, settings.by, settings.bins, settings.max_levels):
            values = self._values(metrics.point_metrics(data, pred, enc, rows=idx), names)
            ci = None
            if len(idx) >= settings.min_size:
                intervals = metrics.intervals(task, pred, enc, ctx.cfg.bootstrap, ctx.seed, rows=idx,
                                              scores=False, stratified=False)  # counts; a slice's class mix varies
                ci = None if intervals is None else intervals.interval(names[0])
            rows.append(SliceRow(column, str(value), len(idx), values, ci, len(idx) < settings.min_size))
        level = interval_level(ctx.cfg.bootstrap)
        result = SlicesResult(rows, names, overall, settings.min_size, not settings.by, level, q=settings.q)
        if settings.discover:
            loss, result.loss = loss_per_row(task, pred, enc)
            result.segments, result.searched, notes = discover(
                data.X_test, loss, settings.min_size, settings.q, settings.bins, settings.max_levels,
                ctx.cfg.bootstrap.level)
            result.notes += notes
        return result

    @staticmethod
    def _values(result, names) -> dict:
        return {name: result.values[name] for name in names}

    def items(self, r: SlicesResult) -> list:
        worst = r.worst if r.worst_clearly_weaker else None
        main = r.metrics[0]
        level = f" [{r.ci_level:.0%} CI]" if r.ci_level else ""
        rows = []
        for row in r.rows:
            cells = [row.column, row.value, row.n, Estimate(row.values[main], row.ci)]
            cells += [row.values[m] for m in r.metrics[1:]]
            cells.append("too small to trust" if row.small else "")
            rows.append(cells)
        table = Table(["Column", "Slice", "Rows", f"{main}{level}", *r.metrics[1:], "Flag"], rows,
                      caption="Overall: " + ", ".join(f"{m} {r.overall[m]:.3f}" for m in r.metrics)
                              + f". Slices under {r.min_size} rows are flagged; the lowest trusted slice is "
                                "highlighted when its interval lies wholly on the worse side of the overall value. "
                                "Numeric columns are cut into quantile bins.",
                      highlight_rows=[r.rows.index(worst)] if worst else [])
        items = [table]
        if r.auto:
            items.insert(0, Note("Columns chosen automatically; set analyses.slices.by=[column, ...] to choose."))
        if r.segments is None:
            if r.worst is not None:
                items.append(Note(r.headline(), "warning" if worst else "info"))
            return items + [Note(n) for n in r.notes]
        flagged = [s for s in r.segments if s.flagged]
        items.append(Note(r.headline(), "warning" if flagged else "info"))
        shown = flagged[:20] or r.segments[:5]
        if shown:
            items.append(Table(
                ["Segment", "Rows", f"{r.loss} [95% CI]" if r.ci_level is None else f"{r.loss} [{r.ci_level:.0%} CI]",
                 "Other rows", "Effect", "p", "q", "Flagged"],
                [[s.text(), s.size, Estimate(s.metric, s.metric_ci), s.rest, s.effect, s.p_value, s.q_value,
                  "yes" if s.flagged else ""] for s in shown],
                caption=f"Weak-segment search: every value of one column (categories, {r.min_size}+ rows; quantile "
                        "bins; missing values) and every pair of values of two columns, tested for a higher "
                        f"{r.loss} than the other rows (one-sided permutation test, normal approximation); "
                        f"{r.searched:,} segments searched, q-values by Benjamini-Hochberg over all of them, flagged at "
                        f"q ≤ {r.q:g}." + ("" if flagged else " None flagged: the strongest candidates are shown."),
                highlight_rows=list(range(len(flagged[:20])))))
        items += [Note(n) for n in r.notes]
        return items


def aggregated_slices(ctx, settings: SliceSettings) -> SlicesResult:
    """Slices of aggregated input, from one GROUP BY pass where the rows live: per value of each column, the rows of
    each (true, predicted) pair; metrics and intervals from those counts. Columns with few values only (numeric
    columns with more than analyses.slices.bins values would need quantile bins); the weak-segment search needs
    individual rows."""
    data, wh, task = ctx.data, ctx.data.warehouse, ctx.data.task
    names = metrics.TASKS[task].sliced
    overall = SlicesAnalysis._values(metrics.point_metrics(data, ctx.predictions, ctx.encoded), names)
    notes = []
    wanted = list(settings.by) if settings.by else [c for c, kind in wh.features.items()
                                                    if kind in ("text", "string", "boolean", "integer")]
    columns: list = []
    if wanted:
        distinct = wh.distinct_counts("slice columns", wanted)
        for c in wanted:
            few = distinct[c] <= settings.bins or wh.features[c] in ("text", "string", "boolean")
            if few and (settings.by or 2 <= distinct[c] <= 12):
                columns.append(c)
            elif settings.by:
                notes.append(f"Column {c!r} has about {distinct[c]:,} values: on aggregated input slices are per "
                             f"value of columns with at most analyses.slices.bins={settings.bins} values (or text); "
                             "bin it upstream, or use data.engine=pandas for quantile bins.")
        if not settings.by:  # as the in-memory choice: text columns first
            columns = sorted(columns, key=lambda c: wh.features[c] == "integer")[:AUTO_COLUMNS]
    rows: list = []
    if columns:
        counts = wh.slice_counts("slices", columns, task == "regression")
        counts["v"] = counts["v"].where(counts["v"].notna(), MISSING)
        for i, c in enumerate(columns):
            rows += _slice_rows(ctx, settings, c, counts[counts["k"] == i], names)
    level = interval_level(ctx.cfg.bootstrap)
    result = SlicesResult(rows, names, overall, settings.min_size, not settings.by, level, q=settings.q,
                          notes=notes)
    result.notes.append(f"Computed by {wh.engine.name} from counts per slice over every row; the weak-segment search "
                        "needs individual rows and is not run on aggregated input.")
    return result


def _slice_rows(ctx, settings: SliceSettings, column: str, counts: pd.DataFrame, names) -> list:
    """One column's slices from its (value, true, predicted, rows) counts: the most frequent max_levels values
    (the rest pooled as OTHER), in the order the in-memory path shows them."""
    data, boot = ctx.data, ctx.cfg.bootstrap
    sizes = counts.groupby("v")["n"].sum()
    keep = frequent(sizes, settings.max_levels)
    counts = counts.assign(v=counts["v"].where(counts["v"].isin(keep), OTHER))
    seed = ctx.bootstrap_seed
    out = []
    for value in keep + ([OTHER] if len(sizes) > len(keep) else []):
        part = counts[counts["v"] == value]
        w = part["n"].to_numpy(dtype=float)
        y, pred = (None, None) if data.task == "regression" else (part["y"].to_numpy(), part["pred"].to_numpy())
        if data.task == "regression":
            part = part.sort_values("eb", ignore_index=True)
            sums = RegressionCells(part, part.rename(columns={"eb": "fine"}), ctx.predictions.cells.shift)
            result = metrics.regression_from_cells(sums)
            draw = lambda: bootstrap.regression_cells(sums, boot, seed)  # noqa: E731
        elif data.task == "binary":
            y_bin, pred_bin = (y == data.positive_label).astype(int), (pred == data.positive_label).astype(int)
            result = metrics.binary_metrics(y_bin, pred_bin, None, data.positive_label, weight=w)
            draw = lambda: bootstrap.binary(y_bin, pred_bin, None, boot, seed, stratified=False, weight=w)  # noqa: E731
        else:
            enc = ctx.encoded
            y_idx, pred_idx = positions(y, enc.labels), positions(pred, enc.labels)
            result = metrics.multiclass_metrics(y, pred, None, enc.labels, data.labels, weight=w)
            draw = lambda: bootstrap.multiclass(y_idx, pred_idx, enc.known, None, boot, seed, False, w)  # noqa: E731
        n = int(round(w.sum()))
        ci = None
        if n >= settings.min_size and intervals_on(boot):
            ci = draw().interval(names[0])
        out.append(SliceRow(column, str(value), n, SlicesAnalysis._values(result, names), ci, n < settings.min_size))
    return out
