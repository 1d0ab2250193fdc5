"""Results: what an attempt scored, against which cut, by which rules, and when it was released."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accredit.models.audit import JSONDocument
from accredit.models.base import Base
from accredit.models.delivery import Attempt


class Result(Base):
    """An attempt's scored result. It changes only through an audited action."""

    __tablename__ = "results"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'scored')", name="status_known"),
        CheckConstraint("(status = 'pending') = (passed IS NULL)", name="pending_has_no_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8))
    raw: Mapped[float]
    maximum: Mapped[float]
    percent: Mapped[float]
    cut: Mapped[float]
    cut_percent: Mapped[float]
    cut_method: Mapped[str] = mapped_column(String(10))
    cut_description: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool | None]
    # Per statement: earned, possible, percent, items, met.
    profile: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # Per position: item, version, key used, answer, marks: enough to explain every mark.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    # How the cut was set: judges' cuts and spread, SEM, any adjustment.
    cut_details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    scoring_version: Mapped[str] = mapped_column(String(20))
    # Which set of scored positions is current: each rescoring adds a new set, never edits one.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    scored_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    attempt: Mapped[Attempt] = relationship()


class ScoredPosition(Base):
    """One position of a scored attempt: the item version, the key used and the marks given.

    Facts for marking, item analysis and rescoring to query. Rows are only ever
    added: a rescoring writes a new revision and leaves the old one as it was.
    """

    __tablename__ = "scored_positions"
    __table_args__ = (
        UniqueConstraint("result_id", "revision", "position", name="uq_scored_positions"),
        ForeignKeyConstraint(
            ["attempt_id", "position"],
            ["attempt_items.attempt_id", "attempt_items.position"],
            name="fk_scored_positions_attempt_item",
        ),
        CheckConstraint("marks >= 0 AND marks <= max_marks", name="marks_in_range"),
        Index("ix_scored_positions_item_version", "item_version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"))
    revision: Mapped[int]
    attempt_id: Mapped[int]
    position: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"))
    # The key the marks were given against: the item version's key, or a later decision's.
    key: Mapped[Any | None] = mapped_column(JSONDocument)
    answer: Mapped[Any | None] = mapped_column(JSONDocument)
    marks: Mapped[float]
    max_marks: Mapped[float]
    pending: Mapped[bool] = mapped_column(Boolean)
    pretest: Mapped[bool] = mapped_column(Boolean)
    scored_at: Mapped[datetime]

    result: Mapped[Result] = relationship()
