"""Migration 0005 seals the events already stored, and refuses to seal a chain that is broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from accredit import audit
from accredit.audit.chain import canonical, link
from accredit.extensions import db
from accredit.models.audit import GENESIS_HASH
from tests.conftest import make_app, make_test_database

OLD_EVENTS = sa.table(
    "audit_events",
    *(sa.column(name) for name in ("id", "seq", "actor_id", "action", "subject_type")),
    *(sa.column(name) for name in ("subject_id", "prev_hash", "hash")),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("details", sa.JSON()),
)
HEAD = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("last_hash"))


def store_an_unkeyed_chain(count=3):
    """Write events as release 0004 did, with ids that are not their sequence numbers."""
    prev = GENESIS_HASH
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for seq in range(1, count + 1):
        fields = {
            "seq": seq,
            "occurred_at": start + timedelta(minutes=seq),
            "actor_id": None,
            "action": "test.event",
            "subject_type": "thing",
            "subject_id": str(seq),
            "details": {"number": seq, "note": "café ✓"},
        }
        event_hash = link(prev, canonical(**fields))
        sqlite_time = fields["occurred_at"].replace(tzinfo=None)  # as UTCDateTime stores it
        if db.engine.dialect.name == "sqlite":
            fields["occurred_at"] = sqlite_time
        row = {**fields, "id": seq + 6, "prev_hash": prev, "hash": event_hash}
        db.session.execute(sa.insert(OLD_EVENTS).values(row))
        prev = event_hash
    db.session.execute(sa.update(HEAD).values(seq=count, last_hash=prev))
    db.session.commit()


def triggers():
    if db.engine.dialect.name != "postgresql":
        return 0
    query = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_events_refuse_%'"
    return db.session.scalar(sa.text(query))


@pytest.fixture
def database(tmp_path):
    url, drop = make_test_database(tmp_path)
    yield url
    drop()


def test_upgrade_seals_the_stored_chain_so_it_verifies_under_the_key(database, tmp_path):
    app = make_app(database, tmp_path / "instance")
    with app.app_context():
        upgrade(revision="0004")
        store_an_unkeyed_chain()
        upgrade(revision="0005")
        # The key the upgrade made is the one the app uses.
        assert (tmp_path / "instance" / "audit_key").exists()
        assert audit.verify() == (3, None)
        ids = db.session.scalars(sa.text("SELECT id FROM audit_events ORDER BY seq")).all()
        assert ids == [1, 2, 3]
        assert triggers() == (2 if db.engine.dialect.name == "postgresql" else 0)
        audit.record("after.upgrade", actor=None, subject_type="thing", subject_id=4)
        db.session.commit()
        assert audit.verify() == (4, None)
        db.session.remove()
        downgrade(revision="0004")
        assert triggers() == 0
        # Release 0004 lets the database number rows: the next id must be free.
        db.session.execute(
            sa.insert(OLD_EVENTS).values(
                seq=5, occurred_at=datetime.now(UTC).replace(tzinfo=None), actor_id=None,
                action="old.release", subject_type="thing", subject_id="5", details={},
                prev_hash="x", hash="y",
            )
        )  # fmt: skip
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_upgrade_refuses_to_seal_an_edited_chain(database, tmp_path, capfd):
    app = make_app(database, tmp_path / "instance", AUDIT_KEY="k" * 40)
    with app.app_context():
        upgrade(revision="0004")
        store_an_unkeyed_chain()
        db.session.execute(sa.text("UPDATE audit_events SET subject_id = 'other' WHERE seq = 2"))
        db.session.commit()
        db.session.remove()
        with pytest.raises(SystemExit):  # how Flask-Migrate reports a failed upgrade
            upgrade(revision="0005")
        assert "audit chain seq 2: contents do not match its hash" in capfd.readouterr().err
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version == "0004"
        db.session.remove()
        db.engine.dispose()
