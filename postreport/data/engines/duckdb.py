"""DuckDB in this process: out of core (spills to a temporary folder of its own beyond data.memory_limit)."""
from __future__ import annotations

import shutil
import tempfile
import weakref

import pandas as pd

from postreport.data.engines.base import literal, sql_type
from postreport.planning.threads import available_cores


class DuckDB:
    """DuckDB in this process: spills to a temporary folder beyond its memory limit, so rows never need to fit."""

    name = "DuckDB"

    def __init__(self, source, settings):  # a postreport.data.sources.Source

        import duckdb

        threads = settings.threads or available_cores()  # the cores this process may use
        self.spill = tempfile.mkdtemp(prefix="postreport-duckdb-")  # not DuckDB's default: .tmp in the user's folder
        weakref.finalize(self, shutil.rmtree, self.spill, True)  # also when a run stops before close()
        self.con = duckdb.connect(config={"memory_limit": settings.memory_limit, "threads": int(threads),
                                          "preserve_insertion_order": False, "temp_directory": self.spill})
        try:  # times with a zone become UTC days, as in pandas (with ICU the session zone is the machine's)
            self.con.execute("SET TimeZone = 'UTC'")
        except duckdb.Error:  # ICU not loaded: DuckDB then computes zoned times in UTC already
            pass
        self.register("src", source)

    def register(self, name: str, source) -> None:
        """A view `name` of a Source's files (the predictions as `src`; a drift reference as `ref`)."""
        files = "[" + ", ".join(literal(str(f)) for f in source.files) + "]"
        options = f"hive_partitioning = {str(bool(source.partitions)).lower()}, hive_types_autocast = false"
        if source.kind == "parquet":  # partition values stay text, as in every engine
            reader = f"read_parquet({files}, {options})"
        else:
            d = source.dialect
            encoding = {"utf-8-sig": "utf-8", "cp1252": "latin-1", "iso8859-1": "latin-1"}.get(d.encoding, d.encoding)
            reader = (f"read_csv({files}, header = true, delim = {literal(d.sep)}, "
                      f"decimal_separator = {literal(d.decimal)}, encoding = {literal(encoding)}, {options})")
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {reader}")

    @staticmethod
    def period(expr: str, period) -> str:
        """A date (or text such as 2026-11-01) as its day YYYY-MM-DD, ISO week YYYY-Www or month YYYY-MM; None: the
        value as text."""
        if period is None:
            return f"CAST({expr} AS VARCHAR)"
        pattern = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}[period]
        return f"strftime(TRY_CAST({expr} AS DATE), '{pattern}')"

    def column_types(self, view: str = "src") -> dict:
        """name -> integer | number | text | boolean | the engine's own type name."""
        described = self.con.execute(f"DESCRIBE {view}").df()
        return {name: sql_type(kind) for name, kind in zip(described["column_name"], described["column_type"])}

    @staticmethod
    def ident(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    @staticmethod
    def literal(value) -> str:
        return literal(value)  # standard SQL: a quote doubled, a backslash is itself

    @staticmethod
    def sample(select: str, rows: int, seed: int) -> str:
        """A seeded sample of `rows` rows of a query's result."""
        return f"SELECT * FROM ({select}) AS t USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({int(seed)})"

    def query(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)
