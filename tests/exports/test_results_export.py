"""The results export after moderation and release: a ZIP whose datapackage.json matches its
CSV, checked by `exports verify`, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from accredit import clock
from accredit.exports import formats
from tests.cohort import KEY
from tests.exports.conftest import FORMULA_REASON, TITLE


def _rows(path: Path, name: str = "results.csv") -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_results_export_matches_its_descriptor_and_verifies(released, runner, tmp_path):
    out = tmp_path / "r.zip"
    made = runner.invoke(args=["exports", "results", "--out", str(out)])
    assert made.exit_code == 0, made.output

    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["datapackage.json", "results.csv"]
        package = json.loads(archive.read("datapackage.json"))
        body = archive.read("results.csv")
    [resource] = package["resources"]
    assert package["profile"] == "tabular-data-package"
    assert package["version"] == "1.0"
    assert package["accredit"]["filters"]["status"] == "ratified"
    assert package["accredit"]["generated_by"] == {"user_id": None, "role": "system"}
    assert resource["hash"] == "sha256:" + __import__("hashlib").sha256(body).hexdigest()
    assert resource["bytes"] == len(body)
    assert resource["rows"] == 12
    header = body.split(b"\r\n", 1)[0].decode()
    assert header.split(",") == [f["name"] for f in resource["schema"]["fields"]]

    verified = runner.invoke(args=["exports", "verify", str(out)])
    assert verified.exit_code == 0, verified.output


def test_one_changed_byte_is_named(released, runner, tmp_path):
    out = tmp_path / "r.zip"
    assert runner.invoke(args=["exports", "results", "--out", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    body = bytearray(members["results.csv"])
    at = body.index(b"passed")
    body[at] = ord("P")  # one byte: "passed" becomes "Passed"
    members["results.csv"] = bytes(body)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)

    checked = runner.invoke(args=["exports", "verify", str(tampered)])

    assert checked.exit_code == 1
    assert "results.csv: SHA-256 is" in checked.output
    assert "the file was altered" in checked.output
    assert formats.verify(out) == []


def test_a_row_dropped_and_the_count_fixed_in_the_hash_is_still_caught(released, runner, tmp_path):
    out = tmp_path / "r.zip"
    assert runner.invoke(args=["exports", "results", "--out", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        package = json.loads(archive.read("datapackage.json"))
        body = archive.read("results.csv")
    shorter = b"\r\n".join(body.split(b"\r\n")[:-2]) + b"\r\n"
    package["resources"][0]["hash"] = "sha256:" + __import__("hashlib").sha256(shorter).hexdigest()
    package["resources"][0]["bytes"] = len(shorter)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("datapackage.json", json.dumps(package))
        archive.writestr("results.csv", shorter)
    assert formats.verify(forged) == ["results.csv: 11 rows, but datapackage.json says 12"]


def test_outcomes_statuses_and_neutralised_text(released):
    from accredit.exports import service as exports

    export = exports.generate("results", exports.Filters(), actor=released.lead)
    rows = _rows(exports.export_dir() / export.file_name)
    by_id = {row["export_row_id"]: row for row in rows}
    withheld = by_id[f"R{released.withheld.id}.{released.withheld.revision}"]
    amended = [row for row in rows if row["result_status"] == "amended"]
    assert withheld["outcome"] == "withheld"
    assert withheld["result_status"] == "ratified"
    held_back = ("raw_score", "maximum", "cut", "cut_method", "cut_description")
    assert [withheld[name] for name in held_back] == [""] * 5, "its scores are held back too"
    assert sorted(int(row["export_row_id"][1:].split(".")[0]) for row in amended) == sorted(
        released.amended
    )
    assert {row["amendment_reason"] for row in amended} == {"'" + FORMULA_REASON}
    assert all(row["assessment_title"] == "'" + TITLE for row in rows)
    assert {row["outcome"] for row in rows} <= {"passed", "not_passed", "withheld"}
    assert {row["assessment_id"] for row in rows} == {KEY}
    assert all(row["swe_registration_number"].startswith("SW") for row in rows)
    assert all(len(row["started_at"]) == 19 for row in rows), (
        "UTC, to the second, as the schema says"
    )
    assert "@" not in "".join(",".join(row.values()) for row in rows), "no email in the export"


def test_filters_narrow_the_rows(released):
    from datetime import timedelta

    from accredit.exports import service as exports

    def count(**given):
        export = exports.generate("results", exports.Filters(**given), actor=None)
        return export.rows

    today = clock.now().date()
    assert count(organisation="NHX") == 12
    assert count(window_to=today - timedelta(days=2)) == 0
    assert count(window_from=today - timedelta(days=2), window_to=today + timedelta(days=2)) == 12
    assert count(assessment=KEY) == 12
