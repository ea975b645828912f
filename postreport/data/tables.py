"""Reading and cleaning the files people have: CSV (any dialect, see dialect.py), TSV and Parquet into tidy frames;
tokens such as '?' as missing values, ISO dates as their parts, durations as seconds; row keys; the target's rows
and its labels' spellings."""
from __future__ import annotations

import gc
import hashlib
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError
from postreport.data.held import frame_digest, held, is_held
from postreport.data import dialect as csv_dialect
from postreport.data.labels import near_duplicate_labels
from postreport.data.sources import COMPRESSED, VALID_TYPES, file_kind




def read_table(path: str, key: str, files: dict, na_values=(), notes: Optional[list] = None,
                keep: tuple = (), csv_settings: tuple = (None, None, None), text: tuple = (),
                drop: tuple = (), dialect: Optional[csv_dialect.Dialect] = None) -> pd.DataFrame:
    """A CSV, TSV or Parquet file as a tidy frame (see `tidy`; columns in `keep` are left as they are).
    csv_settings: data.encoding, data.sep, data.decimal (null: detected from this file, with a note, see dialect.py);
    `dialect`: already decided for the files of a source (its owner says so once); `text`: columns read as text
    whatever they look like (row keys: "007" and "7" are two keys); `drop`: data.drop, by the file's names."""
    notes = notes if notes is not None else []
    if is_held(path):  # a frame handed over in memory (postreport.evaluate): tidied as a file's table is
        table = held(path, key).copy(deep=False)
        if table.empty:
            raise UserError(f"{key}: the frame has no rows")
        files[path] = frame_digest(table)
        return tidied(table, [], key, drop, na_values, notes, keep)
    p = Path(path).expanduser()
    kind = file_kind(p)
    if kind is None:
        raise UserError(f"{key}={path!r}: unsupported file type {''.join(p.suffixes[-2:])!r}; valid: {VALID_TYPES}")
    if not p.is_file():
        raise UserError(f"{key}={path!r}: file not found (relative paths are taken from {Path.cwd()})")
    header: list = []
    if kind in ("parquet", "feather", "jsonl"):
        try:
            table = {"parquet": pd.read_parquet, "feather": pd.read_feather,
                     "jsonl": lambda f: pd.read_json(f, lines=True, dtype=False)}[kind](p)
        except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
            raise UserError(f"{key}={path!r}: cannot read it as {kind}: {str(exc).splitlines()[0]}") from None
        table = without_nested(table, key, notes)
    else:
        given = dialect
        dialect = csv_dialect.sniff(p, kind, *csv_settings) if given is None else given
        try:
            table = read_csv(p, dialect, text)
        except UnicodeDecodeError:
            if "encoding" not in dialect.detected:
                raise UserError(f"{key}={path!r}: not {dialect.encoding} text past its first lines; set data.encoding "
                                "to the file's encoding (e.g. cp1252, latin-1, utf-16)") from None
            dialect = dialect.fallback()  # UTF-8 in its first MiB only
            table = read_csv(p, dialect, text)
        except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
            raise UserError(f"{key}={path!r}: cannot read it as CSV with {dialect.describe()}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; set data.sep, "
                            "data.decimal or data.encoding to the file's") from None
        header = csv_dialect.header(p, dialect)
        if dialect != given and dialect.note(p):  # detected here, or read in Windows-1252 after all
            notes.append(dialect.note(p))
    if table.empty:
        raise UserError(f"{key}={path!r}: the file has no rows")
    files[str(p)] = sha256_of(p)
    return tidied(table, header, f"{key}={path!r}", drop, na_values, notes, keep)


def tidied(table: pd.DataFrame, header: list, where: str, drop: tuple, na_values, notes: list,
           keep: tuple) -> pd.DataFrame:
    """A table as read (header: the names its file gives, when they differ from the frame's): names checked, data.drop
    applied, then `tidy`."""
    key = where.split("=", 1)[0]
    names = header or [str(c) for c in table.columns]
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise UserError(f"{where}: column names appear more than once: {twice}; rename them so that each "
                        "column has its own name")
    table.columns = [str(c) for c in table.columns]
    unknown = [c for c in drop if c not in table.columns]
    if unknown:  # the file's own names: data.drop applies before dates become their parts
        raise UserError(f"data.drop names columns not in {key}: {unknown}; its columns are: {list(table.columns)}")
    return tidy(table.drop(columns=list(drop)), key, list(na_values), notes, keep)


def without_nested(table: pd.DataFrame, key: str, notes: list) -> pd.DataFrame:
    """A struct, list or map column (Parquet, JSON objects) would become one text category per row, fed to the model
    and the drift tests: left out, with a note naming them."""
    nested = [c for c in table.columns if table[c].dtype == object and _nested(table[c])]
    if not nested:
        return table
    notes.append(f"Columns of {key} that hold structs, lists or maps were left out (no model or test reads them as "
                 f"values): {', '.join(map(str, nested[:20]))}.")
    return table.drop(columns=nested)


def _nested(values: pd.Series) -> bool:
    first = values.dropna()
    return len(first) > 0 and isinstance(first.iloc[0], (dict, list, tuple, np.ndarray))


STREAM_BYTES = 64 << 20  # CSV files larger than this are parsed block by block (the text is never held whole)


def read_csv(path: Path, dialect, text: tuple = ()) -> pd.DataFrame:
    """pyarrow's multi-threaded reader (several times faster on large files, less memory); for large files its
    streaming reader, which holds one block of text at a time (about a third of the peak memory, twice the time);
    pandas' own reader where pyarrow's type inference gives up on a messy column (it infers a column's type from
    its first rows) or, for a small file, the file writes decimal commas (pandas' pyarrow engine takes no decimal
    mark). `text`: columns kept as text. A UnicodeDecodeError is the caller's: the encoding was wrong."""
    dtype = {c: str for c in text}
    pandas_reader = dict(sep=dialect.sep, decimal=dialect.decimal, encoding=dialect.encoding, dtype=dtype)
    encoding = "utf8" if dialect.encoding == "utf-8-sig" else dialect.encoding  # pyarrow skips a UTF-8 BOM itself
    try:
        if path.suffix.lower() in COMPRESSED:  # pandas decompresses as the name says
            return pd.read_csv(path, **pandas_reader)
        if path.stat().st_size <= STREAM_BYTES:
            if dialect.decimal != ".":
                return pd.read_csv(path, **pandas_reader)
            return pd.read_csv(path, sep=dialect.sep, engine="pyarrow", encoding=encoding, dtype=dtype or None)
        import pyarrow as pa
        import pyarrow.csv as pcsv

        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(encoding=encoding, block_size=16 << 20),
                               parse_options=pcsv.ParseOptions(delimiter=dialect.sep),
                               convert_options=pcsv.ConvertOptions(decimal_point=dialect.decimal,
                                                                   column_types={c: pa.string() for c in text},
                                                                   strings_can_be_null=True))
        table = pa.Table.from_batches(list(reader))
        frame = table.to_pandas(self_destruct=True)  # each column freed once converted
        del table
        release_arrow_memory()
        return frame
    except UnicodeDecodeError:
        raise
    except Exception:
        return pd.read_csv(path, **pandas_reader)


def release_arrow_memory() -> None:
    """Give the memory pyarrow's allocator kept from reading a file back to the system (its pool keeps freed blocks
    for reuse; a frame read from a large file leaves hundreds of MB there once it is split)."""
    if "pyarrow" in sys.modules:
        gc.collect()
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DATE_PATTERN = r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$"


def tidy(table: pd.DataFrame, key: str, na_values: list, notes: list, keep: tuple = ()) -> pd.DataFrame:
    """What real files hold, made usable, each change said in a note: tokens like '?' in an otherwise numeric
    column become missing values; ISO dates become their parts (year, month, day, day of week, hour); durations
    become seconds; infinities in numeric columns become missing values."""
    tokens = {t.strip().lower() for t in na_values}
    changed, dates = {}, {}
    for col in table.columns:
        if col in keep:
            continue
        values = original = table[col]
        text = values.dtype == object or pd.api.types.is_string_dtype(values)
        if text:
            values = _numeric_with_tokens(values, col, key, tokens, notes)
        if text and values is original and _looks_like_dates(values):
            values = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
        if pd.api.types.is_datetime64_any_dtype(values):
            dates[col] = _date_parts(values, col, key, notes)
            continue
        if pd.api.types.is_timedelta64_dtype(values):
            values = values.dt.total_seconds()
            notes.append(f"Column {col!r} of {key} holds durations; they are used as seconds.")
        if pd.api.types.is_float_dtype(values):
            infinite = np.isinf(values.to_numpy())
            if infinite.any():
                values = values.where(~infinite)
                notes.append(f"Column {col!r} of {key}: {int(infinite.sum())} infinite values are treated as missing.")
        if values is not original:
            changed[col] = values
    if not changed and not dates:
        return table  # the common case: no copy of a large table
    for col, values in changed.items():
        table[col] = values
    if dates:
        parts = [pd.DataFrame(dates.get(col, {col: table[col]}), index=table.index) for col in table.columns]
        table = pd.concat(parts, axis=1)
        table.attrs["dates"] = {col: list(parts) for col, parts in dates.items()}  # the file's name -> its parts
    return table


def _numeric_with_tokens(values: pd.Series, col: str, key: str, tokens: set, notes: list) -> pd.Series:
    """A text column that is numeric but for 'no value' tokens becomes numeric, the tokens missing."""
    present = values.dropna()
    if present.empty:
        return values
    text = present.astype(str).str.strip()
    is_token = text.str.lower().isin(tokens)
    numbers = pd.to_numeric(text[~is_token], errors="coerce")
    if not is_token.any() or numbers.isna().any() or numbers.empty:
        return values
    found = text[is_token].value_counts()
    notes.append(f"Column {col!r} of {key} is numeric but holds " + ", ".join(f"{t!r} {n} times" for t, n in
                 found.items()) + "; those values are treated as missing (data.na_values lists such tokens).")
    converted = pd.Series(np.nan, index=values.index)
    converted.loc[numbers.index] = numbers.astype(float)
    return converted


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    return not sample.empty and bool(sample.str.match(DATE_PATTERN).all())


def _date_parts(values: pd.Series, col: str, key: str, notes: list) -> dict:
    """A date column's parts (year, month, day, day of week, hour). Times with a zone (an offset in text, a
    tz-aware Parquet column) are taken in UTC, the one rule of every engine (DuckDB and Spark sessions run in UTC),
    so the same instants give the same days wherever they were written; times without a zone as written."""
    zoned = getattr(values.dt, "tz", None) is not None
    if zoned:
        values = values.dt.tz_convert("UTC")
    stamps = values.dt
    parts = {f"{col}.year": stamps.year, f"{col}.month": stamps.month, f"{col}.day": stamps.day,
             f"{col}.day_of_week": stamps.day_of_week}
    if (stamps.hour.fillna(0) != 0).any() or (stamps.minute.fillna(0) != 0).any():
        parts[f"{col}.hour"] = stamps.hour
    notes.append(f"Column {col!r} of {key} holds dates; the model sees their parts ({', '.join(parts)}), not the "
                 "dates themselves" + ("; its times carry a zone and are taken in UTC (days, hours and periods are "
                                       "UTC's)." if zoned else "."))
    return {name: part.astype(float) for name, part in parts.items()}


def check_columns(table: pd.DataFrame, key: str, target: str, drop: list) -> None:
    if target not in table.columns:
        raise UserError(f"target column {target!r} is not in {key}; its columns are: {list(table.columns)}")
    unknown = [c for c in drop if c not in table.columns]
    if unknown:
        raise UserError(f"data.drop names columns not in {key}: {unknown}; its columns are: {list(table.columns)}")


def clean(table, target, drop, notes, what):
    if table is None:
        return None
    table = table.drop(columns=drop)
    missing = int(table[target].isna().sum())
    if missing:
        table = table[table[target].notna()]  # the index (each row's key) is kept
        notes.append(f"{missing} rows of the {what} have no value in {target!r} and were left out.")
    if table.empty:
        raise UserError(f"the {what} has no rows with a value in the target column {target!r}")
    return table


def keyed(table, id_column: Optional[str], target: str, drop: list):
    """The table indexed by its row keys: data.id's values (the column leaves the features), else the row's position
    in its source (pandas' default index, kept through every filter)."""
    if table is None or not id_column:
        return table
    if id_column not in table.columns:
        raise UserError(f"data.id={id_column!r} is not a column; its columns are: {list(table.columns)}")
    if id_column == target or id_column in drop:
        raise UserError(f"data.id={id_column!r} is also the target or in data.drop; name a column of row keys")
    return table.set_index(id_column)


def test_keys(test_frame, id_column: Optional[str], train_frame=None) -> np.ndarray:
    """Each test row's key; data.id's keys (read as text: "007" and "7" are two keys) must be present and unique in
    the training rows and in the test rows alike."""
    if id_column:
        for what, frame in (("training", train_frame), ("test", test_frame)):
            if frame is None:
                continue
            keys = frame.index
            if keys.hasnans:
                raise UserError(f"data.id={id_column!r} is empty in {int(keys.isna().sum())} {what} rows; every row "
                                "needs a key")
            repeated = keys[keys.duplicated()].unique()
            if len(repeated):
                raise UserError(f"data.id={id_column!r} repeats keys in the {what} rows (e.g. {list(repeated[:5])}); "
                                "row keys must be unique")
    return test_frame.index.to_numpy()


def merge_near_duplicates(tables: list, columns: list, strip: bool, notes: list) -> list:
    """Text labels in `columns` (the target, and the predicted labels) that differ only by spaces or case: an error,
    or merged into one spelling with data.strip_labels=true (see label_checks.near_duplicate_labels)."""
    parts = [t[c] for t in tables if t is not None for c in columns]
    if not parts or all(pd.api.types.is_numeric_dtype(p) or pd.api.types.is_bool_dtype(p) for p in parts):
        return tables
    counts = pd.concat(parts).value_counts()
    mapping, note = near_duplicate_labels(counts.items(), columns[0], strip)
    if not mapping:
        return tables
    notes.append(note)
    for t in tables:
        if t is not None:
            for c in columns:
                t[c] = t[c].replace(mapping)
    return tables


def read_source(source, files: dict, na_values, notes: list, keep: tuple = (), key: str = "data.path",
                **options) -> pd.DataFrame:
    """Every file of the source in memory, one frame (hive partition values as columns), rows in file order.
    options: dialect, text and drop, as read_table takes them."""
    if len(source.files) == 1:
        return read_table(str(source.files[0]), key, files, na_values, notes, keep, **options)
    parts = []
    for f in source.files:
        part = read_table(str(f), f"{key} ({f.name})", files, na_values, notes, keep, **options)
        for name, value in source.partition_values(f).items():
            part[name] = value
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    notes.append(f"Read {len(source.files)} files ({len(table):,} rows) into memory (data.engine=pandas).")
    return table
