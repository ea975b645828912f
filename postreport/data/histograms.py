"""Per-column counts on a reference's bins, counted where the rows live (DuckDB or Spark: one pass, per group such
as a period): what the drift tests need from rows too many to hold.

Numeric columns: the reference's quantile edges (from a seeded sample of its rows), and per group the rows at or
below each inner edge with the sums of their values (so each bin's count and mean), the non-missing rows and the sums
of x and of the squares about the sample's mean (the mean and variance). Categorical columns (text, booleans): the
reference sample's levels, each counted, the rest pooled as one "other" level. Missing values are counted apart
(their share before and after).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from postreport.stats import drift as st

NUMERIC = ("integer", "number")
CATEGORICAL = ("text", "string", "boolean")
MAX_LEVELS = 50  # categorical columns: the reference sample's most frequent levels counted apart; the rest pooled
OTHER = "(other)"


@dataclass
class Bins:
    name: str
    kind: str  # numeric | categorical
    edges: Optional[np.ndarray] = None  # numeric: open at both ends
    levels: Optional[list] = None  # categorical
    centre: float = 0.0  # numeric: the sample's mean; squares are summed about it (no cancellation)


@dataclass
class Counts:
    """One column's counts in one group: per bin (numeric: and each bin's sum of values), and the missing rows."""

    counts: np.ndarray
    sums: Optional[np.ndarray]  # numeric: the sum of the values in each bin
    missing: int
    rows: int
    squares: float = 0.0  # numeric: the sum of the squares of the values' distances from `centre`
    centre: float = 0.0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.counts + other.counts, None if self.sums is None else self.sums + other.sums,
                      self.missing + other.missing, self.rows + other.rows, self.squares + other.squares,
                      self.centre)

    @property
    def moments(self) -> tuple:
        """(n, mean, variance with n - 1) of the numeric values."""
        n = float(self.counts.sum())
        mean = float(self.sums.sum()) / n if n else 0.0
        offset = mean - self.centre
        return n, mean, max(self.squares - n * offset * offset, 0.0) / (n - 1) if n > 1 else 0.0

    @property
    def means(self) -> np.ndarray:
        return np.divide(self.sums, self.counts, out=np.full(len(self.counts), np.nan), where=self.counts > 0)


def bins_from(sample: pd.DataFrame, kinds: dict, bins: int) -> list:
    """Each column's bins from a sample of the reference rows: numeric on its quantile edges, text and booleans on its
    most frequent levels. Columns of other types (dates, lists) are left out."""
    out = []
    for name in sample.columns:
        if kinds[name] in NUMERIC:
            values = pd.to_numeric(sample[name], errors="coerce").dropna().to_numpy(float)
            edges = st.decile_edges(values, bins) if len(values) else np.array([-np.inf, np.inf])
            out.append(Bins(name, "numeric", edges=edges, centre=float(values.mean()) if len(values) else 0.0))
        elif kinds[name] in CATEGORICAL:
            levels = sample[name].dropna().astype(str).value_counts().index[:MAX_LEVELS]
            out.append(Bins(name, "categorical", levels=sorted(levels)))
    return out


def text(engine, name: str, kind: str) -> str:
    """A column's values as text, the same in every engine and in pandas (booleans as True / False)."""
    x = engine.ident(name)
    if kind == "boolean":
        return f"(CASE WHEN {x} THEN 'True' WHEN NOT {x} THEN 'False' END)"
    return f"CAST({x} AS STRING)"


def histogram_sql(engine, table: str, bins: list, kinds: dict, group: Optional[str] = None,
                  where: str = "1 = 1") -> str:
    """One query: per group (or over all rows), every column's counts on its bins."""
    q, literal = engine.ident, engine.literal
    parts = ["COUNT(*) AS n"]
    for i, b in enumerate(bins):
        x = q(b.name)
        parts.append(f"COUNT({x}) AS c{i}_n")
        if b.kind == "numeric":
            value = f"CAST({x} AS DOUBLE)"
            parts += [f"SUM({value}) AS c{i}_s",
                      f"SUM(({value} - {b.centre!r}) * ({value} - {b.centre!r})) AS c{i}_ss"]
            for k, edge in enumerate(b.edges[1:-1]):
                below = f"{x} <= {float(edge)!r}"
                parts += [f"SUM(CASE WHEN {below} THEN 1 ELSE 0 END) AS c{i}_le{k}",
                          f"SUM(CASE WHEN {below} THEN {value} ELSE 0 END) AS c{i}_sle{k}"]
        else:
            as_text = text(engine, b.name, kinds[b.name])
            parts += [f"SUM(CASE WHEN {as_text} = {literal(level)} THEN 1 ELSE 0 END) AS c{i}_v{k}"
                      for k, level in enumerate(b.levels)]
    head = f"{group} AS g, " if group else ""
    tail = f" GROUP BY {group}" if group else ""
    return f"SELECT {head}{', '.join(parts)} FROM {table} WHERE {where}{tail}"


def counts_of(row: pd.Series, i: int, b: Bins) -> Counts:
    """Column i's Counts from one row of histogram_sql's result."""
    n, present = int(row["n"]), int(_number(row[f"c{i}_n"]))
    if b.kind == "numeric":
        inner = len(b.edges) - 2
        below = np.array([0.0] + [_number(row[f"c{i}_le{k}"]) for k in range(inner)] + [present])
        sums = np.array([0.0] + [_number(row[f"c{i}_sle{k}"]) for k in range(inner)] + [_number(row[f"c{i}_s"])])
        return Counts(np.diff(below), np.diff(sums), n - present, n, _number(row[f"c{i}_ss"]), b.centre)
    counted = np.array([_number(row[f"c{i}_v{k}"]) for k in range(len(b.levels))])
    return Counts(np.r_[counted, present - counted.sum()], None, n - present, n)


def _number(value) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)
