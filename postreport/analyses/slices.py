"""Metrics per slice of the test set: per value of a categorical column, per quantile bin of a numeric one.
Small slices are flagged; the worst slice big enough to trust is highlighted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import pandas as pd

from .. import metrics
from ..errors import UserError, at_least
from ..report.model import Estimate, Note, Table
from .base import Analysis

MISSING = "(missing)"
OTHER = "(other)"
AUTO_COLUMNS = 2


@dataclass
class SliceSettings:
    by: Optional[List[str]] = None  # columns to slice by; null: up to 2 chosen automatically
    bins: int = 4  # quantile bins for numeric columns
    min_size: int = 30  # slices with fewer test rows are flagged as too small to trust
    max_levels: int = 12  # categorical levels shown; the rarest are pooled as "(other)"

    def __post_init__(self):
        at_least("analyses.slices.bins", self.bins, 2)
        at_least("analyses.slices.min_size", self.min_size, 1)
        at_least("analyses.slices.max_levels", self.max_levels, 1)


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

    @property
    def worst(self) -> Optional[SliceRow]:
        main = self.metrics[0]
        trusted = [r for r in self.rows if not r.small and r.values[main] is not None]
        if not trusted:
            return None
        sign = 1 if metrics.lower_is_better(main) else -1
        return max(trusted, key=lambda r: sign * r.values[main])

    def headline(self) -> Optional[str]:
        w, main = self.worst, self.metrics[0]
        if w is None:
            return None
        ci = f" [{w.ci[0]:.3f}, {w.ci[1]:.3f}]" if w.ci else ""
        return (f"Weakest slice: {w.column} = {w.value} ({w.n} rows): {main} {w.values[main]:.3f}{ci}, "
                f"against {self.overall[main]:.3f} overall.")

    def to_json(self) -> dict:
        return {
            "metrics": list(self.metrics), "overall": self.overall, "min_size": self.min_size,
            "slices": [{"column": r.column, "value": r.value, "n": r.n, **r.values, f"{self.metrics[0]}_ci": r.ci,
                        "small": r.small} for r in self.rows],
            "worst": None if self.worst is None else {"column": self.worst.column, "value": self.worst.value},
        }


def slice_labels(values: pd.Series, bins: int, max_levels: int) -> pd.Series:
    """The slice each row falls in, as an ordered categorical: numeric bins low to high, levels by frequency."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > bins:
        cut = pd.qcut(values, q=bins, duplicates="drop")
        names = [f"({c.left:.4g}, {c.right:.4g}]" for c in cut.cat.categories]
        text = cut.cat.rename_categories(names).astype(object).where(cut.notna(), MISSING)
        order = names + [MISSING]
    else:
        text = values.astype(object).where(values.notna(), MISSING).astype(str)
        keep = list(text.value_counts().index[:max_levels])
        text = text.where(text.isin(keep), OTHER)
        order = keep + [OTHER]
    return pd.Series(pd.Categorical(text, categories=[c for c in order if c in set(text)], ordered=True))


class SlicesAnalysis(Analysis):
    name = "slices"
    title = "Performance by slice"
    lead = "Whether the model works as well for every group of rows as it does on average."
    Settings = SliceSettings

    def check(self, data, settings: SliceSettings) -> None:
        unknown = [c for c in settings.by or [] if c not in data.X_test.columns]
        if unknown:
            raise UserError(f"analyses.slices.by names columns not in the test data: {unknown}; "
                            f"valid: {data.features}")

    def skip_reason(self, ctx) -> Optional[str]:
        if ctx.data.X_test.shape[1] == 0:
            return "The test data has no columns besides the labels and predictions to slice by."
        return None

    def compute(self, ctx, settings: SliceSettings) -> SlicesResult:
        data, pred, enc, task = ctx.data, ctx.predictions, ctx.encoded, ctx.data.task
        columns = list(settings.by) if settings.by else self._auto(data)
        names = metrics.TASKS[task].sliced
        overall = self._values(metrics.point_metrics(data, pred, enc), names)
        rows = []
        for column in columns:
            labels = slice_labels(data.X_test[column].reset_index(drop=True), settings.bins, settings.max_levels)
            for value, index in labels.groupby(labels, sort=True, observed=True).groups.items():
                idx = np.asarray(index)
                values = self._values(metrics.point_metrics(data, pred, enc, rows=idx), names)
                ci = None
                if len(idx) >= settings.min_size:
                    intervals = metrics.intervals(task, pred, enc, ctx.cfg.bootstrap, ctx.seed, rows=idx,
                                                  scores=False)  # the sliced metrics count labels
                    ci = None if intervals is None else intervals.interval(names[0])
                rows.append(SliceRow(column, str(value), len(idx), values, ci, len(idx) < settings.min_size))
        level = ctx.cfg.bootstrap.level if ctx.cfg.bootstrap.resamples > 0 else None
        return SlicesResult(rows, names, overall, settings.min_size, not settings.by, level)

    @staticmethod
    def _values(result, names) -> dict:
        return {name: result.values[name] for name in names}

    @staticmethod
    def _auto(data) -> list:
        """Categorical columns with few levels first, then the first numeric ones."""
        cats = [c for c in data.categorical if 2 <= data.X_test[c].nunique() <= 12]
        nums = [c for c in data.features if c not in data.categorical and data.X_test[c].nunique() > 4]
        return (cats + nums)[:AUTO_COLUMNS]

    def items(self, r: SlicesResult) -> list:
        worst = r.worst
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
                              + f". Slices under {r.min_size} rows are flagged; the weakest trusted slice is "
                                "highlighted. Numeric columns are cut into quantile bins.",
                      highlight_rows=[r.rows.index(worst)] if worst else [])
        items = [table]
        if r.auto:
            items.insert(0, Note("Columns chosen automatically; set analyses.slices.by=[column, ...] to choose."))
        if worst is not None:
            items.append(Note(r.headline(), "warning"))
        return items
