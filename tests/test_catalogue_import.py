"""Importing banks: validated first, synced by id in one transaction, versions never changed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accredit.banks import render_markdown
from accredit.catalogue.importer import import_tree
from accredit.models import (
    Assessment,
    AssessmentVersion,
    ImportRun,
    Item,
    ItemVersion,
    Scenario,
    Statement,
)
from accredit.models.banks import ImmutableVersionError

SHIPPED = Path(__file__).resolve().parent.parent / "question_banks"


@pytest.fixture
def banks(tmp_path):
    """A private copy of the shipped banks that a test may edit."""
    root = tmp_path / "question_banks"
    shutil.copytree(SHIPPED, root)
    return root


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_first_import_adds_everything(db, banks):
    report = import_tree(banks)
    db.session.commit()
    assert report.succeeded
    items = count(db, Item)
    assert items > 250
    assert report.counts["items"]["added"] == items
    assert count(db, ItemVersion) == items
    assert count(db, Statement) == 23
    assert report.counts["assessments"]["added"] == 6


def test_second_import_reports_everything_unchanged(db, banks):
    import_tree(banks)
    db.session.commit()
    second = import_tree(banks)
    db.session.commit()
    for kind in ("frameworks", "scenarios", "items", "assessments"):
        assert second.counts[kind]["added"] == 0, kind
        assert second.counts[kind]["changed"] == 0, kind
        assert second.counts[kind]["retired"] == 0, kind
        assert second.counts[kind]["unchanged"] > 0, kind


def test_editing_one_stem_makes_version_2_of_that_item_only(db, banks):
    import_tree(banks)
    db.session.commit()
    before = count(db, ItemVersion)
    bank_file = banks / "banks/kss-practitioner/pa-standalone.yaml"
    text = bank_file.read_text()
    stem = re.search(r"- id: (kssp-\d+)\n(?:.*\n)*?\s+stem: [|>]-?\n\s+(\S[^\n]*)", text)
    item_key, first_line = stem.group(1), stem.group(2)
    edit(bank_file, first_line, first_line + " (reworded)")

    report = import_tree(banks)
    db.session.commit()
    assert report.counts["items"]["changed"] == 1
    assert count(db, ItemVersion) == before + 1
    item = db.session.scalar(select(Item).filter_by(key=item_key))
    assert item.current_version == 2
    versions = db.session.scalars(select(ItemVersion).filter_by(item_id=item.id)).all()
    assert [v.version for v in versions] == [1, 2]
    assert "(reworded)" in versions[1].content["stem"]
    assert "(reworded)" not in versions[0].content["stem"], "version 1 is untouched"
    assert (
        db.session.scalar(select(func.max(Item.current_version)).where(Item.key != item_key)) == 1
    )


def test_status_change_alone_is_not_a_new_version(db, banks):
    import_tree(banks)
    db.session.commit()
    bank_file = banks / "banks/kss-leader/la-standalone.yaml"
    edit(bank_file, "status: live", "status: draft")
    report = import_tree(banks)
    db.session.commit()
    assert report.counts["items"]["changed"] == 0
    assert db.session.scalar(select(func.count()).where(Item.status == "draft")) == 1


def test_items_removed_from_disk_are_retired_not_deleted(db, banks):
    import_tree(banks)
    db.session.commit()
    total = count(db, Item)
    removed = banks / "banks/kss-leader/lb-standalone.yaml"
    keys = re.findall(r"^  - id: (kssl-\d+)", removed.read_text(), flags=re.M)
    removed.unlink()
    # The leader assessments now draw from fewer items: keep the tree valid by
    # retiring what drew on them as well.
    for name in ("kssl-accreditation.yaml", "kssl-practice.yaml"):
        (banks / "assessments" / name).unlink()
    report = import_tree(banks)
    db.session.commit()
    assert report.succeeded, report.run.errors
    assert report.counts["items"]["retired"] == len(keys)
    assert report.counts["assessments"]["retired"] == 2
    assert count(db, Item) == total, "nothing is deleted"
    statuses = set(db.session.scalars(select(Item.status).where(Item.key.in_(keys))))
    assert statuses == {"retired"}
    assert db.session.scalar(select(Assessment.status).filter_by(key="kssl-practice")) == "retired"


def test_a_failed_import_changes_nothing_and_records_every_error(db, banks):
    import_tree(banks)
    db.session.commit()
    versions, scenarios = count(db, ItemVersion), count(db, Scenario)
    good = banks / "banks/kss-supervisor/sa-standalone.yaml"
    edit(good, "status: live", "status: live\n    extra_key: nope")  # an unknown key
    edit(
        banks / "banks/kss-leader/la-standalone.yaml",
        "stem: ",
        "stem: changed ",
    )
    report = import_tree(banks)
    db.session.commit()
    assert not report.succeeded
    assert any("extra_key" in error for error in report.run.errors)
    assert count(db, ItemVersion) == versions
    assert count(db, Scenario) == scenarios
    runs = db.session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [run.succeeded for run in runs] == [True, False]


def test_stored_versions_refuse_to_change(db, banks):
    import_tree(banks)
    db.session.commit()
    version = db.session.scalar(select(ItemVersion).limit(1))
    version.content = {**version.content, "stem": "tampered"}
    with pytest.raises(ImmutableVersionError):
        db.session.flush()
    db.session.rollback()
    assessment_version = db.session.scalar(select(AssessmentVersion).limit(1))
    db.session.delete(assessment_version)
    with pytest.raises(ImmutableVersionError):
        db.session.flush()
    db.session.rollback()


def test_rendered_html_is_the_stem_and_options_only(db, banks):
    import_tree(banks)
    db.session.commit()
    for version in db.session.scalars(select(ItemVersion)):
        assert set(version.rendered) <= {"stem", "options"}
        assert version.rendered["stem"] == render_markdown(version.content["stem"])
        options = {option["id"] for option in version.content.get("options", [])}
        assert set(version.rendered.get("options", {})) == options
