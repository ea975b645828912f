"""What every engine is (`Engine`) and shares: SQL literals and the engines' column types in one vocabulary."""
from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd


class Engine(Protocol):
    name: str  # as the report names it

    def __init__(self, source, settings): ...  # open on a Source's files with the data.* settings

    @staticmethod
    def ident(name: str) -> str: ...  # a column name quoted by the engine's rule

    @staticmethod
    def literal(value) -> str: ...  # a label as an SQL literal, quoted by the engine's rule

    @staticmethod
    def sample(select: str, rows: int, seed: int) -> str: ...  # a seeded sample of a query's rows

    def register(self, name: str, source) -> None: ...  # a view `name` of another Source's files (e.g. `ref`)

    @staticmethod
    def period(expr: str, period) -> str: ...  # a date's day / ISO week / month as text (None: the value as text)

    def query(self, sql: str) -> pd.DataFrame: ...

    def column_types(self, view: str = "src") -> dict: ...  # name -> integer | number | text | boolean | own name

    def close(self) -> None: ...


def literal(value, quote=lambda text: "'" + text.replace("'", "''") + "'") -> str:
    """A label as an SQL literal (labels come from the data: text is quoted by the engine's rule, never pasted)."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return quote(str(value))


def sql_type(kind: str) -> str:
    """An engine's column type in the names sources.py gives Parquet's (types that read the same count as one)."""
    kind = kind.lower()
    if kind in ("bigint", "integer", "int", "smallint", "tinyint", "hugeint", "ubigint", "uinteger", "usmallint",
                "utinyint", "long", "short", "byte"):
        return "integer"
    if kind in ("double", "float", "real") or kind.startswith("decimal"):
        return "number"
    if kind in ("varchar", "string", "text"):
        return "text"
    if kind in ("boolean", "bool"):
        return "boolean"
    return kind
