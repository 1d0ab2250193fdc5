"""Account operations. They take plain values, flush, and leave committing to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import false, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from accredit import audit, clock
from accredit.accounts.passwords import Hasher, password_problems
from accredit.errors import Conflict, DomainError, NotFound
from accredit.extensions import db
from accredit.models import LoginAttempt, Organisation, Role, User
from accredit.models.people import ROLES_NEEDING_ORGANISATION


class InvalidAccount(DomainError):
    code = "invalid_account"


class WeakPassword(DomainError):
    code = "weak_password"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(". ".join(problems))
        self.problems = problems


class WrongPassword(DomainError):
    code = "wrong_credentials"
    status = 401

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("Enter a correct email address and password")
        self.locked_until = locked_until


class AccountInactive(DomainError):
    code = "account_inactive"
    status = 403


class LoginThrottled(DomainError):
    code = "login_throttled"
    status = 429

    def __init__(self, until: datetime) -> None:
        super().__init__("Too many failed sign-in attempts")
        self.until = until


def hasher() -> Hasher:
    """Return the application's password hasher."""
    return current_app.extensions["accredit.hasher"]  # type: ignore[no-any-return]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str:
    """Return the normalised address, or raise InvalidAccount saying what is wrong."""
    try:
        return validate_email(normalise_email(email), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidAccount(f"Enter a valid email address: {error}") from error


def add_organisation(code: str, name: str, *, actor: User | None = None) -> Organisation:
    code, name = code.strip().upper(), name.strip()
    if not code or not name:
        raise InvalidAccount("An organisation needs a code and a name")
    if db.session.scalar(select(Organisation).filter_by(code=code)):
        raise Conflict(f"Organisation {code} already exists")
    organisation = Organisation(code=code, name=name)
    db.session.add(organisation)
    db.session.flush()
    audit.record(
        "organisation.added", actor=actor, subject_type="organisation", subject_id=organisation.id,
        details={"code": code, "name": name},
    )  # fmt: skip
    return organisation


def add_user(
    email: str,
    *,
    role: str,
    password: str,
    name: str = "",
    organisation_code: str | None = None,
    swe_registration_number: str | None = None,
    lead_assessor: bool = False,
    actor: User | None = None,
) -> User:
    """Create an account after checking every rule; raise a DomainError naming the first fault."""
    email = checked_email(email)
    try:
        role_value = Role(role)
    except ValueError as error:
        raise InvalidAccount(f"Role must be one of {', '.join(r.value for r in Role)}") from error
    organisation = None
    if organisation_code:
        organisation = db.session.scalar(
            select(Organisation).filter_by(code=organisation_code.strip().upper())
        )
        if organisation is None:
            raise NotFound(f"No organisation with code {organisation_code}")
    if role_value in ROLES_NEEDING_ORGANISATION and organisation is None:
        raise InvalidAccount(f"A {role_value.label.lower()} must belong to an organisation")
    if lead_assessor and role_value is not Role.ASSESSOR:
        raise InvalidAccount("Only an assessor can be a lead assessor")
    if db.session.scalar(select(User.id).filter_by(email=email)):
        raise Conflict(f"An account for {email} already exists")
    problems = password_problems(password, email=email)
    if problems:
        raise WeakPassword(problems)
    user = User(
        email=email,
        name=name.strip() or email.split("@", 1)[0],
        role=role_value.value,
        organisation=organisation,
        swe_registration_number=(swe_registration_number or "").strip().upper() or None,
        password_hash=hasher().hash(password),
        lead_assessor=lead_assessor,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.added", actor=actor, subject_type="user", subject_id=user.id,
        details={
            "email": email, "role": role_value.value, "organisation": organisation_code,
            "lead_assessor": lead_assessor,
        },
    )  # fmt: skip
    return user


def set_lead_assessor(user: User, lead: bool, *, actor: User | None) -> None:
    """Make an assessor a lead assessor, or an ordinary assessor again (audited)."""
    if lead and not user.has_role(Role.ASSESSOR):
        raise InvalidAccount("Only an assessor can be a lead assessor")
    if user.lead_assessor == lead:
        return
    user.lead_assessor = lead
    audit.record(
        "user.lead_assessor", actor=actor, subject_type="user", subject_id=user.id,
        details={"lead_assessor": lead},
    )  # fmt: skip


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    max_failures_per_address: int
    window: timedelta

    @classmethod
    def from_config(cls) -> ThrottlePolicy:
        config = current_app.config
        return cls(
            max_failures=config["ACCREDIT_LOGIN_MAX_FAILURES"],
            max_failures_per_address=config["ACCREDIT_LOGIN_MAX_FAILURES_PER_ADDRESS"],
            window=timedelta(minutes=config["ACCREDIT_LOGIN_WINDOW_MINUTES"]),
        )


def _locked_until(
    column: InstrumentedAttribute[str], value: str, limit: int, window: timedelta, at: datetime
) -> datetime | None:
    """Return when a key's lock ends, if it has ``limit`` failures inside the window."""
    # The limit-th most recent failure: once it leaves the window, fewer than limit remain.
    oldest_counted = db.session.scalar(
        select(LoginAttempt.attempted_at)
        .where(column == value, LoginAttempt.outcome == "failed")
        .where(LoginAttempt.attempted_at > at - window)
        .order_by(LoginAttempt.attempted_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return oldest_counted + window if oldest_counted is not None else None


def throttled_until(
    email: str, address: str, policy: ThrottlePolicy, at: datetime
) -> datetime | None:
    """Return when sign-in is allowed again for this account or address, or None if it is now."""
    locks = [
        _locked_until(LoginAttempt.email, email, policy.max_failures, policy.window, at),
        _locked_until(
            LoginAttempt.client_address, address, policy.max_failures_per_address, policy.window, at
        ),
    ]
    ends = [end for end in locks if end is not None and end > at]
    return max(ends) if ends else None


def authenticate(email: str, password: str, *, address: str) -> User:
    """Sign a user in, or raise LoginThrottled, WrongPassword or AccountInactive.

    Every attempt is recorded, whatever the email looks like, so the lock holds
    across workers and restarts; the caller commits even when this raises, so
    failures are never lost. Attempts at one email take turns, so parallel guesses
    cannot all be checked before the first failure is counted.
    """
    email, address = storable(normalise_email(email))[:320], storable(address)[:64]
    _take_turns(email)
    at, policy = clock.now(), ThrottlePolicy.from_config()
    until = throttled_until(email, address, policy, at)
    user = db.session.scalar(select(User).filter_by(email=email))
    subject = user.id if user else email[:64]
    if until is not None:
        _remember(email, address, "throttled", at)
        audit.record(
            "auth.login_throttled", actor=None, subject_type="user", subject_id=subject,
            details={"email": email, "address": address, "until": until.isoformat()},
        )  # fmt: skip
        raise LoginThrottled(until)
    if user is None or not hasher().verify(user.password_hash, password):
        if user is None:
            hasher().verify(hasher().decoy, password)  # same cost for unknown emails
        _remember(email, address, "failed", at)
        audit.record(
            "auth.login_failed", actor=None, subject_type="user", subject_id=subject,
            details={"email": email, "address": address},
        )  # fmt: skip
        raise WrongPassword(_lock_started(email, address, subject, policy, at))
    if not user.active:
        _remember(email, address, "failed", at)
        raise AccountInactive("This account has been deactivated. Contact your administrator")
    if hasher().needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    _remember(email, address, "succeeded", at)
    audit.record(
        "auth.login_succeeded", actor=user, subject_type="user", subject_id=user.id,
        details={"address": address},
    )  # fmt: skip
    return user


def storable(text: str) -> str:
    """Return text every database can store: NUL and lone surrogates become U+FFFD."""
    if text.isascii() and "\x00" not in text:
        return text
    return "".join(
        "\ufffd" if character == "\x00" or "\ud800" <= character <= "\udfff" else character
        for character in text
    )


def _take_turns(email: str) -> None:
    """Hold this transaction's sign-in turn for an email until it commits.

    Checking the lock and recording the attempt are then one step: a parallel
    attempt at the same email waits, and sees this one's failure when it counts.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        key = func.hashtextextended(f"accredit.sign-in:{email}", 0)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        # SQLite has one writer at a time, and a write takes that turn until commit.
        db.session.execute(update(LoginAttempt).where(false()).values(outcome="failed"))


def _lock_started(
    email: str, address: str, subject: object, policy: ThrottlePolicy, at: datetime
) -> datetime | None:
    """Audit and return the lock's end when this failure is the one that engaged it."""
    until = throttled_until(email, address, policy, at)
    if until is not None:
        audit.record(
            "auth.locked", actor=None, subject_type="user", subject_id=subject,
            details={"email": email, "address": address, "until": until.isoformat()},
        )  # fmt: skip
    return until


def _remember(email: str, address: str, outcome: str, at: datetime) -> None:
    db.session.add(
        LoginAttempt(email=email, client_address=address, outcome=outcome, attempted_at=at)
    )
    db.session.flush()


def sign_out(user: User) -> None:
    """End the user's sessions on the server: every cookie issued so far is refused.

    Sessions are signed cookies that carry the account's session version, so this
    signs the account out on every device, not only the one that asked.
    """
    user.session_version += 1
    audit.record("auth.logout", actor=user, subject_type="user", subject_id=user.id)


def end_sessions(user: User, *, actor: User | None) -> None:
    """End every signed-in session of an account, for an administrator."""
    user.session_version += 1
    audit.record(
        "user.sessions_ended", actor=actor, subject_type="user", subject_id=user.id,
        details={"email": user.email},
    )  # fmt: skip


def change_password(user: User, *, current: str, new: str) -> None:
    """Change a password after checking the current one; end every other session."""
    if not hasher().verify(user.password_hash, current):
        raise WrongPassword()
    problems = password_problems(new, email=user.email)
    if new == current:
        problems.append("New password must be different from your current password")
    if problems:
        raise WeakPassword(problems)
    user.password_hash = hasher().hash(new)
    user.password_changed_at = clock.now()
    user.session_version += 1
    audit.record("user.password_changed", actor=user, subject_type="user", subject_id=user.id)


def set_password(user: User, new: str, *, actor: User | None) -> None:
    """Set a password administratively (CLI or admin), still applying the policy."""
    problems = password_problems(new, email=user.email)
    if problems:
        raise WeakPassword(problems)
    user.password_hash = hasher().hash(new)
    user.password_changed_at = clock.now()
    user.session_version += 1
    audit.record("user.password_set", actor=actor, subject_type="user", subject_id=user.id)


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
