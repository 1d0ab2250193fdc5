"""People: organisations, user accounts and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accredit.clock import now
from accredit.models.base import Base


class Role(StrEnum):
    """What a user does in the service; each account has exactly one."""

    CANDIDATE = "candidate"
    ASSESSOR = "assessor"
    LEADER = "leader"
    REGULATOR = "regulator"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CANDIDATE: "Candidate",
    Role.ASSESSOR: "Assessor",
    Role.LEADER: "Practice leader",
    Role.REGULATOR: "Regulator",
    Role.ADMIN: "Administrator",
}

# Roles whose work is tied to one organisation: a candidate is employed by it and
# a practice leader sees only its candidates.
ROLES_NEEDING_ORGANISATION = (Role.CANDIDATE, Role.LEADER)


def _role_list(roles: tuple[Role, ...] | type[Role]) -> str:
    return ", ".join(f"'{role.value}'" for role in roles)


class Organisation(Base):
    """An employer of candidates, such as a local authority."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=now)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class User(Base):
    """A person who signs in. Emails are stored lower-cased, so case never makes a duplicate."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint(f"role IN ({_role_list(Role)})", name="role_known"),
        CheckConstraint(
            f"role NOT IN ({_role_list(ROLES_NEEDING_ORGANISATION)}) "
            "OR organisation_id IS NOT NULL",
            name="organisation_required",
        ),
        CheckConstraint("NOT lead_assessor OR role = 'assessor'", name="lead_is_assessor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    swe_registration_number: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    # The candidate's team within their organisation, if it has teams.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # A lead assessor reallocates scripts, moderates results and watches marker quality.
    lead_assessor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped when the password changes, so every other signed-in session ends.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=now)
    password_changed_at: Mapped[datetime] = mapped_column(default=now)

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    # Flask-Login's interface.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def has_role(self, *roles: Role) -> bool:
        return Role(self.role) in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class LoginAttempt(Base):
    """One try at signing in, kept so throttling works across every worker."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        CheckConstraint("outcome IN ('succeeded', 'failed', 'throttled')", name="outcome_known"),
        Index("ix_login_attempts_email_at", "email", "attempted_at"),
        Index("ix_login_attempts_address_at", "client_address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    client_address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))
    attempted_at: Mapped[datetime] = mapped_column(default=now)
