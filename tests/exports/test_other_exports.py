"""Profiles, marking, item statistics and the research export: the right rows, nothing that
names anyone, and small counts suppressed."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest

from accredit.exports import formats
from accredit.exports import service as exports
from accredit.models import User
from accredit.models.delivery import Attempt
from tests.cohort import ITEMS, KEY


def read(export, name):
    with zipfile.ZipFile(exports.export_dir() / export.file_name) as archive:
        text = archive.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def made(kind, **filters):
    export = exports.generate(kind, exports.Filters(**filters), actor=None)
    assert formats.verify(exports.export_dir() / export.file_name) == []
    return export


def test_profiles_are_long_one_row_per_attempt_and_statement(released):
    export = made("profiles")
    rows = read(export, "profiles.csv")
    # 11 released results (the withheld one's scores are held back), statements M1 and M2.
    assert export.rows == len(rows) == 11 * 2
    assert {row["statement"] for row in rows} == {"M1", "M2"}
    assert {row["met"] for row in rows} <= {"true", "false"}
    results = {row["export_row_id"] for row in read(made("results"), "results.csv")}
    assert {row["result_row_id"] for row in rows} <= results


def test_the_item_statistics_need_an_assessment_and_hold_no_key(released):
    with pytest.raises(exports.InvalidExport):
        made("items")
    rows = read(made("items", assessment=KEY), "items.csv")
    assert len(rows) == ITEMS
    assert "key" not in rows[0]
    flagged = [row["item_id"] for row in rows if "possible_miskey" in row["hard_flags"]]
    assert flagged == [], "after the rekey no item looks miskeyed"


def test_the_marking_export_is_empty_without_written_answers(released):
    export = made("marking")
    assert export.rows == 0


def test_research_holds_no_one_and_suppresses_small_counts(released, db):
    export = made("research")
    rows = read(export, "responses.csv")
    summary = read(export, "item_months.csv")
    with zipfile.ZipFile(exports.export_dir() / export.file_name) as archive:
        text = b"".join(archive.read(name) for name in archive.namelist()).decode()
    people = db.session.scalars(db.select(User)).all()
    for person in people:
        assert person.email not in text
        assert person.name not in text
        if person.swe_registration_number:
            assert person.swe_registration_number not in text
    assert "Malpractice" not in text, "no free text"
    assert len(rows) == 11 * ITEMS
    assert all(len(row["month"]) == 7 for row in rows), "dates only to the month"
    assert len({row["candidate"] for row in rows}) == 11
    assert {row["candidate"] for row in rows}.isdisjoint({str(p.id) for p in people})
    # Eleven candidates answered each item this month: enough to show.
    assert all(row["candidates"] == "11" for row in summary)
    with zipfile.ZipFile(exports.export_dir() / export.file_name) as archive:
        package = json.loads(archive.read("datapackage.json"))
    assert package["resources"][1]["schema"]["missingValues"] == ["", "c"]


def test_a_summary_of_fewer_than_five_candidates_shows_c(released, db):
    # Only a few results fall in the window: the rest were submitted a year before.
    for result in released.results[4:]:
        attempt = db.session.get(Attempt, result.attempt_id)
        attempt.submitted_at = attempt.submitted_at - timedelta(days=365)
    db.session.commit()
    today = released.results[0].attempt.submitted_at.date()
    export = made("research", window_from=today, window_to=today)
    summary = read(export, "item_months.csv")
    assert summary
    assert {(row["candidates"], row["mean_marks"]) for row in summary} == {("c", "c")}
    assert {row["month"] for row in summary} == {today.strftime("%Y-%m")}


def test_research_never_carries_typed_answers_or_a_form_id():
    from accredit.exports.service import _answer

    assert _answer("single", "b") == "b"
    assert _answer("multiple", ["a", "c"]) == "a;c"
    assert _answer("ordering", ["c", "a", "b"]) == "c;a;b"
    for kind in ("text", "numeric", "written", "anything-new"):
        assert _answer(kind, "Jane Doe, my manager Bob said") is None
    from accredit.exports.tables import RESEARCH

    assert "form_id" not in RESEARCH.header, "a form id would join research rows to results"


def test_an_amended_result_is_exported_before_its_release(db, tmp_path, make_user, make_org):
    """A moderator's amendment is a final decision, like a ratification: it is exported."""
    from accredit.marking import service as marking
    from accredit.models.results import Result
    from tests.marking_world import import_written, make_world, script_of

    import_written(tmp_path)
    world = make_world(make_user, make_org)
    attempt = world.sit()
    script_id = script_of(attempt)
    for round_name in ("first", "second"):
        marker = db.session.get(User, marking.script(script_id).allocations[round_name].marker_id)
        marking.mark_script(script_id, marker, {"a": 0, "b": 0, "c": 0})
        db.session.commit()
    row = db.session.scalar(db.select(Result).filter_by(attempt_id=attempt.id))
    marking.moderate(row.id, "amend", reason="Meets criterion a", score=row.raw + 2,
                     actor=world.lead)  # fmt: skip
    db.session.commit()
    assert row.released_at is None

    rows = read(made("results"), "results.csv")

    [exported] = [r for r in rows if r["export_row_id"] == f"R{row.id}.{row.revision}"]
    assert exported["result_status"] == "ratified"
    assert exported["amendment_reason"] == "Meets criterion a"
