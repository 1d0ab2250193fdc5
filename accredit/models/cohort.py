"""Teams within an organisation, leaders' development notes, and who viewed whose history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accredit.clock import now
from accredit.models.base import Base


class Team(Base):
    """A team of an organisation; each candidate belongs to at most one."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name", name="uq_teams_name"),
        CheckConstraint("length(trim(name)) > 0", name="has_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=now)


class DevelopmentNote(Base):
    """A leader's short note against a statement for a candidate, which the candidate sees.

    Notes are only ever added: a later note supersedes an earlier one in the reading.
    """

    __tablename__ = "development_notes"
    __table_args__ = (
        CheckConstraint("length(trim(note)) > 0", name="has_note"),
        Index("ix_development_notes_candidate", "candidate_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    statement: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class HistoryView(Base):
    """A leader opened a candidate's history: recorded each time, and shown to the candidate."""

    __tablename__ = "history_views"
    __table_args__ = (Index("ix_history_views_candidate", "candidate_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    viewed_at: Mapped[datetime] = mapped_column(default=now)
