"""Exports and the API tokens regulators fetch them with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accredit.clock import now
from accredit.models.audit import JSONDocument
from accredit.models.base import Base

EXPORT_KINDS = ("results", "profiles", "marking", "items", "research")


class Export(Base):
    """One export as it was made: what it holds, who asked, and the file's SHA-256.

    Written once, when the file is complete; the file itself is kept so it can be
    downloaded again byte for byte, and the hash shows that it has not changed.
    """

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in EXPORT_KINDS) + ")", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    schema_version: Mapped[str] = mapped_column(String(12))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    rows: Mapped[int]
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))


class ApiToken(Base):
    """A bearer token for the export API. Only its SHA-256 is kept; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a holder can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
