"""Bearer tokens for the export API: made once, kept only as a hash, revocable. Flushes only."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from accredit import audit, clock
from accredit.errors import DomainError, NotFound
from accredit.extensions import db
from accredit.models import Role, User
from accredit.models.exports import ApiToken

PREFIX = "acc_"
# Who may hold a token: the export API is for regulators (administrators may test it).
HOLDERS = (Role.REGULATOR, Role.ADMIN)


class TokenRefused(DomainError):
    code = "forbidden"
    status = 403


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(holder: User, name: str, *, actor: User | None) -> tuple[ApiToken, str]:
    """A new token for a regulator; the token itself is returned once and never stored."""
    if Role(holder.role) not in HOLDERS:
        raise TokenRefused("Only a regulator (or an administrator) may hold an export token")
    if not holder.active:
        raise TokenRefused("The account is not active")
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenRefused("Give the token a name of up to 100 characters")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=holder.id, name=name, token_hash=_hash(token), prefix=token[:10],
                   created_by_id=actor.id if actor else None, created_at=clock.now())  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record("token.issued", actor=actor, subject_type="user", subject_id=holder.id,
                 details={"token": row.id, "name": name, "prefix": row.prefix})  # fmt: skip
    return row, token


def revoke(token_id: int, *, actor: User | None, reason: str = "") -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("No such token")
    if actor is not None and Role(actor.role) is not Role.ADMIN and actor.id != row.user_id:
        raise TokenRefused("Only the token's holder or an administrator may revoke it")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_reason = clock.now(), reason.strip()
        audit.record("token.revoked", actor=actor, subject_type="user", subject_id=row.user_id,
                     details={"token": row.id, "reason": row.revoked_reason})  # fmt: skip
    return row


def holder_of(token: str) -> User | None:
    """The active holder of a live token, or None. Reads only."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active or Role(user.role) not in HOLDERS:
        return None
    return user


def tokens_of(holder: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == holder.id).order_by(ApiToken.id.desc())
        )
    )
