"""Engines that run the warehouse's SQL where the rows live, behind one interface (`Engine`): quoting of names and
literals, a query returning a frame, a seeded sample, the columns' types, close. Adding an engine is one module
implementing it and one line in ENGINES; `data.engine` accepts exactly the names ENGINES has (plus auto, pandas)."""
from __future__ import annotations

from postreport.errors import UserError
from postreport.data.engines.base import Engine
from postreport.data.engines.duckdb import DuckDB
from postreport.data.engines.spark import Spark

ENGINES: dict[str, type[Engine]] = {"duckdb": DuckDB, "spark": Spark}


def choose_engine(engine: str, rows: int, threshold: int) -> str:
    """data.engine: pandas (every row in memory), one of ENGINES, or auto: pandas up to `threshold` rows (every
    section), DuckDB above."""
    valid = ("auto", "pandas", *ENGINES)
    if engine not in valid:
        raise UserError(f"data.engine={engine!r} is not valid; valid: {', '.join(valid)}")
    if engine != "auto":
        return engine
    return "duckdb" if rows > threshold else "pandas"
