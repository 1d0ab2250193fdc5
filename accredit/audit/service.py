"""Append audit events and verify the chain. Appends only flush; the request commits."""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from accredit import clock
from accredit.audit.chain import canonical, link
from accredit.extensions import db
from accredit.models import AuditChainHead, AuditEvent, User
from accredit.models.audit import GENESIS_HASH


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip now, so the stored document hashes the same when read back.
    return json.loads(json.dumps(details, default=str))  # type: ignore[no-any-return]


PENDING = "accredit.audit.pending"


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
    holds other requests waiting on the chain.
    """
    # Make sure a transaction is under way, so its rollback (which fires only for a
    # transaction that exists) discards these events too.
    db.session.connection()
    pending = db.session.info.setdefault(PENDING, [])
    pending.append(
        {
            "occurred_at": clock.now(),
            "actor_id": actor.id if actor is not None else None,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "details": _json_safe(details or {}),
        }
    )


def _append(session: Session, entry: dict[str, Any]) -> None:
    # Claim the next link first: the UPDATE takes the row lock (PostgreSQL) or the
    # write lock (SQLite) before the previous hash is read, so appends serialise.
    seq, prev_hash = session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
    ).one()
    event = AuditEvent(seq=seq, prev_hash=prev_hash, **entry)
    event.hash = link(prev_hash, _body(event))
    session.add(event)
    session.execute(
        update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=event.hash)
    )


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Add the transaction's recorded events to the chain, last thing before it commits."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    for entry in pending:
        _append(session, entry)
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _discard_pending(session: Session, _previous: Any) -> None:
    """A rolled-back transaction's events never happened."""
    session.info.pop(PENDING, None)


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
        where = (
            f"audit_events row id={self.event_id} (seq {self.seq})" if self.event_id else "chain"
        )
        return f"{where}: {self.reason}"


def _first_break() -> tuple[int, str, ChainBreak | None]:
    """Walk the stored events in order; return how many were good, the last hash, any break."""
    expected_prev, expected_seq = GENESIS_HASH, 1
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)
    # Closed explicitly: on PostgreSQL yield_per holds a server-side cursor open.
    with closing(db.session.scalars(query)) as events:
        for event in events:
            problem = _check(event, expected_prev, expected_seq)
            if problem:
                return expected_seq - 1, expected_prev, ChainBreak(event.id, event.seq, problem)
            expected_prev, expected_seq = event.hash, expected_seq + 1
    return expected_seq - 1, expected_prev, None


def _check(event: AuditEvent, expected_prev: str, expected_seq: int) -> str | None:
    if event.seq != expected_seq:
        return f"expected seq {expected_seq}: rows are missing"
    if event.prev_hash != expected_prev:
        return "prev_hash does not match the row before it"
    if link(event.prev_hash, _body(event)) != event.hash:
        return "contents do not match its hash (row was edited)"
    return None


def verify() -> tuple[int, ChainBreak | None]:
    """Recompute the chain; return how many events were checked and the first break, if any."""
    checked, last_hash, problem = _first_break()
    if problem is not None:
        return checked, problem
    head = db.session.get(AuditChainHead, 1)
    if head is None:
        return checked, ChainBreak(None, None, "the chain head row is missing")
    if head.seq != checked or head.last_hash != last_hash:
        reason = "the newest rows were deleted or the head was edited"
        return checked, ChainBreak(None, head.seq, reason)
    return checked, None
