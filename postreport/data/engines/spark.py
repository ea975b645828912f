"""Spark SQL on data.spark.master (local[*] here; a cluster's master URL where the predictions live)."""
from __future__ import annotations

import os
import warnings

import pandas as pd

from postreport.errors import UserError
from postreport.data.engines.base import literal, sql_type


class Spark:
    """Spark SQL on `data.spark.master` (local[*] here; a cluster's master URL where the predictions live)."""

    name = "Spark"

    def __init__(self, source, settings):  # a postreport.data.sources.Source
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise UserError("data.engine=spark needs the optional extra: pip install 'postreport[spark]' (pyspark; "
                            "Java 17 or newer on the PATH)") from None
        if settings.spark.master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # this machine only: no interface guessing
        builder = SparkSession.builder.master(settings.spark.master).appName("postreport")
        quiet = {"spark.ui.showConsoleProgress": "false", "spark.sql.execution.arrow.pyspark.enabled": "true",
                 "spark.ui.enabled": "false", "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
                 "spark.sql.session.timeZone": "UTC"}  # times with a zone become UTC days, as in pandas and DuckDB
        for key, value in {**quiet, **(settings.spark.conf or {})}.items():
            builder = builder.config(key, str(value))
        try:
            self.spark = builder.getOrCreate()
        except Exception as exc:  # no Java, or a master that cannot be reached
            raise UserError(f"data.engine=spark: Spark did not start at {settings.spark.master!r}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self.spark.sparkContext.setLogLevel("ERROR")
        self.frame = self.register("src", source)

    def register(self, name: str, source):
        """A temporary view `name` of a Source's files (the predictions as `src`; a drift reference as `ref`)."""
        files = [str(f) for f in source.files]
        reader = self.spark.read.option("basePath", str(source.base)) if source.partitions else self.spark.read
        if source.kind == "parquet":
            frame = reader.parquet(*files)
        else:
            d = source.dialect
            if d.decimal != ".":
                raise UserError("data.engine=spark reads numbers with a decimal point only; this CSV writes decimal "
                                "commas: use data.engine=duckdb or pandas, or write the file with points")
            # Spark's CSV charsets: ISO-8859-1 for Windows-1252 (they differ in 0x80-0x9F only)
            encoding = {"utf-8-sig": "utf-8", "cp1252": "iso-8859-1", "iso8859-1": "iso-8859-1",
                        "utf-16": "utf-16"}.get(d.encoding, d.encoding)
            try:
                frame = reader.option("header", True).option("inferSchema", True).option("sep", d.sep).option(
                    "encoding", encoding).csv(files)
            except Exception as exc:  # an encoding Spark does not read, or a file it cannot parse
                raise UserError(f"data.engine=spark cannot read {source.path} as CSV with {d.describe()}: "
                                f"{str(exc).splitlines()[0]}") from None
        frame.createOrReplaceTempView(name)
        return frame

    @staticmethod
    def period(expr: str, period) -> str:
        """A date (or text such as 2026-11-01) as its day YYYY-MM-DD, ISO week YYYY-Www or month YYYY-MM; None: the
        value as text. The ISO week's year is the year of its Thursday."""
        if period is None:
            return f"CAST({expr} AS STRING)"
        day = f"to_date({expr})"
        if period == "week":
            thursday = f"date_add({day}, 3 - (dayofweek({day}) + 5) % 7)"
            return f"concat(CAST(year({thursday}) AS STRING), '-W', lpad(CAST(weekofyear({day}) AS STRING), 2, '0'))"
        return f"date_format({day}, '{'yyyy-MM-dd' if period == 'day' else 'yyyy-MM'}')"

    def column_types(self, view: str = "src") -> dict:
        return {name: sql_type(kind) for name, kind in self.spark.table(view).dtypes}

    @staticmethod
    def ident(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    @staticmethod
    def literal(value) -> str:
        """Spark SQL reads backslash escapes in strings (and two quotes as two strings run together)."""
        return literal(value, lambda text: "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'")

    @staticmethod
    def sample(select: str, rows: int, seed: int) -> str:
        return f"SELECT * FROM ({select}) AS t ORDER BY rand({int(seed)}) LIMIT {int(rows)}"

    def query(self, sql: str) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyspark's notes on the pandas version it was tested with
            return self.spark.sql(sql).toPandas()

    def close(self) -> None:
        pass  # the session stays for the process (a notebook's other work may use it)
