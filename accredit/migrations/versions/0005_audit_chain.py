"""Audit chain: a keyed MAC per event, and no rewriting on PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:40:00

Every event gains a ``mac``: HMAC-SHA256 under the audit key (ACCREDIT_AUDIT_KEY,
or instance/audit_key outside production) over its sequence number, the MAC of the
event before it and its own hash. The events already stored are checked against
their hashes and then sealed; the upgrade refuses to seal a chain that does not
verify. A row's id becomes its sequence number, so changing an id is caught too.
On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE on audit_events, except
a purge the table's owner declares for one transaction.

"""
import hashlib
import hmac
import json
import os
import secrets
from datetime import UTC
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 1000

REFUSE_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the table's owner (who could drop this trigger anyway) may purge the
    -- table, and only by declaring it for the transaction. No row is ever updated.
    IF TG_OP IN ('DELETE', 'TRUNCATE')
        AND current_setting('accredit.allow_audit_purge', true) = 'on'
        AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER')
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

TRIGGERS = (
    "CREATE TRIGGER audit_events_refuse_rewrite BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_refuse_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)

events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("details", sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
    sa.column("mac", sa.String()),
)
head = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("last_hash"))


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    # Two steps, so no id ever collides with another row's on the way.
    op.execute(events.update().values(id=-events.c.seq))
    op.execute(events.update().values(id=events.c.seq))
    _seal_stored_events()
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('mac', existing_type=sa.String(length=64), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
        for trigger in TRIGGERS:
            op.execute(trigger)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_refuse_rewrite ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        # Ids were set to sequence numbers, past the serial counter: move it beyond them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "COALESCE(MAX(id), 0) + 1, false) FROM audit_events"
        )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('mac')


def _seal_stored_events():
    """Check the stored chain against its hashes, then give every event its MAC."""
    bind = op.get_bind()
    key, prev_hash, prev_mac, seq = None, GENESIS, GENESIS, 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.seq > seq).order_by(events.c.seq).limit(BATCH)
        ).mappings().all()
        if not rows:
            break
        key = key or _audit_key()
        seals = []
        for row in rows:
            _check(row, seq + 1, prev_hash)
            seq, prev_hash = row["seq"], row["hash"]
            prev_mac = _seal(key, seq, prev_mac, prev_hash)
            seals.append({"b_seq": seq, "b_mac": prev_mac})
        bind.execute(
            events.update().where(events.c.seq == sa.bindparam("b_seq"))
            .values(mac=sa.bindparam("b_mac")),
            seals,
        )
    stored = bind.execute(sa.select(head.c.seq, head.c.last_hash)).one()
    if tuple(stored) != (seq, prev_hash):
        _refuse(stored[0], "the chain's head does not match its newest row")


def _check(row, expected_seq, prev_hash):
    if row["seq"] != expected_seq:
        _refuse(expected_seq, "the row is missing")
    if row["prev_hash"] != prev_hash:
        _refuse(row["seq"], "prev_hash does not match the row before it")
    occurred_at = row["occurred_at"]
    if occurred_at.tzinfo is None:  # SQLite keeps no zone: stored values are UTC
        occurred_at = occurred_at.replace(tzinfo=UTC)
    body = json.dumps(
        {
            "seq": row["seq"],
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": row["actor_id"],
            "action": row["action"],
            "subject_type": row["subject_type"],
            "subject_id": row["subject_id"],
            "details": row["details"],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    if hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest() != row["hash"]:
        _refuse(row["seq"], "contents do not match its hash (row was edited)")


def _seal(key, seq, prev_mac, event_hash):
    message = "\n".join(["accredit audit event", str(seq), prev_mac, event_hash])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _refuse(seq, reason):
    raise RuntimeError(
        f"audit chain seq {seq}: {reason}. A chain that does not verify is not sealed: "
        "run `flask --app accredit audit verify` on the previous release and investigate."
    )


def _audit_key():
    """Return the key the app will use: ACCREDIT_AUDIT_KEY, or instance/audit_key (made once)."""
    configured = current_app.config.get("ACCREDIT_AUDIT_KEY")
    if configured:
        return str(configured).encode()
    path = Path(current_app.instance_path) / "audit_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
