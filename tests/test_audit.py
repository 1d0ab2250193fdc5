"""The audit trail is append-only, and any rewrite by hand is detected.

Someone who can write the database can recompute every unkeyed hash. The keyed
MAC, the checkpoints kept outside the database and (on PostgreSQL) the triggers
are what stop them; each rewrite below keeps the unkeyed chain consistent, as
the old check demanded, and is still caught.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import uuid
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from accredit import audit, config
from accredit.audit.chain import canonical, link
from accredit.audit.service import AppendOnly
from accredit.models import AuditChainHead, AuditEvent
from accredit.models.audit import GENESIS_HASH


def add_events(db, count=5):
    for number in range(count):
        audit.record(
            "test.event", actor=None, subject_type="thing", subject_id=number,
            details={"number": number, "note": "café ✓"},
        )  # fmt: skip
    db.session.commit()


def actions(db):
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def is_postgres(db):
    return db.engine.dialect.name == "postgresql"


def tamper(db, *statements):
    """Rewrite the table as someone who can write the database would.

    On PostgreSQL that means acting as the table's owner, who can switch the
    append-only triggers off (here, for this transaction only).
    """
    if is_postgres(db):
        db.session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    for statement in statements:
        # A statement, or a text statement with its parameters.
        db.session.execute(*(statement if isinstance(statement, tuple) else (statement,)))
    if is_postgres(db):
        db.session.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    db.session.commit()


def set_head(seq, last_hash):
    return sa.update(AuditChainHead.__table__).values(seq=seq, last_hash=last_hash)


def rows(db):
    return db.session.execute(
        select(AuditEvent.__table__).order_by(AuditEvent.__table__.c.seq)
    ).all()


def unkeyed_chain_holds(db):
    """The check `audit verify` made before the MAC: hashes, links and the head."""
    db.session.expire_all()
    prev, expected = GENESIS_HASH, 1
    for row in rows(db):
        body = canonical(
            seq=row.seq, occurred_at=row.occurred_at, actor_id=row.actor_id, action=row.action,
            subject_type=row.subject_type, subject_id=row.subject_id, details=row.details,
        )  # fmt: skip
        if row.seq != expected or row.prev_hash != prev or link(prev, body) != row.hash:
            return False
        prev, expected = row.hash, expected + 1
    head = db.session.get(AuditChainHead, 1)
    return (head.seq, head.last_hash) == (expected - 1, prev)


def verify_fails(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    return result.output


# The chain as before: hashes link each event to the one before it.


def test_events_chain_to_each_other(db):
    add_events(db)
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert [event.id for event in events] == [1, 2, 3, 4, 5]
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    assert len({event.mac for event in events}) == 5
    assert audit.verify() == (5, None)


def test_verify_passes_on_an_intact_chain(db, runner):
    add_events(db)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Audit chain intact: 5 events verified." in result.output
    assert "No checkpoints" in result.output


def test_editing_a_row_by_hand_is_caught_and_named(db, runner):
    add_events(db)
    target = db.session.scalar(select(AuditEvent).filter_by(seq=3))
    # What someone with database access would do: rewrite the details directly.
    tamper(
        db,
        (
            sa.text("UPDATE audit_events SET details = :details WHERE id = :id"),
            {"details": '{"number": 99, "note": "changed"}', "id": target.id},
        ),
    )
    output = verify_fails(runner)
    assert f"audit_events row id={target.id} (seq 3)" in output
    assert "was edited" in output


def test_deleting_a_row_is_caught(db, runner):
    add_events(db)
    tamper(db, sa.text("DELETE FROM audit_events WHERE seq = 2"))
    output = verify_fails(runner)
    assert "seq 2: rows are missing" in output


def test_deleting_the_newest_rows_is_caught(db, runner):
    add_events(db)
    tamper(db, sa.text("DELETE FROM audit_events WHERE seq = 5"))
    output = verify_fails(runner)
    assert "seq 5: the newest rows were deleted" in output


# The five rewrites that passed the unkeyed check.

ATTACKER_KEY = b"a guess at the key, which lives outside the database"


def forge_a_row(db):
    """(a) Append a forged row with a correct unkeyed hash, and move the head to it."""
    head = db.session.get(AuditChainHead, 1)
    previous = db.session.scalar(select(AuditEvent).filter_by(seq=head.seq))
    seq = head.seq + 1
    fields = {
        "seq": seq,
        "occurred_at": previous.occurred_at,
        "actor_id": None,
        "action": "result.overridden",
        "subject_type": "attempt",
        "subject_id": "1",
        "details": {"result": "pass", "note": "forged"},
    }
    event_hash = link(head.last_hash, canonical(**fields))
    mac = hmac.new(ATTACKER_KEY, f"{seq}{event_hash}".encode(), hashlib.sha256).hexdigest()
    forged = {**fields, "id": seq, "prev_hash": head.last_hash, "hash": event_hash, "mac": mac}
    tamper(db, sa.insert(AuditEvent.__table__).values(forged), set_head(seq, event_hash))
    return seq


def truncate_the_newest_rows(db):
    """(b) Delete the newest rows and reset the head to the row left newest."""
    third = db.session.scalar(select(AuditEvent).filter_by(seq=3))
    tamper(db, sa.text("DELETE FROM audit_events WHERE seq > 3"), set_head(3, third.hash))
    return 5  # the checkpoint at seq 5 names the row that vanished


def edit_and_recompute(db):
    """(c) Edit a row, then recompute its hash and every later one, and the head's."""
    table = AuditEvent.__table__
    statements, prev = [], None
    for row in rows(db):
        details = {**row.details, "note": "rewritten"} if row.seq == 3 else row.details
        prev = prev if prev is not None else row.prev_hash
        body = canonical(
            seq=row.seq, occurred_at=row.occurred_at, actor_id=row.actor_id, action=row.action,
            subject_type=row.subject_type, subject_id=row.subject_id, details=details,
        )  # fmt: skip
        new_hash = link(prev, body)
        if row.seq >= 3:
            statements.append(
                sa.update(table).where(table.c.seq == row.seq)
                .values(details=details, prev_hash=prev, hash=new_hash)
            )  # fmt: skip
        prev = new_hash
    tamper(db, *statements, set_head(5, prev))
    return 3


def delete_everything(db):
    """(d) Delete every event and reset the head to the genesis."""
    tamper(db, sa.text("DELETE FROM audit_events"), set_head(0, GENESIS_HASH))
    return 5


def change_a_row_id(db):
    """(e) Give a row another id."""
    tamper(db, sa.text("UPDATE audit_events SET id = 1003 WHERE seq = 3"))
    return 3


REWRITES = [forge_a_row, truncate_the_newest_rows, edit_and_recompute, delete_everything,
            change_a_row_id]  # fmt: skip


@pytest.mark.parametrize("rewrite", REWRITES, ids=lambda rewrite: rewrite.__name__)
def test_each_rewrite_that_passed_before_is_caught_and_names_the_seq(db, runner, rewrite):
    add_events(db)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0  # as the sweep does
    seq = rewrite(db)
    assert unkeyed_chain_holds(db), "the rewrite must pass the unkeyed check, as it did before"
    output = verify_fails(runner)
    assert f"seq {seq}" in output, output


@pytest.mark.parametrize(
    "rewrite",
    [forge_a_row, truncate_the_newest_rows, edit_and_recompute, delete_everything],
    ids=lambda rewrite: rewrite.__name__,
)
def test_the_next_checkpoint_refuses_a_rewritten_head(app, db, runner, rewrite):
    """The sweep's checkpoint checks what changed since the last one, so cron reports it."""
    add_events(db)
    runner.invoke(args=["audit", "checkpoint"])
    rewrite(db)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "No audit checkpoint written: " in result.output
    assert len(checkpoint_lines(app)) == 1


@pytest.mark.parametrize(
    ("rewrite", "reason"),
    [
        (forge_a_row, "its MAC does not match"),
        (edit_and_recompute, "its MAC does not match"),
        (change_a_row_id, "its id is not its sequence"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_forged_or_recomputed_rows_are_caught_without_any_checkpoint(db, runner, rewrite, reason):
    add_events(db)
    seq = rewrite(db)
    output = verify_fails(runner)
    assert f"(seq {seq}): {reason}" in output


def test_verify_needs_the_key_that_sealed_the_chain(app, db):
    add_events(db, 2)
    app.extensions["accredit.audit.key"] = b"another key entirely, of the right length"
    checked, problem = audit.verify()
    assert checked == 0
    assert str(problem).startswith("audit_events row id=1 (seq 1): its MAC does not match")


def test_the_development_key_is_made_once_in_the_instance_folder_mode_0600(app, db):
    add_events(db, 1)
    path = app.instance_path + "/audit_key"
    with open(path) as handle:
        assert len(handle.read().strip()) == 64
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("audit_key", "problem"),
    [
        (None, "ACCREDIT_AUDIT_KEY: required in production"),
        ("short", "ACCREDIT_AUDIT_KEY: must be at least 32 characters in production"),
        ("s" * 40, "ACCREDIT_AUDIT_KEY: must differ from the secret key"),
    ],
)
def test_production_refuses_to_start_without_an_audit_key_of_its_own(tmp_path, audit_key, problem):
    environ = {"ACCREDIT_ENV": "production", "ACCREDIT_SECRET_KEY": "s" * 40}
    if audit_key is not None:
        environ["ACCREDIT_AUDIT_KEY"] = audit_key
    with pytest.raises(config.ConfigError) as raised:
        config.build({}, environ, tmp_path)
    assert raised.value.problems == [problem]
    assert not (tmp_path / "audit_key").exists()
    environ["ACCREDIT_AUDIT_KEY"] = "a" * 40
    assert config.build({}, environ, tmp_path)["AUDIT_KEY"] == "a" * 40


# Checkpoints: the head, kept outside the database.


def checkpoint_lines(app):
    path = audit.checkpoint_path()
    assert str(path).startswith(app.instance_path)
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoint_appends_the_head_once_per_change(app, db, runner):
    result = runner.invoke(args=["audit", "checkpoint"])
    assert "Nothing to checkpoint" in result.output
    assert not audit.checkpoint_path().exists()
    add_events(db, 3)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0
    assert "Audit checkpoint at seq 3 written to" in result.output
    head = db.session.scalar(select(AuditEvent).filter_by(seq=3))
    [line] = checkpoint_lines(app)
    assert (line["seq"], line["hash"], line["mac"]) == (3, head.hash, head.mac)
    assert set(line) == {"seq", "at", "hash", "mac", "line_mac"}
    assert stat.S_IMODE(audit.checkpoint_path().stat().st_mode) == 0o600
    result = runner.invoke(args=["audit", "checkpoint"])
    assert "unchanged: seq 3 is already recorded" in result.output
    add_events(db, 2)
    runner.invoke(args=["audit", "checkpoint"])
    assert [line["seq"] for line in checkpoint_lines(app)] == [3, 5]
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Every checkpoint in" in result.output


def test_a_setting_moves_the_checkpoint_file(app, db, runner, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "checkpoints.jsonl"
    app.config["ACCREDIT_AUDIT_CHECKPOINT_FILE"] = str(elsewhere)
    add_events(db, 1)
    runner.invoke(args=["audit", "checkpoint"])
    assert json.loads(elsewhere.read_text())["seq"] == 1


def test_an_edited_checkpoint_line_is_caught(app, db, runner):
    add_events(db, 3)
    runner.invoke(args=["audit", "checkpoint"])
    path = audit.checkpoint_path()
    line = json.loads(path.read_text())
    path.write_text(json.dumps({**line, "seq": 2}) + "\n")  # claims a shorter chain
    output = verify_fails(runner)
    assert "line 1: its MAC does not match" in output


def test_a_truncated_then_regrown_chain_is_caught(app, db, runner):
    """The app seals new rows with the key, so only the checkpoint shows the old ones went."""
    add_events(db, 5)
    runner.invoke(args=["audit", "checkpoint"])
    truncate_the_newest_rows(db)
    add_events(db, 2)  # seq 4 and 5 again, properly sealed
    output = verify_fails(runner)
    assert "audit_events row id=5 (seq 5): the row differs from the checkpoint" in output


def test_checkpoint_refuses_when_its_last_row_is_gone(app, db, runner):
    add_events(db, 5)
    runner.invoke(args=["audit", "checkpoint"])
    delete_everything(db)
    add_events(db, 1)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1
    assert "seq 4: the row is missing" in result.output
    assert len(checkpoint_lines(app)) == 1


def test_the_sweep_writes_a_checkpoint(app, db, runner):
    add_events(db, 2)
    result = runner.invoke(args=["attempts", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Audit checkpoint at seq 2 written" in result.output
    assert [line["seq"] for line in checkpoint_lines(app)] == [2]


# Savepoints: only what a rolled-back savepoint recorded is dropped.


def record(action):
    audit.record(action, actor=None, subject_type="thing", subject_id=action)


def test_a_rolled_back_savepoint_drops_only_its_own_events(db):
    record("A")
    savepoint = db.session.begin_nested()
    record("B")
    savepoint.rollback()
    record("C")
    db.session.commit()
    assert actions(db) == ["A", "C"]
    assert audit.verify() == (2, None)


def test_a_released_savepoint_keeps_its_events_until_the_commit(db):
    record("A")
    with db.session.begin_nested():
        record("B")
    # Releasing the savepoint does not take the chain's lock: nothing is appended yet.
    assert db.session.get(AuditChainHead, 1).seq == 0
    db.session.commit()
    assert actions(db) == ["A", "B"]
    assert audit.verify() == (2, None)


def test_committing_with_a_savepoint_open_keeps_its_events(db):
    record("A")
    db.session.begin_nested()
    record("B")
    db.session.commit()  # releases the savepoint, then commits
    assert actions(db) == ["A", "B"]
    assert audit.verify() == (2, None)


def test_a_savepoint_left_by_an_exception_drops_its_events(db):
    def lose_the_start_race():
        with db.session.begin_nested():
            record("B")
            raise LookupError("the start race was lost")

    record("A")
    with pytest.raises(LookupError):
        lose_the_start_race()
    db.session.commit()
    assert actions(db) == ["A"]


def test_nested_savepoints_drop_what_the_rolled_back_one_holds(db):
    record("A")
    outer = db.session.begin_nested()
    record("B")
    with db.session.begin_nested():
        record("C")
    inner = db.session.begin_nested()
    record("D")
    inner.rollback()
    outer.rollback()  # takes B and the released C with it
    record("E")
    db.session.commit()
    assert actions(db) == ["A", "E"]


def test_a_full_rollback_drops_events_from_released_savepoints_too(db):
    record("A")
    with db.session.begin_nested():
        record("B")
    db.session.rollback()
    record("C")
    db.session.commit()
    assert actions(db) == ["C"]


def test_closing_the_session_without_committing_records_nothing(db):
    record("A")
    db.session.close()
    record("B")
    db.session.commit()
    assert actions(db) == ["B"]


# The transaction boundary, as before.


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


# Append-only: the ORM refuses, and on PostgreSQL so does the database.


def test_the_orm_refuses_to_change_or_delete_an_event(db):
    add_events(db, 1)
    event = db.session.scalar(select(AuditEvent))
    event.action = "rewritten"
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(AuditEvent)))
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    for statement in (sa.update(AuditEvent).values(action="x"), sa.delete(AuditEvent)):
        with pytest.raises(AppendOnly):
            db.session.execute(statement)
        db.session.rollback()
    assert actions(db) == ["test.event"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_postgresql_refuses_to_rewrite_audit_events(db, statement):
    if not is_postgres(db):
        pytest.skip("the triggers are PostgreSQL's")
    add_events(db, 2)
    with db.engine.connect() as connection:
        with pytest.raises(sa.exc.ProgrammingError, match="audit_events is append-only"):
            connection.execute(sa.text(statement))
        connection.rollback()
        # Declaring a purge never allows an update.
        connection.execute(sa.text("SET LOCAL accredit.allow_audit_purge = 'on'"))
        if statement.startswith("UPDATE"):
            with pytest.raises(sa.exc.ProgrammingError, match="append-only"):
                connection.execute(sa.text(statement))
        connection.rollback()
    assert actions(db) == ["test.event", "test.event"]


def test_only_the_tables_owner_may_purge_on_postgresql(db):
    if not is_postgres(db):
        pytest.skip("the triggers are PostgreSQL's")
    add_events(db, 1)
    with db.engine.connect() as connection:
        # A role that may delete rows, as an application's login might, but does not own the table.
        role = f"accredit_audit_writer_{uuid.uuid4().hex[:8]}"
        connection.execute(sa.text(f"CREATE ROLE {role}"))
        connection.execute(sa.text(f"GRANT SELECT, DELETE ON audit_events TO {role}"))
        connection.execute(sa.text(f"SET LOCAL ROLE {role}"))
        connection.execute(sa.text("SET LOCAL accredit.allow_audit_purge = 'on'"))
        with pytest.raises(sa.exc.ProgrammingError, match="append-only: DELETE refused"):
            connection.execute(sa.text("DELETE FROM audit_events"))
        connection.rollback()  # the role goes with the transaction
    assert actions(db) == ["test.event"]
