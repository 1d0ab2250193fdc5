"""Results: what an attempt scored, against which cut, by which rules, and when it was released."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
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
    scored_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    attempt: Mapped[Attempt] = relationship()
