"""Rows grouped by a column's values: slices of numeric columns in quantile bins, other columns by their most
frequent values (the rest as one "(other)" group), missing values as a group of their own; the test rows' slices."""
from __future__ import annotations

import itertools

from typing import Optional

import numpy as np
import pandas as pd

MISSING = "(missing)"
OTHER = "(other)"
AUTO_COLUMNS = 2  # columns sliced when none are named


def slice_labels(values: pd.Series, bins: int, max_levels: int) -> pd.Series:
    """The slice each row falls in, as an ordered categorical: numeric bins low to high, levels by frequency."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > bins:
        cut = pd.qcut(values, q=bins, duplicates="drop")
        names = [f"({c.left:.4g}, {c.right:.4g}]" for c in cut.cat.categories]
        text = cut.cat.rename_categories(names).astype(object).where(cut.notna(), MISSING)
        order = names + [MISSING]
    else:
        text = values.astype(object).where(values.notna(), MISSING).astype(str)
        keep = frequent(text.value_counts(), max_levels)
        text = text.where(text.isin(keep), OTHER)
        order = keep + [OTHER]
    return pd.Series(pd.Categorical(text, categories=[c for c in order if c in set(text)], ordered=True))


def frequent(sizes: pd.Series, max_levels: int) -> list:
    """The `max_levels` values with the most rows (value -> rows), ties in the values' order: one order whatever
    order the rows came in."""
    order = sorted(sizes.items(), key=lambda item: (-item[1], str(item[0])))
    return [value for value, _ in order[:max_levels]]


def auto_columns(data) -> list:
    """The columns to slice when none are named: categorical columns with few levels first, then the first numeric
    ones (at most AUTO_COLUMNS)."""
    categorical = data.categorical  # read once: it scans the columns' dtypes
    chosen = [c for c in categorical if 2 <= data.X_test[c].nunique() <= 12][:AUTO_COLUMNS]
    other = set(categorical)
    numeric = (c for c in data.features if c not in other and data.X_test[c].nunique() > 4)  # counted only as needed
    return chosen + list(itertools.islice(numeric, AUTO_COLUMNS - len(chosen)))


def slice_groups(data, by: Optional[list], bins: int, max_levels: int, rows: Optional[np.ndarray] = None):
    """Every slice of the test rows as (column, value, positions): the columns `by` names (or auto_columns), numeric
    ones in quantile bins; positions index `rows` (default: all test rows). What the slices section shows, and what
    the comparison and conformal sections break down the same way."""
    for column in list(by) if by else auto_columns(data):
        values = data.X_test[column] if rows is None else data.X_test[column].iloc[rows]
        labels = slice_labels(values.reset_index(drop=True), bins, max_levels)
        for value, index in labels.groupby(labels, sort=True, observed=True).groups.items():
            yield column, value, np.asarray(index)
