"""Where logged predictions live: one file, a folder (a hive-partitioned dataset: `date=2026-01-01/part-0.parquet`)
or a glob of Parquet or CSV files. Resolved to a list of files of one kind, with one schema, before any row is read;
and which engine reads them (`data.engine`)."""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from typing import Optional

from postreport.data.dialect import Dialect, header, sniff
from postreport.errors import UserError

KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl",
         ".ndjson": "jsonl", ".feather": "feather", ".arrow": "feather"}
COMPRESSED = (".gz", ".bz2", ".xz", ".zst")  # CSV and TSV files compressed as a whole (read as they stream)
TYPED = ("parquet", "feather")  # kinds whose files carry their columns' types
IN_MEMORY = ("jsonl", "feather")  # kinds read by pandas only (data.engine=pandas)
VALID_TYPES = ", ".join([*KINDS, *(f".csv{c}" for c in COMPRESSED)])


def file_kind(path) -> Optional[str]:
    """A file's kind from its name: parquet, csv, tsv (also compressed: .csv.gz, .csv.bz2, .csv.xz, .csv.zst),
    jsonl or feather; None for any other."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSED:
        return {".csv": "csv", ".tsv": "tsv"}.get(suffixes[-2])
    return KINDS.get(suffixes[-1]) if suffixes else None
CSV_BYTES_PER_ROW = 24  # auto's estimate of a CSV file's rows (no metadata to read): about 24 bytes a row


@dataclass
class Source:
    """The files of one dataset, all of one kind and schema; `columns` maps name -> type (as the engine reads it),
    hive partition columns (`key=value` folders) included as text."""

    path: str  # as configured
    files: list  # Path, sorted
    kind: str  # parquet | csv | tsv
    columns: dict
    partitions: list = field(default_factory=list)  # hive partition column names, in folder order
    rows: int = 0  # exact for Parquet (from each file's footer), estimated from the size for CSV
    rows_exact: bool = True
    dialect: Optional[Dialect] = None  # CSV: encoding, separator and decimal mark, the same for every engine

    @property
    def name(self) -> str:
        """The dataset's name in the report: the file's stem, the folder's name, or the glob's fixed part's."""
        p = Path(self.path.rstrip("/"))
        while glob.has_magic(str(p)) and p.parent != p:
            p = p.parent
        return p.stem or "predictions"

    @property
    def text(self) -> str:
        """The source as the report's summary names it."""
        return str(self.files[0]) if len(self.files) == 1 else f"{self.path}: {len(self.files)} files"

    @cached_property
    def base(self) -> Path:
        """The folder partition values are read below (once: every file's partition values are read from it)."""
        return Path(os.path.commonpath([str(f.parent) for f in self.files])) if len(self.files) > 1 else \
            self.files[0].parent

    def partition_values(self, file: Path) -> dict:
        """`key=value` parts of a file's folders below the base."""
        parts = file.parent.relative_to(self.base).parts if file.parent != self.base else ()
        return dict(p.split("=", 1) for p in parts if "=" in p)


def resolve(path: str, key: str = "data.path", csv_settings: tuple = (None, None, None)) -> Source:
    """The files `path` names: a file, a folder (every data file below it, recursively) or a glob. csv_settings:
    data.encoding, data.sep, data.decimal (null: detected from the first file)."""
    if not path:
        raise UserError(f"{key} is required: a file, a folder or a glob of Parquet or CSV files")
    p = Path(path).expanduser()
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and file_kind(f)
                       and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts))
        if not files:
            raise UserError(f"{key}={path!r}: the folder holds no {' / '.join(sorted(set(KINDS)))} file "
                            "(files and folders starting with '.' or '_' are ignored, as Spark and Hive write them)")
    elif glob.has_magic(str(p)):
        matched = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
        files = []
        for m in matched:  # a glob of partition folders (preds/date=2026-*/) takes the files below each
            files += [m] if m.is_file() else sorted(f for f in m.rglob("*") if f.is_file()
                                                    and file_kind(f)
                                                    and not f.name.startswith((".", "_")))
        if not files:
            raise UserError(f"{key}={path!r}: the glob matches no file (relative paths are taken from {Path.cwd()})")
    else:
        raise UserError(f"{key}={path!r}: no such file or folder (relative paths are taken from {Path.cwd()})")
    kinds = {file_kind(f) for f in files}
    if None in kinds:
        bad = next(f for f in files if file_kind(f) is None)
        raise UserError(f"{key}={path!r}: {bad} has an unsupported file type {''.join(bad.suffixes[-2:])!r}; "
                        f"valid: {VALID_TYPES}")
    if len(kinds) > 1:
        raise UserError(f"{key}={path!r} mixes file types ({', '.join(sorted(kinds))}); give files of one type")
    source = Source(path=path, files=files, kind=kinds.pop(), columns={})
    if source.kind in ("csv", "tsv"):
        source.dialect = sniff(files[0], source.kind, *csv_settings)
    _schema(source, key)
    return source


def _schema(source: Source, key: str) -> None:
    """One schema across the files: the first file's columns and types; any other file that lacks a column, has
    another, or types one differently is an error naming that file and column. Partition folders must agree too."""
    first = source.files[0]
    reference, rows = _file_columns(first, source.kind, key, source.dialect)
    keys = [list(source.partition_values(f)) for f in source.files]
    partitions = keys[0]
    for f, k in zip(source.files, keys):
        if k != partitions:
            raise UserError(f"{key}={source.path!r}: {f} sits in partition folders {k or 'none'}, but {first} in "
                            f"{partitions or 'none'}; every file of a partitioned dataset needs the same folder keys")
    for f in source.files[1:]:
        columns, count = _file_columns(f, source.kind, key, source.dialect)
        rows += count
        if columns == reference:
            continue
        for name, kind in reference.items():
            if name not in columns:
                raise UserError(f"{key}={source.path!r}: {f} has no column {name!r}, which {first} has; every file "
                                "must have the same columns")
            if columns[name] != kind and source.kind in TYPED:
                raise UserError(f"{key}={source.path!r}: column {name!r} is {columns[name]} in {f} but {kind} in "
                                f"{first}; every file must give a column the same type")
        extra = [c for c in columns if c not in reference]
        if extra:
            raise UserError(f"{key}={source.path!r}: {f} has column {extra[0]!r}, which {first} does not; every file "
                            "must have the same columns")
    clash = [c for c in partitions if c in reference]
    if clash:
        raise UserError(f"{key}={source.path!r}: partition folder key {clash[0]!r} is also a column of the files")
    source.columns = {**reference, **{c: "string" for c in partitions}}
    source.partitions = partitions
    source.rows, source.rows_exact = rows, source.kind != "csv" and source.kind != "tsv"


def _file_columns(path: Path, kind: str, key: str, dialect: Optional[Dialect] = None) -> tuple:
    """A file's columns (name -> type) and rows, from one read of its footer (Parquet: exact) or header (CSV: rows
    estimated from the size)."""
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
            return {name: _type_name(schema.field(name).type) for name in schema.names}, meta.num_rows
        if kind == "feather":
            import pyarrow.feather as feather

            table = feather.read_table(path, memory_map=True)  # mapped: the columns are not read
            return {name: _type_name(table.schema.field(name).type) for name in table.schema.names}, table.num_rows
        if kind == "jsonl":  # the first line's names; the types are pandas' when the rows are read

            with open(path, "rb") as fh:
                first = json.loads(fh.readline() or b"{}")
                return {str(name): "text" for name in first}, 1 + sum(1 for _ in fh)
        # CSV: the names from the header; the types are the engine's own sniffing (Warehouse.column_types)
        return {name: "text" for name in header(path, dialect)}, path.stat().st_size // CSV_BYTES_PER_ROW
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise UserError(f"{key}: cannot read {path} as {kind}: {exc}") from None


def _type_name(arrow_type) -> str:
    """Types that read the same in every engine count as one (int32 and int64 are both integers)."""
    import pyarrow.types as t

    if t.is_integer(arrow_type):
        return "integer"
    if t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "number"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_dictionary(arrow_type):
        return "text"
    if t.is_boolean(arrow_type):
        return "boolean"
    return str(arrow_type)

