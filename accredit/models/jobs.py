"""Background jobs: what was asked, how far it has got, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accredit.clock import now
from accredit.models.audit import JSONDocument
from accredit.models.base import Base

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    """A piece of background work and its progress, for pages and the command line to show.

    Progress is bookkeeping, not a fact about anyone's result: the work itself
    records its facts (new result revisions, audit events) as it goes, in chunks,
    so a job that stops part-way can be run again and finishes the rest.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in JOB_STATES) + ")", name="state_known"
        ),
        CheckConstraint("done >= 0 AND (total IS NULL OR done <= total)", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    state: Mapped[str] = mapped_column(String(8), default="queued")
    total: Mapped[int | None]
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
