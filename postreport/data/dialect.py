"""How a CSV file is written: its encoding (UTF-8 with or without Excel's byte-order mark, else Windows-1252), its
separator (`,` `;` tab `|`) and its decimal mark (`1.5` or `1,5`), from `data.encoding`, `data.sep`,
`data.decimal` or, where those are null, from the file's first lines. Every engine reads the file with the same
dialect, and the report says what was detected."""
from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from postreport.errors import UserError

SAMPLE_BYTES = 1 << 20
SEPARATORS = (",", ";", "\t", "|")  # in order of preference on a tie
FALLBACK_ENCODING = "cp1252"  # Excel's "CSV" on Western Windows; every byte decodes
SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_COMMA_NUMBER = re.compile(r"^\s*-?\d+,\d+\s*$")
_POINT_NUMBER = re.compile(r"^\s*-?\d+\.\d+\s*$")


@dataclass(frozen=True)
class Dialect:
    encoding: str  # a Python codec name: utf-8-sig reads a file with or without a BOM
    sep: str
    decimal: str
    detected: tuple = ()  # what was detected rather than set, for the note

    def describe(self) -> str:
        encoding = self.encoding.replace("utf-8-sig", "UTF-8")
        return (f"encoding {encoding}, separator {SEP_NAMES.get(self.sep, repr(self.sep))}, "
                f"decimal mark {self.decimal!r}")

    def note(self, path) -> Optional[str]:
        """A note when the file is not the common case (UTF-8, comma, point) or something had to be guessed."""
        if self.encoding == "utf-8-sig" and self.sep in (",", "\t") and self.decimal == ".":
            return None
        return f"{Path(path).name} is read as CSV with {self.describe()}" + (
            f" (detected: {', '.join(self.detected)}; set data.{' / data.'.join(self.detected)} to change it)."
            if self.detected else ".")

    def fallback(self) -> "Dialect":
        """The same dialect in Windows-1252: for a file that turned out not to be UTF-8 past its first lines."""
        return Dialect(FALLBACK_ENCODING, self.sep, self.decimal, tuple(dict.fromkeys((*self.detected, "encoding"))))


def sniff(path: Path, kind: str, encoding: Optional[str] = None, sep: Optional[str] = None,
          decimal: Optional[str] = None) -> Dialect:
    """The file's dialect: the settings given, the rest detected from its first MiB."""
    detected = []
    with open_bytes(path) as fh:
        raw = fh.read(SAMPLE_BYTES)
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise UserError(f"data.encoding={encoding!r} is not an encoding Python knows; e.g. utf-8, cp1252, "
                            "latin-1, utf-16") from None
        encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    else:
        encoding = _encoding(raw)
        if encoding != "utf-8-sig":
            detected.append("encoding")
    text = raw.decode(encoding, errors="replace")
    lines = text.splitlines()[:50]
    if len(raw) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if sep:
        sep = {"tab": "\t", "\\t": "\t"}.get(sep, sep)
        if len(sep) != 1:
            raise UserError(f"data.sep={sep!r} must be one character, e.g. ',', ';', 'tab' or '|'")
    elif kind == "tsv":
        sep = "\t"
    else:
        sep = _separator(lines)
        if sep != ",":
            detected.append("sep")
    if decimal:
        if decimal not in (".", ","):
            raise UserError(f"data.decimal={decimal!r} is not valid; valid: '.' or ','")
        if decimal == sep:
            raise UserError(f"data.decimal={decimal!r} is also the separator; a file separated by {decimal!r} writes "
                            "decimals with '.'")
    else:
        decimal = _decimal(lines, sep)
        if decimal != ".":
            detected.append("decimal")
    return Dialect(encoding, sep, decimal, tuple(detected))


def _encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)  # a character cut at the end is fine
        return "utf-8-sig"
    except UnicodeDecodeError:
        return FALLBACK_ENCODING


def _separator(lines: list) -> str:
    """The separator that splits every sampled line into the same number (> 1) of fields, the most fields winning
    (quotes respected); a comma when none does."""
    best, most = ",", 1
    for candidate in SEPARATORS:
        counts = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate) if row}
        if len(counts) == 1 and (n := counts.pop()) > most:
            best, most = candidate, n
    return best


def _decimal(lines: list, sep: str) -> str:
    """',' when the separator is not a comma and numbers are written with a decimal comma (and none with a point)."""
    if sep == ",":
        return "."
    fields = [f for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=sep) for f in row]
    comma = any(_COMMA_NUMBER.match(f) for f in fields)
    point = any(_POINT_NUMBER.match(f) for f in fields)
    return "," if comma and not point else "."


def header(path: Path, dialect: Dialect) -> list:
    """The header row as written (pandas renames repeated names to 'a.1', which would hide them)."""
    with open_bytes(path) as raw, io.TextIOWrapper(raw, encoding=dialect.encoding, errors="replace",
                                                   newline="") as fh:
        return next(csv.reader(fh, delimiter=dialect.sep), [])


def open_bytes(path: Path):
    """The file's bytes, decompressed as its name says (.gz, .bz2, .xz, .zst: Zstandard needs the zstandard
    package, as pandas does)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise UserError(f"{path} is compressed with Zstandard, which needs the zstandard package: pip install "
                            "zstandard (or compress it with gzip)") from None
        return zstandard.open(path, "rb")
    return open(path, "rb")
