"""The audit trail: append-only events linked by a hash chain and sealed by a keyed MAC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from accredit.models.base import Base

JSONDocument = JSON().with_variant(JSONB(), "postgresql")

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """Who did what to which subject, when, and why.

    Each row carries the hash of the row before it, so editing or deleting any
    row breaks the chain and ``flask audit verify`` names the first bad one. Its
    ``mac`` seals its sequence number, hash and the MAC before it under a key kept
    outside the database, so a forged or recomputed row fails verification too.
    A row's id is its sequence number. Rows are never updated or deleted.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The single row that serialises appends and records the chain's last link.

    Appending first updates this row, which takes its lock on PostgreSQL and the
    write lock on SQLite, so concurrent workers can never fork the chain.
    """

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
