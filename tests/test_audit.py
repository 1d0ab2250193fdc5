"""The audit trail is append-only and any edit by hand is detected."""

from __future__ import annotations

from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy import select

from accredit import audit
from accredit.models import AuditEvent


def add_events(db, count=5):
    for number in range(count):
        audit.record(
            "test.event", actor=None, subject_type="thing", subject_id=number,
            details={"number": number, "note": "café ✓"},
        )  # fmt: skip
    db.session.commit()


def test_events_chain_to_each_other(db):
    add_events(db)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    assert audit.verify() == (5, None)


def test_verify_passes_on_an_intact_chain(db, runner):
    add_events(db)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Audit chain intact: 5 events verified." in result.output


def test_editing_a_row_by_hand_is_caught_and_named(db, runner):
    add_events(db)
    target = db.session.scalar(select(AuditEvent).filter_by(seq=3))
    # What someone with database access would do: rewrite the details directly.
    db.session.execute(
        sa.text("UPDATE audit_events SET details = :details WHERE id = :id"),
        {"details": '{"number": 99, "note": "changed"}', "id": target.id},
    )
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit_events row id={target.id} (seq 3)" in result.output
    assert "was edited" in result.output


def test_deleting_a_row_is_caught(db, runner):
    add_events(db)
    db.session.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "rows are missing" in result.output


def test_deleting_the_newest_rows_is_caught(db, runner):
    add_events(db)
    db.session.execute(sa.text("DELETE FROM audit_events WHERE seq = 5"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "newest rows were deleted" in result.output


def test_appends_from_two_sessions_never_fork_the_chain(app, db):
    from accredit.extensions import db as extension

    add_events(db, 1)
    for number in range(4):
        with app.app_context():  # a separate session, like another request
            audit.record("parallel", actor=None, subject_type="t", subject_id=number)
            extension.session.commit()
    add_events(db, 1)
    assert audit.verify() == (6, None)


def test_events_join_the_chain_only_when_the_transaction_commits(app, db):
    from accredit.models import AuditChainHead

    audit.record("test.pending", actor=None, subject_type="thing", subject_id=1)
    # Nothing touches the chain (and its lock) until commit.
    assert db.session.get(AuditChainHead, 1).seq == 0
    assert db.session.scalar(select(AuditEvent)) is None
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(AuditChainHead, 1).seq == 1
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["test.pending"]


def test_a_rolled_back_transaction_records_nothing(app, db):
    audit.record("test.never", actor=None, subject_type="thing", subject_id=1)
    db.session.rollback()
    audit.record("test.kept", actor=None, subject_type="thing", subject_id=2)
    db.session.commit()
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["test.kept"]
    assert audit.verify() == (1, None)
