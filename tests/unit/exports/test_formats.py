"""Export files without a database: neutralised cells, typed columns, the descriptor, verify."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accredit.exports.formats import (
    FORMULA_STARTS,
    ExportFormatError,
    Field,
    PackageInfo,
    Table,
    cell,
    neutralise,
    verify,
    write_descriptor,
    write_table,
)

TEXT = Field("note", "string", "free text")
TABLE = Table(
    "things", "Things",
    (
        Field("id", "string", "id", required=True), TEXT, Field("n", "integer", "a count"),
        Field("x", "number", "a number"), Field("ok", "boolean", "yes or no"),
        Field("at", "datetime", "when"), Field("colour", "string", "one of", enum=("red", "blue")),
    ),
)  # fmt: skip
AT = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_neutralised(start):
    assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert cell(f"{start}SUM(A1)", TEXT) == f"'{start}SUM(A1)"


def test_safe_text_and_typed_values_are_left_as_they_are():
    assert neutralise("Passed =") == "Passed ="
    assert cell(-3.5, TABLE.fields[3]) == "-3.5"
    assert cell(12.0, TABLE.fields[3]) == "12"
    assert cell(-2, TABLE.fields[2]) == "-2"
    assert cell(True, TABLE.fields[4]) == "true"
    assert cell(None, TEXT) == ""


def test_times_are_utc_to_the_second_and_need_a_zone():
    london = timezone(timedelta(hours=1))
    assert (
        cell(datetime(2026, 6, 1, 11, 0, tzinfo=london), TABLE.fields[5]) == "2026-06-01T10:00:00"
    )
    with pytest.raises(ExportFormatError):
        cell(datetime(2026, 6, 1, 11, 0), TABLE.fields[5])  # noqa: DTZ001 (the point)


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ("3", TABLE.fields[2]), (True, TABLE.fields[2]), ("x", TABLE.fields[3]),
        (float("nan"), TABLE.fields[3]), (1, TABLE.fields[4]), (date(2026, 1, 1), TABLE.fields[5]),
        ("green", TABLE.fields[6]), (None, TABLE.fields[0]),
    ],
)  # fmt: skip
def test_a_value_that_does_not_fit_its_column_is_refused(value, column):
    with pytest.raises(ExportFormatError):
        cell(value, column)


@given(st.text())
def test_no_text_cell_reads_back_as_a_formula(text):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(text, TEXT)])
    [back] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert not back[0].startswith(FORMULA_STARTS)
    assert back[0] in (text, "'" + text)


def package(tmp_path, rows, name="p.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        written = write_table(archive, TABLE, rows)
        info = PackageInfo("things", "Things", "1.0", AT, {"role": "system"}, {}, 7)
        write_descriptor(archive, info, [written])
    return path


ROWS = [
    ["a", "=cmd", 1, 2.5, True, AT, "red"],
    ["b", "plain, with a comma", None, -1.0, False, None, "blue"],
    ["c", 'quote " and\r\nnew line', 3, 0.0, None, AT, None],
]


def test_a_written_package_verifies_and_says_what_it_holds(tmp_path):
    path = package(tmp_path, ROWS)
    assert verify(path) == []
    with zipfile.ZipFile(path) as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
        body = archive.read("things.csv")
    [resource] = descriptor["resources"]
    assert resource["rows"] == 3
    assert resource["bytes"] == len(body)
    assert descriptor["accredit"]["export_id"] == 7
    assert body.startswith(b"id,note,n,x,ok,at,colour\r\n")
    assert b"'=cmd" in body
    assert not body.startswith(b"\xef\xbb\xbf"), "no byte order mark"


def rewrite(path, target, **changes):
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files.update(changes)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            if data is not None:
                archive.writestr(name, data)
    return target


def test_verify_names_each_kind_of_problem(tmp_path):
    path = package(tmp_path, ROWS)
    with zipfile.ZipFile(path) as archive:
        body = archive.read("things.csv")
        descriptor = json.loads(archive.read("datapackage.json"))

    extra = rewrite(path, tmp_path / "extra.zip", **{"notes.txt": b"hello"})
    assert verify(extra) == ["notes.txt: in the ZIP but not in datapackage.json"]

    missing = rewrite(path, tmp_path / "missing.zip", **{"things.csv": None})
    assert verify(missing) == ["things.csv: listed in datapackage.json but missing from the ZIP"]

    edited = rewrite(path, tmp_path / "edited.zip", **{"things.csv": body.replace(b"red", b"rod")})
    problems = verify(edited)
    assert any("SHA-256" in p and "altered" in p for p in problems)
    assert any("'rod' is not an allowed value" in p for p in problems)

    descriptor["resources"][0]["schema"]["fields"][1]["name"] = "remark"
    renamed = rewrite(path, tmp_path / "renamed.zip",
                      **{"datapackage.json": json.dumps(descriptor).encode()})  # fmt: skip
    assert "things.csv: the header does not match the schema's fields" in verify(renamed)

    assert verify(tmp_path / "nothing.zip")[0].startswith("not a readable ZIP file")
    junk = rewrite(path, tmp_path / "junk.zip", **{"datapackage.json": b"{"})
    assert verify(junk)[0].startswith("datapackage.json is not a valid descriptor")


def test_a_row_of_the_wrong_width_stops_the_export(tmp_path):
    with pytest.raises(ExportFormatError):
        package(tmp_path, [["a", "b"]])
