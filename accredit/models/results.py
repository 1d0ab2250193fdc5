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
    Text,
    UniqueConstraint,
    false,
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
    # Removed from the score, the maximum and the cut by a key decision.
    void: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    scored_at: Mapped[datetime]

    result: Mapped[Result] = relationship()


REVISION_CAUSES = ("scored", "marked", "amended", "rekeyed", "recomputed", "backfilled")


class ResultRevision(Base):
    """One revision of a result: what it came to, and why it was made. Only ever added.

    Every result's history reads from here: scored at submission, marked once its
    written answers were agreed, amended by a moderator, rescored after a key
    decision, or recomputed by an administrator.
    """

    __tablename__ = "result_revisions"
    __table_args__ = (
        UniqueConstraint("result_id", "revision", name="uq_result_revisions"),
        CheckConstraint(
            "cause IN (" + ", ".join(f"'{c}'" for c in REVISION_CAUSES) + ")", name="cause_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"))
    revision: Mapped[int]
    raw: Mapped[float]
    maximum: Mapped[float]
    cut: Mapped[float]
    passed: Mapped[bool | None]
    cause: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    key_decision_id: Mapped[int | None] = mapped_column(ForeignKey("key_decisions.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]


KEY_DECISIONS = ("keep", "rekey", "keys", "credit", "void")


class KeyDecision(Base):
    """A decision on an item's key for one assessment: a new key version, never an edit.

    The latest decision on an item (by ``version``) is the one scoring applies to
    every attempt of the assessment; stored responses and the bank's item
    versions never change.
    """

    __tablename__ = "key_decisions"
    __table_args__ = (
        UniqueConstraint("assessment_id", "item_id", "version", name="uq_key_decisions_version"),
        CheckConstraint(
            "decision IN (" + ", ".join(f"'{d}'" for d in KEY_DECISIONS) + ")",
            name="decision_known",
        ),
        CheckConstraint("length(trim(reason)) > 0", name="has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int]
    decision: Mapped[str] = mapped_column(String(8))
    # rekey: the new key; keys: the list of accepted keys; otherwise null.
    key: Mapped[Any | None] = mapped_column(JSONDocument)
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]


class AnalysisSignOff(Base):
    """A lead assessor's sign-off of an assessment's item analysis, with the statistics as
    they were. Results released after moderation wait for one that is not stale."""

    __tablename__ = "analysis_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    attempts: Mapped[int]
    statistics: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime]
    # The kept analysis the lead reviewed and signed, when there was one.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_runs.id"))


class AnalysisRun(Base):
    """An item analysis as it was computed, kept so a large cohort's statistics are shown
    without computing them in the request, and so a sign-off can say what it signed.

    A run is derived, never a fact about anyone's result: it records what it
    covered (attempts submitted and key decisions made up to its basis times), so
    a later submission or decision shows it is out of date.
    """

    __tablename__ = "analysis_runs"
    __table_args__ = (
        Index("ix_analysis_runs_latest", "assessment_id", "first_attempts_only", "computed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    first_attempts_only: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int]
    statistics: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # The newest submission, key decision and result revision the run covered (None: none).
    basis_submitted_at: Mapped[datetime | None]
    basis_decided_at: Mapped[datetime | None]
    basis_revised_at: Mapped[datetime | None]
    computed_at: Mapped[datetime]
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
