"""Rows grouped by a column's values: slices of numeric columns in quantile bins, other columns by their most
frequent values (the rest as one "(other)" group), missing values as a group of their own."""
from __future__ import annotations

import pandas as pd

MISSING = "(missing)"
OTHER = "(other)"


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
