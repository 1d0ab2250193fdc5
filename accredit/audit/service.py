"""Append audit events, verify the chain and checkpoint its head. Appends only flush.

Events wait in the session until the transaction that recorded them commits.
Each is tagged with the savepoint (or transaction) it was recorded in, so rolling
back a savepoint drops only the events recorded inside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, SessionTransaction

from accredit import clock
from accredit.audit import checkpoints
from accredit.audit.chain import canonical, link, same, seal
from accredit.audit.checkpoints import BadCheckpoint, Checkpoint
from accredit.config import development_secret
from accredit.extensions import db
from accredit.models import AuditChainHead, AuditEvent, User
from accredit.models.audit import GENESIS_HASH

PENDING = "accredit.audit.pending"
KEY = "accredit.audit.key"
CHECKPOINT_FILE = "audit-checkpoints.jsonl"


class AppendOnly(RuntimeError):
    """Code tried to change or delete an audit event through the ORM."""


def signing_key() -> bytes:
    """Return the audit MAC key: ACCREDIT_AUDIT_KEY, or instance/audit_key made once (0600).

    Production refuses to start without ACCREDIT_AUDIT_KEY, so a key is only ever
    generated for development and tests.
    """
    app = current_app
    key = app.extensions.get(KEY)
    if key is None:
        text = app.config.get("ACCREDIT_AUDIT_KEY") or development_secret(
            Path(app.instance_path), "audit_key"
        )
        key = app.extensions[KEY] = str(text).encode()
    return key


def checkpoint_path() -> Path:
    """Return the checkpoint file: ACCREDIT_AUDIT_CHECKPOINT_FILE, or one in the instance folder."""
    configured = current_app.config.get("ACCREDIT_AUDIT_CHECKPOINT_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / CHECKPOINT_FILE


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip now, so the stored document hashes the same when read back.
    return json.loads(json.dumps(details, default=str))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Pending:
    scope: SessionTransaction
    """The savepoint the event was recorded in, or the transaction when there is none."""
    entry: dict[str, Any]


def record(
    action: str,
    *,
    actor: User | None,
    subject_type: str,
    subject_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an event; it joins the chain when this transaction commits, or never.

    Appending takes the chain's single lock, so it is left to the very end of
    the transaction: work done after recording (scoring a submission, say) never
    holds other requests waiting on the chain. An event recorded inside a
    savepoint that rolls back is dropped with it.
    """
    session = db.session()
    # Make sure a transaction is under way, so its rollback (which fires only for a
    # transaction that exists) discards these events too.
    session.connection()
    scope = session.get_nested_transaction() or session.get_transaction()
    assert scope is not None
    entry = {
        "occurred_at": clock.now(),
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "details": _json_safe(details or {}),
    }
    session.info.setdefault(PENDING, []).append(_Pending(scope, entry))


def _append_all(session: Session, key: bytes, entries: list[dict[str, Any]]) -> None:
    """Add the events after the head, in order, in one claim of the chain and one insert.

    Claiming every link at once takes the row lock (PostgreSQL) or the write lock
    (SQLite) before the previous hash is read, so appends from other
    transactions serialise behind this one, and a transaction with many events
    (a rescoring chunk) holds the lock for one round trip, not one per event.
    """
    count = len(entries)
    last, prev_hash = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + count)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
    ).one()
    first = last - count + 1
    stored = session.scalar(select(AuditEvent.mac).where(AuditEvent.seq == first - 1))
    # A missing row before this one is a break that verify reports where it is.
    prev_mac = stored or GENESIS_HASH
    rows = []
    for seq, entry in enumerate(entries, start=first):
        event_hash = link(prev_hash, canonical(seq=seq, **entry))
        mac = seal(key, seq=seq, prev_mac=prev_mac, event_hash=event_hash)
        rows.append({"id": seq, "seq": seq, "prev_hash": prev_hash, "hash": event_hash,
                     "mac": mac, **entry})  # fmt: skip
        prev_hash, prev_mac = event_hash, mac
    session.execute(insert(AuditEvent), rows)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=prev_hash)
    )


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Add the transaction's recorded events to the chain, last thing before it commits."""
    if session.in_nested_transaction():
        return  # releasing a savepoint: its events wait for the transaction around it
    pending: list[_Pending] = session.info.pop(PENDING, None) or []
    if not pending:
        return
    _append_all(session, signing_key(), [item.entry for item in pending])


def _within(scope: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while scope is not None:
        if scope is transaction:
            return True
        scope = scope.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _discard_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Events recorded in a rolled-back savepoint (or transaction) never happened."""
    pending: list[_Pending] | None = session.info.get(PENDING)
    if pending:
        pending[:] = [item for item in pending if not _within(item.scope, previous)]


@event.listens_for(Session, "after_transaction_end")
def _discard_unfinished(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ends without committing (closed, say) leaves no events behind."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Mapper[AuditEvent], _connection: Any, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event seq {target.seq} cannot be changed: the trail is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper: Mapper[AuditEvent], _connection: Any, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event seq {target.seq} cannot be deleted: the trail is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_rewrite(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and AuditEvent.__mapper__ in state.all_mappers:
        raise AppendOnly("audit events cannot be updated or deleted: the trail is append-only")


def _body(event: AuditEvent) -> str:
    return canonical(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        action=event.action,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        details=event.details,
    )


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored chain disagrees with its recomputation."""

    event_id: int | None
    seq: int | None
    reason: str

    def __str__(self) -> str:
        if self.event_id is not None:
            return f"audit_events row id={self.event_id} (seq {self.seq}): {self.reason}"
        if self.seq is not None:
            return f"seq {self.seq}: {self.reason}"
        return self.reason


@dataclass(frozen=True)
class _Link:
    """The last good event a walk has reached (seq 0 is the genesis)."""

    seq: int
    hash: str
    mac: str


GENESIS = _Link(0, GENESIS_HASH, GENESIS_HASH)


def _check(key: bytes, event: AuditEvent, before: _Link) -> ChainBreak | None:
    expected = before.seq + 1
    if event.seq > expected:
        return ChainBreak(None, expected, f"rows are missing (the next row is seq {event.seq})")
    if event.seq < expected:
        return ChainBreak(event.id, event.seq, "the row is out of sequence")
    if event.id != event.seq:
        return ChainBreak(event.id, event.seq, "its id is not its sequence (the id was changed)")
    if event.prev_hash != before.hash:
        return ChainBreak(event.id, event.seq, "prev_hash does not match the row before it")
    if link(event.prev_hash, _body(event)) != event.hash:
        return ChainBreak(event.id, event.seq, "contents do not match its hash (row was edited)")
    if not same(seal(key, seq=event.seq, prev_mac=before.mac, event_hash=event.hash), event.mac):
        reason = (
            "its MAC does not match: the row was forged, or its hash recomputed without the key"
        )
        return ChainBreak(event.id, event.seq, reason)
    return None


def _events(after: int) -> Iterator[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.seq > after)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    # Closed explicitly: on PostgreSQL yield_per holds a server-side cursor open.
    with closing(db.session.scalars(query)) as events:
        yield from events


def _walk(
    key: bytes, start: _Link, wanted: dict[int, list[Checkpoint]]
) -> tuple[_Link, ChainBreak | None]:
    """Check every event after ``start`` in order, and each one a checkpoint holds."""
    reached = start
    for row in _events(start.seq):
        problem = _check(key, row, reached)
        if problem:
            return reached, problem
        reached = _Link(row.seq, row.hash, row.mac)
        for checkpoint in wanted.get(row.seq, ()):
            if checkpoint.hash != row.hash or not same(checkpoint.mac, row.mac):
                reason = (
                    f"the row differs from the checkpoint taken at {checkpoint.at} "
                    f"({checkpoint.where}): the chain was rewritten after it"
                )
                return reached, ChainBreak(row.id, row.seq, reason)
    return reached, None


def _head_problem(reached: _Link) -> ChainBreak | None:
    head = db.session.get(AuditChainHead, 1)
    if head is None:
        return ChainBreak(None, None, "the chain head row is missing")
    if head.seq > reached.seq:
        reason = (
            "the newest rows were deleted or the head was edited "
            f"(the head is at seq {head.seq}, the chain ends at seq {reached.seq})"
        )
        return ChainBreak(None, head.seq, reason)
    if head.seq < reached.seq:
        reason = f"the row is beyond the chain's head (seq {head.seq}): the head was edited"
        return ChainBreak(None, head.seq + 1, reason)
    if head.last_hash != reached.hash:
        return ChainBreak(None, head.seq, "the chain's head records another hash for this row")
    return None


def _read_checkpoints(key: bytes) -> tuple[dict[int, list[Checkpoint]], ChainBreak | None]:
    wanted: dict[int, list[Checkpoint]] = {}
    try:
        for checkpoint in checkpoints.read_all(checkpoint_path(), key):
            wanted.setdefault(checkpoint.seq, []).append(checkpoint)
    except BadCheckpoint as bad:
        return wanted, ChainBreak(None, None, str(bad))
    return wanted, None


def _beyond(wanted: dict[int, list[Checkpoint]], reached: _Link) -> ChainBreak | None:
    """Name the first checkpointed row past the chain's end: the newest rows were deleted."""
    beyond = [seq for seq in wanted if seq > reached.seq]
    if not beyond:
        return None
    first = wanted[min(beyond)][0]
    reason = (
        f"the checkpoint taken at {first.at} ({first.where}) holds this row, but the chain "
        f"ends at seq {reached.seq}: the newest rows were deleted"
    )
    return ChainBreak(None, first.seq, reason)


def verify() -> tuple[int, ChainBreak | None]:
    """Recompute the chain and check every checkpoint is still a prefix of it.

    Return how many events were checked and the first break, if any.
    """
    key = signing_key()
    wanted, file_problem = _read_checkpoints(key)
    reached, problem = _walk(key, GENESIS, wanted)
    problem = problem or _head_problem(reached) or file_problem or _beyond(wanted, reached)
    return reached.seq, problem


@dataclass(frozen=True)
class Checkpointed:
    """What ``checkpoint`` did: the newest checkpoint, whether it is new, or why it refused."""

    newest: Checkpoint | None
    written: bool
    problem: ChainBreak | None = None


def _link_before(seq: int) -> _Link | None:
    """Return the stored link just before ``seq``, or None if that row is missing."""
    if seq == 1:
        return GENESIS
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.seq == seq - 1))
    return None if row is None else _Link(row.seq, row.hash, row.mac)


def checkpoint() -> Checkpointed:
    """Append the chain's head to the checkpoint file, after checking what is new since the last.

    The newest checkpoint's row must still be in the chain, and it and every event
    after it must verify; otherwise nothing is written. An unchanged head writes nothing.
    """
    key, path = signing_key(), checkpoint_path()
    try:
        newest = checkpoints.read_newest(path, key)
    except BadCheckpoint as bad:
        return Checkpointed(None, False, ChainBreak(None, None, str(bad)))
    start: _Link | None = GENESIS
    wanted: dict[int, list[Checkpoint]] = {}
    if newest is not None:
        wanted = {newest.seq: [newest]}
        start = _link_before(newest.seq)
    if start is None:
        assert newest is not None
        reason = f"the row is missing, though the newest checkpoint ({newest.where}) follows it"
        return Checkpointed(newest, False, ChainBreak(None, newest.seq - 1, reason))
    reached, problem = _walk(key, start, wanted)
    problem = problem or _head_problem(reached) or _beyond(wanted, reached)
    if problem is not None:
        return Checkpointed(newest, False, problem)
    if reached.seq == 0 or (newest is not None and newest.seq == reached.seq):
        return Checkpointed(newest, False)
    at = clock.now().isoformat(timespec="seconds")
    taken = Checkpoint(seq=reached.seq, hash=reached.hash, mac=reached.mac, at=at)
    checkpoints.append(path, key, taken)
    return Checkpointed(taken, True)
