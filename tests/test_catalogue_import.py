"""Importing banks: validated first, synced by id in one transaction, versions never changed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accredit.banks import render_markdown, scenario_pool
from accredit.banks.schema import ScenarioDraw
from accredit.catalogue.importer import import_tree
from accredit.catalogue.queries import accreditation_eligible_item_ids, bank_facts
from accredit.models import (
    Assessment,
    AssessmentVersion,
    AuditEvent,
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


def runs(db):
    return db.session.scalars(select(ImportRun).order_by(ImportRun.id)).all()


def audit_actions(db):
    return db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("banks.%")).order_by(AuditEvent.seq)
    ).all()


def test_an_import_that_changes_nothing_records_no_run(db, banks):
    first = import_tree(banks)
    db.session.commit()
    again = import_tree(banks)
    db.session.commit()

    assert again.succeeded
    assert again.run is None
    assert again.counts["items"]["unchanged"] == count(db, Item)
    assert [run.id for run in runs(db)] == [first.run.id]
    assert audit_actions(db) == ["banks.imported"]


def test_a_status_change_alone_is_recorded_as_a_run(db, banks):
    import_tree(banks)
    db.session.commit()
    edit(banks / "banks/kss-leader/la-standalone.yaml", "status: live", "status: draft")

    report = import_tree(banks)
    db.session.commit()

    assert report.run is not None
    assert report.counts["items"]["changed"] == 0
    assert len(runs(db)) == 2


def test_after_a_failed_run_the_next_good_import_is_recorded_once(db, banks):
    import_tree(banks)
    db.session.commit()
    bank_file = banks / "banks/kss-leader/la-standalone.yaml"
    good = bank_file.read_text()
    bank_file.write_text(good.replace("competencies: [PL1]", "competencies: [PL9]", 1))
    import_tree(banks)
    db.session.commit()
    bank_file.write_text(good)

    recovered = import_tree(banks)
    db.session.commit()
    again = import_tree(banks)
    db.session.commit()

    # The admin pages show the last run: it must say the failure is over.
    assert [run.succeeded for run in runs(db)] == [True, False, True]
    assert recovered.run is not None
    assert recovered.counts["items"]["changed"] == 0
    assert again.run is None
    assert audit_actions(db) == ["banks.imported", "banks.import_failed", "banks.imported"]


def test_each_version_stores_where_the_item_may_be_used(db, banks):
    import_tree(banks)
    db.session.commit()

    def uses(key):
        version = db.session.scalar(
            select(ItemVersion).join(Item).where(Item.key == key, ItemVersion.version == 1)
        )
        return (version.for_accreditation, version.for_practice, version.content["use"])

    assert uses("kssp-0001") == (True, False, ["accreditation"])
    assert uses("kssp-0301") == (False, True, ["practice"])
    assert uses("kssp-0004") == (False, True, ["practice"])


def test_changing_use_makes_a_new_version(db, banks):
    import_tree(banks)
    db.session.commit()
    edit(
        banks / "banks/kss-practitioner/pa-standalone.yaml",
        "  - id: kssp-0002\n    type: ordering\n    status: live\n    author: accredit content team\n"
        "    competencies: [P1]\n",
        "  - id: kssp-0002\n    type: ordering\n    status: live\n    author: accredit content team\n"
        "    competencies: [P1]\n    use: [practice]\n",
    )

    report = import_tree(banks)
    db.session.commit()

    assert report.succeeded, report.run.errors
    assert report.counts["items"]["changed"] == 1
    item = db.session.scalar(select(Item).filter_by(key="kssp-0002"))
    assert [(v.version, v.for_accreditation, v.for_practice) for v in item.versions] == [
        (1, True, False),
        (2, False, True),
    ]


@pytest.mark.parametrize("use", ["[accreditation, practice]", "[accreditation]"])
def test_a_practice_only_item_can_never_be_opened_to_accreditation(db, banks, use):
    import_tree(banks)
    db.session.commit()
    versions = count(db, ItemVersion)
    practice = banks / "banks/kss-practitioner/pc-practice.yaml"
    edit(
        practice,
        "    competencies: [P9]\n    use: [practice]\n",
        f"    competencies: [P9]\n    use: {use}\n",
    )
    line = practice.read_text().splitlines().index(f"    use: {use}") + 1

    report = import_tree(banks)
    db.session.commit()

    assert not report.succeeded
    assert report.run.errors == [
        f"question_banks/banks/kss-practitioner/pc-practice.yaml:{line}: items[3].use: item was "
        "for practice only at version 1, so candidates may have seen its key; it can never be "
        "used for accreditation. Write a new item with a new id instead"
    ]
    assert count(db, ItemVersion) == versions


def test_bank_facts_give_each_mode_only_its_own_items(db, banks):
    import_tree(banks)
    db.session.commit()

    practice = bank_facts({"kss-practitioner"}, use="practice")["kss-practitioner"]
    accreditation = bank_facts({"kss-practitioner"}, use="accreditation")["kss-practitioner"]

    practice_keys = {item.id for item in practice[0]}
    accreditation_keys = {item.id for item in accreditation[0]}
    assert {"kssp-0301", "kssp-0004"} <= practice_keys
    assert "kssp-0001" not in practice_keys
    assert practice_keys.isdisjoint(accreditation_keys)
    assert all(item.uses == ("practice",) for item in practice[0])
    rule = ScenarioDraw.model_validate(
        {"bank": "kss-practitioner", "scenarios": 1, "items_each": 4}
    )
    assert scenario_pool(rule, practice[1], practice[0]) == ["scn-p-temporary-housing"]
    assert "scn-p-temporary-housing" not in scenario_pool(rule, accreditation[1], accreditation[0])


def test_accreditation_eligible_item_ids_name_the_items_whose_keys_stay_secret(db, banks):
    import_tree(banks)
    db.session.commit()
    ids = dict(db.session.execute(select(Item.key, Item.id)).all())
    retired = db.session.scalar(select(Item).filter_by(key="kssl-0002"))
    retired.status = "retired"  # it may go live again without a new version
    db.session.commit()

    eligible = accreditation_eligible_item_ids(
        [ids["kssp-0001"], ids["kssp-0301"], ids["kssp-0004"], ids["kssl-0002"]]
    )

    assert eligible == {ids["kssp-0001"], ids["kssl-0002"]}
    assert accreditation_eligible_item_ids([]) == set()


def test_a_nul_in_bank_text_is_refused_with_its_line_before_the_database(db, banks):
    bank_file = banks / "banks/kss-leader/la-standalone.yaml"
    edit(bank_file, "    author: accredit content team\n", '    author: "accredit\\0 team"\n')
    line = bank_file.read_text().splitlines().index('    author: "accredit\\0 team"') + 1

    report = import_tree(banks)
    db.session.commit()

    assert not report.succeeded
    assert report.run.errors == [
        f"question_banks/banks/kss-leader/la-standalone.yaml:{line}: items[0].author: contains "
        "the character U+0000 (NUL), which a question bank may not hold"
    ]
    assert count(db, Item) == 0
