"""Question banks in the database: frameworks, banks, items, assessments and their versions.

Content lives in git as YAML and is imported here. Each scenario, item and
assessment keeps every version it ever had; a version row is never changed once
written, so an attempt that froze a version always shows what the candidate saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    true,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from accredit.clock import now
from accredit.models.audit import JSONDocument
from accredit.models.base import Base

ITEM_STATUSES = ("draft", "live", "retired")
ITEM_TYPES = ("single", "multiple", "ordering", "numeric", "text", "written")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class ImmutableVersionError(RuntimeError):
    """Raised when code tries to change a stored version: versions are append-only."""


class Framework(Base):
    """A competency framework, such as the practitioner knowledge and skills statement."""

    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

    versions: Mapped[list[FrameworkVersion]] = relationship(
        back_populates="framework", order_by="FrameworkVersion.id"
    )


class FrameworkVersion(Base):
    """One declared version of a framework, with its statements."""

    __tablename__ = "framework_versions"
    __table_args__ = (
        UniqueConstraint("framework_id", "version", name="uq_framework_versions_version"),
        CheckConstraint("status IN ('provisional', 'published')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    audience: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=now)

    framework: Mapped[Framework] = relationship(back_populates="versions")
    statements: Mapped[list[Statement]] = relationship(
        back_populates="framework_version",
        order_by="Statement.number",
        cascade="all, delete-orphan",
    )


class Statement(Base):
    """One statement of a framework version, such as P5 'Abuse and neglect of children'."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("framework_version_id", "key", name="uq_statements_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    key: Mapped[str] = mapped_column(String(8))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)

    framework_version: Mapped[FrameworkVersion] = relationship(back_populates="statements")


class Bank(Base):
    """A folder of items written against one framework."""

    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    framework: Mapped[Framework] = relationship()


class Scenario(Base):
    """A case study shared by several items; its text is versioned like an item's."""

    __tablename__ = "scenarios"
    __table_args__ = (CheckConstraint(_in("status", ITEM_STATUSES), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))
    current_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now)

    bank: Mapped[Bank] = relationship()
    versions: Mapped[list[ScenarioVersion]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.version"
    )


class ScenarioVersion(Base):
    __tablename__ = "scenario_versions"
    __table_args__ = (
        UniqueConstraint("scenario_id", "version", name="uq_scenario_versions_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    vignette: Mapped[str] = mapped_column(Text)
    vignette_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))

    scenario: Mapped[Scenario] = relationship(back_populates="versions")


class Item(Base):
    """A question with a stable id. Its content lives in its versions."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(_in("status", ITEM_STATUSES), name="status_known"),
        CheckConstraint(_in("type", ITEM_TYPES), name="type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(8))
    current_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now)

    bank: Mapped[Bank] = relationship()
    versions: Mapped[list[ItemVersion]] = relationship(
        back_populates="item", order_by="ItemVersion.version"
    )


class ItemVersion(Base):
    """Exactly what an item said at one version: stem, options, key, rationale and ratings.

    ``content`` is the validated YAML as JSON (the key and rationale included, so
    it is for staff and scoring only); ``rendered`` holds the sanitised HTML that
    candidates see, with no key in it. ``for_accreditation`` and ``for_practice``
    copy the item's ``use``, so pools can choose by use without loading content.
    """

    __tablename__ = "item_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "version", name="uq_item_versions_version"),
        Index("ix_item_versions_hash", "content_hash"),
        CheckConstraint("for_accreditation OR for_practice", name="used_somewhere"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id"), index=True)
    competencies: Mapped[list[str]] = mapped_column(JSONDocument)
    # Versions stored before items stated a use were for accreditation only.
    for_accreditation: Mapped[bool] = mapped_column(server_default=true())
    for_practice: Mapped[bool] = mapped_column(server_default=false())
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    rendered: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=now)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))

    item: Mapped[Item] = relationship(back_populates="versions")
    scenario: Mapped[Scenario | None] = relationship()


class Assessment(Base):
    """A blueprint with a stable id; its rules live in its versions."""

    __tablename__ = "assessments"
    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(8))
    current_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now)

    versions: Mapped[list[AssessmentVersion]] = relationship(
        back_populates="assessment", order_by="AssessmentVersion.version"
    )


class AssessmentVersion(Base):
    __tablename__ = "assessment_versions"
    __table_args__ = (
        UniqueConstraint("assessment_id", "version", name="uq_assessment_versions_version"),
        CheckConstraint("mode IN ('accreditation', 'practice')", name="mode_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    title: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(14))
    audience: Mapped[str] = mapped_column(String(20))
    time_limit_minutes: Mapped[int | None]
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(default=now)
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))

    assessment: Mapped[Assessment] = relationship(back_populates="versions")
    framework_version: Mapped[FrameworkVersion] = relationship()


class ImportRun(Base):
    """One run of ``banks import``: what it changed, or every error that stopped it."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(500))
    succeeded: Mapped[bool]
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    errors: Mapped[list[str]] = mapped_column(JSONDocument)
    warnings: Mapped[list[str]] = mapped_column(JSONDocument)


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    raise ImmutableVersionError(
        f"{type(target).__name__} {target.id} is a stored version and cannot be changed"
    )


for _version_class in (ScenarioVersion, ItemVersion, AssessmentVersion):
    event.listen(_version_class, "before_update", _refuse_change)
    event.listen(_version_class, "before_delete", _refuse_change)
