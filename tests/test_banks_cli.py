"""The banks commands on the shipped content, and on that content broken ten ways."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from accredit import cli
from accredit.catalogue import importer
from accredit.extensions import db as db_ext
from accredit.models import AuditEvent, Framework, ImportRun, Item

SHIPPED = Path(__file__).resolve().parent.parent / "question_banks"


def test_shipped_banks_validate_with_zero_errors_and_full_coverage(runner):
    result = runner.invoke(args=["banks", "validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
    assert "live  accreditation  practice  standalone" in result.output
    coverage = re.findall(
        r"^kss-\w+\s+(P[SL]?\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", result.output, flags=re.M
    )
    assert len(coverage) == 10 + 8 + 5
    for statement, live, accreditation, practice in coverage:
        assert int(accreditation) >= 8, f"{statement} has only {accreditation} accreditation items"
        assert int(practice) >= 3, f"{statement} has only {practice} practice items"
        assert int(live) >= int(accreditation)


def break_ten_ways(root: Path) -> dict[str, str]:
    """Break a copy of the banks in ten ways across several files; return what to expect."""

    def edit(relative: str, old: str, new: str) -> None:
        path = root / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))

    practitioner = "banks/kss-practitioner"
    supervisor = "banks/kss-supervisor"
    leader = "banks/kss-leader"
    first_key = re.search(
        r"\n    key: (\w+)\n", (root / f"{supervisor}/sa-standalone.yaml").read_text()
    )
    edit(
        f"{practitioner}/pa-standalone.yaml",
        "  - id: kssp-0002",
        "  - id: kssp-0002\n    bogus: [unclosed",
    )
    edit(
        f"{practitioner}/pb-standalone.yaml",
        "    author: accredit content team\n",
        "",
    )
    edit(f"{supervisor}/sa-standalone.yaml", first_key.group(0), "\n    key: zz\n")
    edit(f"{supervisor}/sb-standalone.yaml", "competencies: [PS5]", "competencies: [PS99]")
    edit(f"{leader}/la-standalone.yaml", "  - id: kssl-0002", "  - id: kssl-0001")
    edit(
        "assessments/kssl-accreditation.yaml",
        "statements: [PL1], count: 4",
        "statements: [PL1], count: 40",
    )
    edit(
        f"{leader}/lb-standalone.yaml",
        "author: accredit content team",
        "author: !!python/object:os.system accredit",
    )
    edit("assessments/ksss-practice.yaml", "percent: 60", "percent: 140")
    edit(f"{leader}/lb-scenarios.yaml", "scenario: scn-l-inspection", "scenario: scn-l-nowhere")
    edit("frameworks/kss-supervisor.yaml", 'version: "2018-05"', 'version: "2099-01"')
    return {
        "pa-standalone.yaml": "invalid yaml",
        "pb-standalone.yaml": "author",
        "sa-standalone.yaml": "zz",
        "sb-standalone.yaml": "PS99",
        "la-standalone.yaml": "duplicate item id",
        "kssl-accreditation.yaml": "pool",
        "lb-standalone.yaml": "python/object",
        "ksss-practice.yaml": "percent",
        "lb-scenarios.yaml": "scn-l-nowhere",
        "ksss-accreditation.yaml": "2018-05",
    }


def test_ten_breaks_are_all_reported_with_file_and_line_and_nothing_is_imported(
    db, runner, tmp_path
):
    root = tmp_path / "question_banks"
    shutil.copytree(SHIPPED, root)
    expected = break_ten_ways(root)

    validated = runner.invoke(args=["banks", "validate", str(root)])
    assert validated.exit_code == 1
    assert "Traceback" not in validated.output
    errors = [line for line in validated.output.splitlines() if line.startswith("error: ")]
    for file_name, clue in expected.items():
        matching = [
            line for line in errors
            if re.search(rf"{re.escape(file_name)}:\d+: ", line) and clue.lower() in line.lower()
        ]  # fmt: skip
        assert matching, f"no error naming {file_name} with line and {clue!r}:\n" + "\n".join(
            errors
        )

    imported = runner.invoke(args=["banks", "import", str(root)])
    assert imported.exit_code == 1
    assert "Nothing imported" in imported.output
    assert "Traceback" not in imported.output
    assert db.session.scalar(select(func.count()).select_from(Item)) == 0
    run = db.session.scalar(select(ImportRun))
    assert run.succeeded is False
    assert len(run.errors) >= 10


def test_import_prints_counts_and_is_idempotent(runner):
    first = runner.invoke(args=["banks", "import", str(SHIPPED)])
    assert first.exit_code == 0, first.output
    assert re.search(r"items\s+added \d{3}", first.output)
    second = runner.invoke(args=["banks", "import", str(SHIPPED)])
    assert re.search(r"items\s+added 0  changed 0  unchanged \d{3}  retired 0", second.output)


def test_repeated_imports_of_unchanged_banks_do_not_pile_up_runs(db, runner):
    # What `make run` does each time it starts.
    outputs = [runner.invoke(args=["banks", "import", str(SHIPPED)]) for _ in range(3)]

    assert [o.exit_code for o in outputs] == [0, 0, 0]
    assert "Imported" in outputs[0].output
    for again in outputs[1:]:
        assert "Nothing has changed" in again.output
        assert "no run recorded" in again.output
    assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 1
    imported = select(func.count()).where(AuditEvent.action == "banks.imported")
    assert db.session.scalar(imported) == 1


def _disk_full() -> None:
    raise RuntimeError("the disk is full")


def _bad_statement() -> None:
    # A database error aborts the transaction (on PostgreSQL nothing more can run in
    # it), so the failure must be recorded in a fresh one.
    db_ext.session.execute(text("INSERT INTO no_such_table VALUES (1)"))


@pytest.mark.parametrize(
    ("failure", "clue"),
    [(_disk_full, "(RuntimeError): the disk is full"), (_bad_statement, "no_such_table")],
    ids=["exception", "database error"],
)
def test_an_import_that_fails_unexpectedly_is_recorded_and_audited(
    db, runner, monkeypatch, failure, clue
):
    monkeypatch.setattr(importer._Sync, "items", lambda self, result: failure())

    result = runner.invoke(args=["banks", "import", str(SHIPPED)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "the import stopped with an unexpected error" in result.output
    assert clue in result.output
    db.session.rollback()
    (run,) = db.session.scalars(select(ImportRun)).all()
    assert run.succeeded is False
    assert len(run.errors) == 1
    assert clue in run.errors[0]
    # Frameworks, banks and scenarios synced before the failure were rolled back.
    assert db.session.scalar(select(func.count()).select_from(Framework)) == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "banks.import_failed"))
    assert event.subject_id == str(run.id)
    assert event.details["errors"] == 1


def test_when_even_the_failure_cannot_be_recorded_the_command_says_so(runner, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("the database is unreachable")

    monkeypatch.setattr(importer._Sync, "items", lambda self, result: _disk_full())
    monkeypatch.setattr(cli, "record_failure", unreachable)

    result = runner.invoke(args=["banks", "import", str(SHIPPED)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "the disk is full; the failure could not be recorded: the database is unreachable" in (
        result.output
    )


def test_json_schemas_are_written(runner, tmp_path):
    result = runner.invoke(args=["banks", "schema", str(tmp_path)])
    assert result.exit_code == 0
    assert {path.name for path in tmp_path.iterdir()} >= {"assessment.json", "framework.json"}
