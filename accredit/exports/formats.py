"""Export files: spreadsheet-safe CSV, Frictionless Data Package descriptors, and their check.

Plain Python: no Flask, no database. An export is a ZIP holding one or more
CSV files and a ``datapackage.json`` that describes each (a Table Schema per
file) with its row count, size and SHA-256, so whoever receives it can load it
with its types and prove it was not altered.

CSV: RFC 4180 (comma, CRLF line ends, double quotes doubled), UTF-8 without a
byte order mark, a header row. Every text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab, a carriage return or a NUL is prefixed with ``'`` (OWASP's
rule for CSV injection), so no spreadsheet evaluates it as a formula. Numeric,
boolean and date columns hold values this module wrote itself from typed data,
so they are written as plain numbers (a negative number stays a number).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import IO, Any, Literal

FieldType = Literal["string", "integer", "number", "boolean", "datetime", "date", "yearmonth"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
# Times in the CSV are UTC, written without a zone designator (the schema says UTC) so that
# spreadsheets read them as dates and times rather than as text.
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
DESCRIPTOR = "datapackage.json"
PROFILE = "tabular-data-package"
# The cell that stands for a number held back because it counts fewer than five people.
SUPPRESSED = "c"


class ExportFormatError(ValueError):
    """A value does not fit its column, or a schema is malformed."""


@dataclass(frozen=True)
class Field:
    """One column: its name, Table Schema type, description and allowed values, if fixed."""

    name: str
    type: FieldType
    description: str
    enum: tuple[str, ...] = ()
    required: bool = False
    # A number column that may hold SUPPRESSED instead of a small count.
    suppressible: bool = False

    def descriptor(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name, "type": self.type, "description": self.description,
        }  # fmt: skip
        if self.type == "datetime":
            found["format"] = DATETIME_FORMAT
        constraints: dict[str, Any] = {}
        if self.enum:
            constraints["enum"] = list(self.enum)
        if self.required:
            constraints["required"] = True
        if constraints:
            found["constraints"] = constraints
        return found


@dataclass(frozen=True)
class Table:
    """One CSV of an export: its resource name and columns."""

    name: str
    title: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    @property
    def header(self) -> list[str]:
        return [f.name for f in self.fields]

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "fields": [f.descriptor() for f in self.fields],
            "missingValues": [""] + ([SUPPRESSED] if self.suppressible else []),
        }
        if self.primary_key:
            schema["primaryKey"] = list(self.primary_key)
        return schema

    @property
    def suppressible(self) -> bool:
        return any(f.suppressible for f in self.fields)


def neutralise(text: str) -> str:
    """The text, with ``'`` in front if a spreadsheet could read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ExportFormatError("a naive datetime cannot be exported: its zone is unknown")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Formatter = Callable[[Any], str]


def formatter(column: Field) -> Formatter:
    """The function that writes this column's cells: checks once per column, not per cell.

    These run for every cell of a million-row export, so each is one small function
    with the common case first.
    """
    name, required = column.name, column.required
    body = _body(column)

    def missing() -> str:
        if required:
            raise ExportFormatError(f"{name}: a value is required")
        return ""

    if column.suppressible:

        def suppressible(value: Any) -> str:
            if value is None:
                return missing()
            return SUPPRESSED if value == SUPPRESSED else body(value)

        return suppressible

    def write(value: Any) -> str:
        return missing() if value is None else body(value)

    return write


def _body(column: Field) -> Formatter:
    """The formatter of a present value of this column."""
    name = column.name

    def wrong(value: Any, what: str) -> ExportFormatError:
        return ExportFormatError(f"{name}: {value!r} is not {what}")

    kind = column.type
    if kind == "integer":

        def integer(value: Any) -> str:
            if value.__class__ is not int and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise wrong(value, "a whole number")
            return str(value)

        return integer
    if kind == "number":

        def number(value: Any) -> str:
            kind_of = value.__class__
            if kind_of is float:
                if value.is_integer() and -1e15 < value < 1e15:
                    return str(int(value))
                if not math.isfinite(value):
                    raise wrong(value, "a finite number")
                rounded = round(value, 6)
                return str(int(rounded)) if rounded.is_integer() else repr(rounded)
            if kind_of is int:
                return str(value)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong(value, "a number")
            return number(float(value))

        return number
    if kind == "boolean":

        def boolean(value: Any) -> str:
            if value is True:
                return "true"
            if value is False:
                return "false"
            raise wrong(value, "true or false")

        return boolean
    if kind == "datetime":

        def moment(value: Any) -> str:
            if value.__class__ is str:
                # Text as the database keeps UTC: "YYYY-MM-DD HH:MM:SS[.ffffff]".
                if len(value) >= 19 and value[4] == "-" and value[13] == ":":
                    return f"{value[:10]}T{value[11:19]}"
                raise wrong(value, "a date and time")
            if not isinstance(value, datetime):
                raise wrong(value, "a date and time")
            offset = value.utcoffset()
            if offset is None:
                raise ExportFormatError(f"{name}: a time without its zone cannot be exported")
            if offset:
                value = value.astimezone(UTC)
            return str(value.replace(tzinfo=None, microsecond=0).isoformat())

        return moment
    if kind == "date":

        def day(value: Any) -> str:
            if isinstance(value, datetime) or not isinstance(value, date):
                raise wrong(value, "a date")
            return value.isoformat()

        return day
    if kind == "yearmonth":

        def month(value: Any) -> str:
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}", value):
                raise wrong(value, "a year and month")
            return value

        return month
    if column.enum:
        allowed = frozenset(column.enum)

        def chosen(value: Any) -> str:
            written = value if value.__class__ is str else str(value)
            if written not in allowed:
                raise ExportFormatError(
                    f"{name}: {written!r} is not one of {', '.join(column.enum)}"
                )
            return "'" + written if written[:1] in _FORMULA_FIRST else written

        return chosen

    def text(value: Any) -> str:
        written = value if value.__class__ is str else str(value)
        return "'" + written if written[:1] in _FORMULA_FIRST else written

    return text


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def cell(value: Any, column: Field) -> str:
    """One value as its CSV cell: typed columns as plain values, text neutralised.

    A datetime column takes an aware datetime, or a UTC time as text in the form
    the database stores it (``YYYY-MM-DD HH:MM:SS``).
    """
    return formatter(column)(value)


class _Hashing(io.RawIOBase):
    """A binary sink that hashes, counts and passes bytes on to the file inside the ZIP."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.sha256, self.bytes = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sha256.update(chunk)
        self.bytes += len(chunk)
        self.target.write(chunk)
        return len(chunk)


@dataclass
class Written:
    """What was written for one table: its rows, size and SHA-256."""

    table: Table
    rows: int = 0
    bytes: int = 0
    sha256: str = ""


def write_table(archive: zipfile.ZipFile, table: Table, rows: Iterable[Sequence[Any]]) -> Written:
    """Stream rows into ``table.path`` in the archive, a buffer of rows at a time."""
    written = Written(table)
    with archive.open(table.path, "w", force_zip64=True) as member:
        sink = _Hashing(member)
        text = io.TextIOWrapper(
            io.BufferedWriter(sink, buffer_size=1 << 16), encoding="utf-8", newline=""
        )
        writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(table.header)
        formats = [formatter(column) for column in table.fields]
        width = len(formats)
        count = 0
        for row in rows:
            if len(row) != width:
                raise ExportFormatError(f"{table.name}: a row has {len(row)} values, not {width}")
            writer.writerow([write(value) for write, value in zip(formats, row, strict=True)])
            count += 1
        written.rows = count
        text.flush()
        text.detach().flush()
    written.bytes, written.sha256 = sink.bytes, sink.sha256.hexdigest()
    return written


@dataclass(frozen=True)
class PackageInfo:
    """What the descriptor says about the export as a whole."""

    name: str
    title: str
    schema_version: str
    generated_at: datetime
    generated_by: Mapping[str, Any]
    filters: Mapping[str, Any]
    export_id: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def descriptor(info: PackageInfo, written: Sequence[Written]) -> dict[str, Any]:
    """The Frictionless Data Package descriptor for the written tables."""
    return {
        "profile": PROFILE,
        "name": info.name,
        "title": info.title,
        "version": info.schema_version,
        "created": _utc(info.generated_at),
        "accredit": {
            "export_id": info.export_id,
            "schema_version": info.schema_version,
            "generated_at": _utc(info.generated_at),
            "generated_by": dict(info.generated_by),
            "filters": dict(info.filters),
            "notes": list(info.notes),
        },
        "resources": [
            {
                "name": w.table.name,
                "title": w.table.title,
                "path": w.table.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": w.bytes,
                "hash": f"sha256:{w.sha256}",
                "rows": w.rows,
                "dialect": {
                    "delimiter": ",",
                    "lineTerminator": "\r\n",
                    "quoteChar": '"',
                    "doubleQuote": True,
                    "header": True,
                },
                "schema": w.table.schema(),
            }
            for w in written
        ],
    }


def write_descriptor(
    archive: zipfile.ZipFile, info: PackageInfo, written: Sequence[Written]
) -> None:
    body = json.dumps(descriptor(info, written), indent=2, ensure_ascii=False, sort_keys=False)
    archive.writestr(DESCRIPTOR, body.encode("utf-8") + b"\n")


# ---- checking a received export ------------------------------------------------------------


_PARSERS: dict[str, re.Pattern[str]] = {
    "integer": re.compile(r"-?\d+"),
    "number": re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?"),
    "boolean": re.compile(r"true|false"),
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"),
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "yearmonth": re.compile(r"\d{4}-\d{2}"),
}


def _rows(member: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(member, encoding="utf-8", newline="")
    yield from csv.reader(text, strict=True)


def verify(path: Any) -> list[str]:
    """Check an export ZIP against its descriptor; return each problem found (none: it is intact).

    Checks that the descriptor is there and well formed, that every file it
    lists is present, with the same size and SHA-256 and the stated number of
    rows, that each header matches the schema and each cell its column's type,
    and that the ZIP holds nothing the descriptor does not list.
    """
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return [f"not a readable ZIP file: {error}"]
    with archive:
        names = set(archive.namelist())
        if DESCRIPTOR not in names:
            return [f"{DESCRIPTOR} is missing"]
        try:
            package = json.loads(archive.read(DESCRIPTOR).decode("utf-8"))
            resources = package["resources"]
            if not isinstance(resources, list):
                raise TypeError("resources is not a list")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            return [f"{DESCRIPTOR} is not a valid descriptor: {error}"]
        listed = {DESCRIPTOR}
        for resource in resources:
            problems += _verify_resource(archive, names, resource)
            listed.add(str(resource.get("path")))
        for extra in sorted(names - listed):
            problems.append(f"{extra}: in the ZIP but not in {DESCRIPTOR}")
    return problems


def _verify_resource(
    archive: zipfile.ZipFile, names: set[str], resource: Mapping[str, Any]
) -> list[str]:
    path = str(resource.get("path", ""))
    if not path or PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
        return [f"a resource has an unsafe or missing path: {path!r}"]
    if path not in names:
        return [f"{path}: listed in {DESCRIPTOR} but missing from the ZIP"]
    problems = []
    digest, size = hashlib.sha256(), 0
    with archive.open(path) as member:
        for chunk in iter(lambda: member.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
    expected_hash = str(resource.get("hash", ""))
    if expected_hash != f"sha256:{digest.hexdigest()}":
        problems.append(
            f"{path}: SHA-256 is {digest.hexdigest()}, but {DESCRIPTOR} says "
            f"{expected_hash.removeprefix('sha256:') or 'nothing'}: the file was altered"
        )
    if resource.get("bytes") != size:
        problems.append(f"{path}: {size} bytes, but {DESCRIPTOR} says {resource.get('bytes')}")
    fields = resource.get("schema", {}).get("fields", [])
    missing = set(resource.get("schema", {}).get("missingValues", [""]))
    header = [f.get("name") for f in fields]
    count = 0
    try:
        with archive.open(path) as member:
            rows = _rows(member)
            first = next(rows, None)
            if first != header:
                problems.append(f"{path}: the header does not match the schema's fields")
            for number, row in enumerate(rows, start=2):
                count += 1
                problem = _row_problem(row, fields, missing)
                if problem and len(problems) < 20:
                    problems.append(f"{path}, line {number}: {problem}")
    except (csv.Error, UnicodeDecodeError) as error:
        problems.append(f"{path}: not readable as UTF-8 CSV: {error}")
    if resource.get("rows") != count:
        problems.append(f"{path}: {count} rows, but {DESCRIPTOR} says {resource.get('rows')}")
    return problems


def _row_problem(row: list[str], fields: list[Mapping[str, Any]], missing: set[str]) -> str | None:
    if len(row) != len(fields):
        return f"{len(row)} cells, where the schema has {len(fields)} columns"
    for value, column in zip(row, fields, strict=False):
        if value in missing:
            if column.get("constraints", {}).get("required"):
                return f"{column.get('name')} is empty, but required"
            continue
        kind = str(column.get("type"))
        pattern = _PARSERS.get(kind)
        if pattern is not None and not pattern.fullmatch(value):
            return f"{column.get('name')}: {value!r} is not a {kind}"
        enum = column.get("constraints", {}).get("enum")
        if enum and value not in enum:
            return f"{column.get('name')}: {value!r} is not an allowed value"
        if kind == "string" and value.startswith(FORMULA_STARTS):
            return f"{column.get('name')}: a cell starts as a formula would"
    return None
