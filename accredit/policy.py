"""Authorisation: who may reach which endpoint, and whose data they may see.

Every endpoint declares its access, either on the view (``@public``,
``@signed_in``, ``@allow(...)``) or for a whole blueprint (``guard_blueprint``).
One ``before_request`` hook enforces it. An endpoint that declares nothing is
refused to everyone, and a test walks the whole ``url_map`` so none is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Select, select

from accredit.models import Role, User

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """An endpoint's rule: open to all, to any signed-in user, or to some roles."""

    public: bool = False
    roles: frozenset[Role] | None = None  # None with public=False: any signed-in user
    # Of assessors, only lead assessors (administrators still see everything).
    lead_only: bool = False
    # Reached with a bearer token (the export API), never with a session cookie.
    token: bool = False

    def admits(self, user: Any) -> bool:
        if self.token:
            return False  # only a bearer token admits; see ``enforce``
        if self.public:
            return True
        if not user.is_authenticated:
            return False
        if self.lead_only and Role(user.role) is Role.ASSESSOR and not user.lead_assessor:
            return False
        return self.roles is None or Role(user.role) in self.roles


PUBLIC = Access(public=True)
SIGNED_IN = Access()


def roles(*allowed: Role) -> Access:
    """Return access for these roles; an administrator reaches everything."""
    return Access(roles=frozenset({*allowed, Role.ADMIN}))


# Which role may reach which area of the service.
CANDIDATE_AREA = roles(Role.CANDIDATE)
ASSESSOR_AREA = roles(Role.ASSESSOR)
LEAD_ASSESSOR_AREA = Access(roles=frozenset({Role.ASSESSOR, Role.ADMIN}), lead_only=True)
LEADER_AREA = roles(Role.LEADER)
REGULATOR_AREA = roles(Role.REGULATOR)
ADMIN_AREA = roles()
# The export API: a regulator's (or an administrator's) bearer token, and nothing else.
EXPORT_TOKEN_AREA = Access(roles=frozenset({Role.REGULATOR, Role.ADMIN}), token=True)


def _declare(access: Access) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.__access__ = access  # type: ignore[attr-defined]
        return view

    return decorate


public = _declare(PUBLIC)
signed_in = _declare(SIGNED_IN)


lead_assessor_only = _declare(LEAD_ASSESSOR_AREA)
"""Declare a view open to lead assessors (and administrators, who see everything)."""


def allow(*allowed: Role) -> Callable[[F], F]:
    """Declare a view open to these roles (and administrators)."""
    return _declare(roles(*allowed))


def guard_blueprint(blueprint: Blueprint, access: Access) -> None:
    """Give every view of a blueprint this access unless the view declares its own."""
    blueprint.record_once(
        lambda state: _registry(cast(Flask, state.app)).update({blueprint.name: access})
    )


def mark_public(app: Flask, endpoint: str) -> None:
    """Declare an endpoint public that cannot be decorated, such as a static route."""
    _registry(app)[f"endpoint:{endpoint}"] = PUBLIC


def _registry(app: Flask) -> dict[str, Access]:
    return app.extensions.setdefault("accredit.access", {})  # type: ignore[no-any-return]


def access_for(app: Flask, endpoint: str) -> Access | None:
    """Return the declared access of an endpoint, or None if it declares none."""
    registry = _registry(app)
    if f"endpoint:{endpoint}" in registry:
        return registry[f"endpoint:{endpoint}"]
    view = app.view_functions.get(endpoint)
    declared: Access | None = getattr(view, "__access__", None)
    if declared is not None:
        return declared
    blueprint = endpoint.rpartition(".")[0]
    return registry.get(blueprint) if blueprint else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def enforce() -> Response | None:  # noqa: RET503 (abort raises)
    """Refuse the request unless the current user is admitted to its endpoint.

    A bearer token is accepted on the export API only: anywhere else, a request
    that carries one is refused with 401, so a token never opens a page.
    """
    if request.endpoint is None:
        return None  # no route matched: let the 404 or 405 through
    access = access_for(current_app, request.endpoint)
    if access is None:
        current_app.logger.error("endpoint %s declares no access; refusing", request.endpoint)
        abort(403)
    if access.token:
        from accredit.exports import tokens

        token = bearer_token()
        holder = tokens.holder_of(token) if token else None
        if holder is None:
            abort(401)
        if access.roles is not None and Role(holder.role) not in access.roles:
            abort(403)
        g.token_holder = holder
        return None
    if bearer_token() is not None:
        abort(401)  # a token opens the export API only (other schemes, such as a proxy's, pass)
    if access.admits(current_user):
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def init_app(app: Flask) -> None:
    app.before_request(enforce)


# Whose data a user may see.


def can_view_candidate(viewer: User, candidate: User) -> bool:
    """A candidate sees themselves, a leader their organisation's candidates, an admin anyone."""
    if viewer.role == Role.ADMIN or viewer.id == candidate.id:
        return True
    return (
        viewer.role == Role.LEADER
        and candidate.role == Role.CANDIDATE
        and viewer.organisation_id is not None
        and viewer.organisation_id == candidate.organisation_id
    )


def candidates_visible_to(viewer: User) -> Select[User]:
    """Return a query of the candidates this user may see, in name order."""
    query = select(User).where(User.role == Role.CANDIDATE).order_by(User.name, User.id)
    if viewer.role == Role.ADMIN:
        return query
    if viewer.role == Role.LEADER and viewer.organisation_id is not None:
        return query.where(User.organisation_id == viewer.organisation_id)
    return query.where(User.id == viewer.id)
