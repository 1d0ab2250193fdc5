"""Open an export in LibreOffice (headless, formulas evaluated) and read back what it made of
every cell: no cell became a formula, numbers are numbers, dates and times are dates.

Outside CI a machine without LibreOffice skips this; under CI it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from accredit.exports import service as exports
from accredit.exports import tables
from tests.exports.conftest import FORMULA_REASON, TITLE

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
# Comma, double quotes, UTF-8, from line 1, English (US), quoted fields not forced to text,
# special numbers (dates) detected, and "evaluate formulas" on: the most trusting reader.
CSV_FILTER = "CSV:44,34,76,1,,1033,false,true,false,false,false,-1,true"


@pytest.fixture(scope="module")
def soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing: CI must install Debian's libreoffice-calc-nogui")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    return found


def open_in_libreoffice(soffice: str, csv_path: Path) -> list[list[dict[str, str | None]]]:
    """Each cell as LibreOffice read it: its type, whether it is a formula, its style, its text."""
    profile = csv_path.parent / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "xlsx", "--infilter=" + CSV_FILTER, "--outdir", str(csv_path.parent),
         str(csv_path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # The workbook is the one LibreOffice just wrote here from our own file.
    with zipfile.ZipFile(csv_path.with_suffix(".xlsx")) as book:
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
        shared = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314
    strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t")) for si in shared]
    rows = []
    for row in sheet.iterfind(".//x:sheetData/x:row", NS):
        cells = []
        for c in row.iterfind("x:c", NS):
            value = c.findtext("x:v", default=None, namespaces=NS)
            kind = c.get("t", "n")
            cells.append({
                "ref": c.get("r"), "type": kind, "style": c.get("s", "0"),
                "formula": (c.find("x:f", NS) is not None and "yes") or None,
                "text": strings[int(value)] if kind == "s" and value is not None else value,
            })  # fmt: skip
        rows.append(cells)
    return rows


def _column(ref: str | None) -> int:
    letters = re.match(r"[A-Z]+", ref or "A").group(0)  # type: ignore[union-attr]
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


def _cells_by_name(rows, header):
    named = []
    for row in rows[1:]:
        named.append({header[_column(cell["ref"])]: cell for cell in row})
    return named


def test_libreoffice_reads_no_formula_and_keeps_numbers_and_dates(released, soffice, tmp_path):
    export = exports.generate("results", exports.Filters(), actor=None)
    with zipfile.ZipFile(exports.export_dir() / export.file_name) as archive:
        archive.extract("results.csv", tmp_path)
    rows = open_in_libreoffice(soffice, tmp_path / "results.csv")

    header = [cell["text"] for cell in rows[0]]
    assert header == tables.RESULTS.header
    assert all(cell["formula"] is None for row in rows for cell in row), "no cell is a formula"
    cells = _cells_by_name(rows, header)
    assert len(cells) == export.rows
    for row in cells:
        withheld = row["outcome"]["text"] == "withheld"
        numbers = ("assessment_version", "attempt_number", "raw_score", "maximum", "cut")
        for name in numbers[:2] if withheld else numbers:  # a withheld score is held back
            assert row[name]["type"] == "n", f"{name} is a number"
        for name in ("started_at", "submitted_at", "ratified_at"):
            assert row[name]["type"] == "n", f"{name} is a date and time"
            assert row[name]["style"] != "0", f"{name} is formatted as a date"
        assert row["assessment_title"]["text"] == "'" + TITLE
    reasons = {row["amendment_reason"]["text"] for row in cells if "amendment_reason" in row}
    assert reasons == {"'" + FORMULA_REASON}


def test_the_same_reader_would_run_a_formula_left_as_it_was(soffice, tmp_path):
    """The check above can fail: without neutralising, LibreOffice makes these cells formulas."""
    raw = tmp_path / "raw.csv"
    raw.write_bytes(
        b'reason,title\r\n"' + FORMULA_REASON.replace('"', '""').encode() + b'",' +
        TITLE.encode() + b"\r\n"
    )  # fmt: skip
    rows = open_in_libreoffice(soffice, raw)
    assert rows[1][0]["formula"] == "yes"
