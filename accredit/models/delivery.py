"""Sittings: enrolments with their adjustments, attempts, each attempt's frozen form, and responses.

An attempt's status is never stored: it follows from ``deadline_at`` and
``submitted_at`` (see ``accredit.delivery.timing``). The database guarantees
the rules that must hold under concurrency: one open attempt per enrolment,
one response row per position, attempt numbers that never repeat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accredit.clock import now
from accredit.models.audit import JSONDocument
from accredit.models.banks import Assessment, AssessmentVersion
from accredit.models.base import Base
from accredit.models.people import User

SUBMISSION_KINDS = ("candidate", "expired")


class Enrolment(Base):
    """A candidate's place on an assessment, with any window and extra time."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("candidate_id", "assessment_id", name="uq_enrolments_candidate"),
        CheckConstraint(
            "extra_time_percent IS NULL OR extra_time_minutes IS NULL",
            name="one_kind_of_extra_time",
        ),
        CheckConstraint(
            "(extra_time_percent IS NULL AND extra_time_minutes IS NULL) "
            "OR adjustment_reason IS NOT NULL",
            name="extra_time_has_reason",
        ),
        CheckConstraint(
            "extra_time_percent IS NULL OR extra_time_percent BETWEEN 1 AND 300",
            name="extra_percent_range",
        ),
        CheckConstraint(
            "extra_time_minutes IS NULL OR extra_time_minutes BETWEEN 1 AND 600",
            name="extra_minutes_range",
        ),
        CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at", name="window"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    extra_time_percent: Mapped[int | None]
    extra_time_minutes: Mapped[int | None]
    adjustment_reason: Mapped[str | None] = mapped_column(Text)
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    assessment: Mapped[Assessment] = relationship()
    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="enrolment", order_by="Attempt.number"
    )


class Attempt(Base):
    """One sitting of an assessment: its seed, its deadline and when it was submitted."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "number", name="uq_attempts_number"),
        # At most one unsubmitted attempt per enrolment: two simultaneous starts
        # cannot both succeed, whatever the timing.
        Index(
            "uq_attempts_one_open",
            "enrolment_id",
            unique=True,
            sqlite_where=text("submitted_at IS NULL"),
            postgresql_where=text("submitted_at IS NULL"),
        ),
        CheckConstraint(
            "(submitted_at IS NULL AND submission IS NULL) "
            "OR (submitted_at IS NOT NULL AND submission IN ('candidate', 'expired'))",
            name="submission_recorded",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assessment_version_id: Mapped[int] = mapped_column(ForeignKey("assessment_versions.id"))
    number: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime]
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    submitted_at: Mapped[datetime | None]
    submission: Mapped[str | None] = mapped_column(String(10))
    # Which form was drawn: a digest of its positions and item versions (same form, same id).
    form_id: Mapped[str | None] = mapped_column(String(16))

    enrolment: Mapped[Enrolment] = relationship(back_populates="attempts")
    assessment_version: Mapped[AssessmentVersion] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position"
    )


class AttemptItem(Base):
    """One position on an attempt's frozen form: the exact item version and option order shown."""

    __tablename__ = "attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position", name="uq_attempt_items_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    position: Mapped[int]
    section: Mapped[int]
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"))
    scenario_version_id: Mapped[int | None] = mapped_column(ForeignKey("scenario_versions.id"))
    item_type: Mapped[str] = mapped_column(String(10))
    option_order: Mapped[list[str]] = mapped_column(JSONDocument)
    # What an answer to this position must satisfy, copied at start so saving
    # needs no second look at the item.
    answer_rules: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    pretest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    attempt: Mapped[Attempt] = relationship(back_populates="items")


class Response(Base):
    """The candidate's latest acknowledged answer and flag at one position.

    ``seq`` is the client's sequence number: an answer is stored only when its
    seq is newer than the stored one, so a retried or replayed save can never
    overwrite a newer answer.
    """

    __tablename__ = "responses"
    __table_args__ = (
        ForeignKeyConstraint(
            ["attempt_id", "position"],
            ["attempt_items.attempt_id", "attempt_items.position"],
            name="fk_responses_attempt_item",
        ),
    )

    attempt_id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    answer: Mapped[Any | None] = mapped_column(JSONDocument)
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    saved_at: Mapped[datetime | None]
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Practice mode: when feedback for this item was shown; the answer is then fixed.
    revealed_at: Mapped[datetime | None]
