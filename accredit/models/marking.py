"""Marking: who marks each written response, the marks given, agreed marks and moderation.

A script is one written response: the position of a submitted attempt whose
item is written (its id is the ``attempt_items`` row's). Everything here is a
fact, added and never edited: an allocation is replaced by a new allocation, a
mark by a later round's mark, a result's provisional standing by a moderator's
decision. A script's state is derived from these rows by
``accredit.marking.rules.script_state``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accredit.clock import now
from accredit.models.base import Base

MARKING_ROUNDS = ("first", "second", "third", "moderator")
ALLOCATED_ROUNDS = ("first", "second", "third")
AGREEMENT_METHODS = ("mean", "lower", "third", "moderator", "blank")
DECISIONS = ("ratify", "amend", "withhold")


def _known(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Allocation(Base):
    """A script given to a marker for one round. Reallocating adds a row that replaces it."""

    __tablename__ = "marking_allocations"
    __table_args__ = (
        CheckConstraint(_known("round", ALLOCATED_ROUNDS), name="round_known"),
        CheckConstraint(
            "replaces_id IS NULL OR (reason IS NOT NULL AND allocated_by_id IS NOT NULL)",
            name="reallocation_has_reason",
        ),
        # One original allocation per script and round; a replacement replaces one row only.
        Index(
            "uq_marking_allocations_round",
            "script_id",
            "round",
            unique=True,
            sqlite_where=text("replaces_id IS NULL"),
            postgresql_where=text("replaces_id IS NULL"),
        ),
        Index("ix_marking_allocations_marker", "marker_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("attempt_items.id"), index=True)
    round: Mapped[str] = mapped_column(String(10))
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    allocated_at: Mapped[datetime] = mapped_column(default=now)
    # None when allocated automatically.
    allocated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("marking_allocations.id"), unique=True
    )


class Mark(Base):
    """One marker's mark of one script in one round, with a row per criterion."""

    __tablename__ = "marks"
    __table_args__ = (
        CheckConstraint(_known("round", MARKING_ROUNDS), name="round_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint(
            "round IN ('first', 'second') OR (reason IS NOT NULL AND length(trim(reason)) > 0)",
            name="final_mark_has_reason",
        ),
        Index("uq_marks_round", "script_id", "round", unique=True),
        # A marker marks a response once; the moderator's final mark is the exception.
        Index(
            "uq_marks_marker_once",
            "script_id",
            "marker_id",
            unique=True,
            sqlite_where=text("round <> 'moderator'"),
            postgresql_where=text("round <> 'moderator'"),
        ),
        Index("ix_marks_marker", "marker_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("attempt_items.id"))
    round: Mapped[str] = mapped_column(String(10))
    marker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    total: Mapped[float]
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    reason: Mapped[str | None] = mapped_column(Text)
    marked_at: Mapped[datetime] = mapped_column(default=now)

    criteria: Mapped[list[CriterionMark]] = relationship(
        order_by="CriterionMark.criterion", lazy="selectin"
    )


class CriterionMark(Base):
    """The marks one mark gave for one rubric criterion: what item analysis reads."""

    __tablename__ = "criterion_marks"
    __table_args__ = (CheckConstraint("marks >= 0", name="marks_not_negative"),)

    mark_id: Mapped[int] = mapped_column(ForeignKey("marks.id"), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(32), primary_key=True)
    marks: Mapped[float]


class AgreedMark(Base):
    """A script's agreed mark, pointing at the marks it came from. One per script."""

    __tablename__ = "agreed_marks"
    __table_args__ = (
        CheckConstraint(_known("method", AGREEMENT_METHODS), name="method_known"),
        CheckConstraint("mark >= 0", name="mark_not_negative"),
        CheckConstraint(
            "method NOT IN ('third', 'moderator') OR final_mark_id IS NOT NULL",
            name="final_mark_named",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("attempt_items.id"), unique=True)
    mark: Mapped[float]
    method: Mapped[str] = mapped_column(String(10))
    first_mark_id: Mapped[int | None] = mapped_column(ForeignKey("marks.id"))
    second_mark_id: Mapped[int | None] = mapped_column(ForeignKey("marks.id"))
    final_mark_id: Mapped[int | None] = mapped_column(ForeignKey("marks.id"))
    why: Mapped[str] = mapped_column(Text)
    agreed_at: Mapped[datetime] = mapped_column(default=now)


class ModerationSample(Base):
    """A result drawn into the moderation sample: which draw, with which seed."""

    __tablename__ = "moderation_samples"

    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), primary_key=True)
    seed: Mapped[str] = mapped_column(String(100))
    drawn_at: Mapped[datetime] = mapped_column(default=now)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ModerationDecision(Base):
    """The moderator's one final decision on a revision of a result: ratify, amend or withhold.

    A decision holds for the revision it produced (an amendment's is the revision the
    amendment made). If the result later changes (a rekeyed item, say), the new
    revision has no decision and goes back to moderation.
    """

    __tablename__ = "moderation_decisions"
    __table_args__ = (
        UniqueConstraint("result_id", "revision", name="uq_moderation_decisions_revision"),
        CheckConstraint(_known("decision", DECISIONS), name="decision_known"),
        CheckConstraint("(decision = 'amend') = (score IS NOT NULL)", name="amend_has_score"),
        CheckConstraint(
            "decision = 'ratify' OR length(trim(reason)) > 0", name="change_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The amended raw score; only for an amendment.
    score: Mapped[float | None]
    # The result's revision the decision holds for.
    revision: Mapped[int]
    decided_at: Mapped[datetime] = mapped_column(default=now)
    # None for a result the sample draw left standing as agreed (the draw names who drew it).
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
