"""Error pages in the service's style, and JSON errors for the API. Never a stack trace.

An error page never touches the database: the request may have failed because the
database is unreachable, and asking it again for the signed-in user would fail too.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import inspect
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from accredit.errors import DomainError
from accredit.extensions import login_manager
from accredit.models import User
from accredit.web.boundary import rollback

MESSAGES = {
    400: (
        "There is a problem with your request",
        "The request could not be understood. Go back and try again.",
    ),
    401: ("Sign in to continue", "You need to sign in to use this part of the service."),
    403: (
        "You do not have access to this page",
        "Your account does not allow you to see this page. "
        "If you think it should, contact your administrator.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. "
        "If you pasted the web address, check you copied the entire address.",
    ),
    405: ("There is a problem with your request", "This page cannot be used in that way."),
    422: ("There is a problem with your answer", "Check your answer and try again."),
    409: (
        "This cannot be done now",
        "The page is out of date. Go back, reload the page and try again.",
    ),
    413: ("Your request is too large", "What you sent is larger than the service accepts."),
    429: ("Too many requests", "Wait a few minutes, then try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you saved before this error has been lost.",
    ),
    503: (
        "Sorry, the service is unavailable",
        "Try again in a few minutes. Nothing you saved before this error has been lost.",
    ),
}

CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "unprocessable",
    429: "too_many_requests",
    500: "server_error", 503: "database_unavailable",
}  # fmt: skip

# Seconds a client should wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class SignedIn:
    """What the layout shows of the signed-in user, copied so rendering needs no query."""

    id: int
    name: str
    role: str
    session_version: int

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


def _detach_current_user() -> None:
    """Replace the request's user with a copy of what is already loaded, or with nobody.

    Rolling back expires every loaded row, so the layout would otherwise query the
    database for the user's name; and a user that never loaded would be loaded again.
    """
    user = g.get("_login_user")
    copy = None
    if isinstance(user, User):
        loaded = inspect(user).dict
        if all(name in loaded for name in ("id", "name", "role", "session_version")):
            copy = SignedIn(loaded["id"], loaded["name"], loaded["role"], loaded["session_version"])
    g._login_user = copy or login_manager.anonymous_user()


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(  # type: ignore[no-untyped-def]
    status: int, code: str | None = None, message: str | None = None
):
    _detach_current_user()
    try:
        rollback()
    except SQLAlchemyError:  # the connection is gone: there is nothing to undo
        current_app.logger.warning("rollback failed while handling an error")
    title, default_message = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    message = message or default_message
    if wants_json():
        body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
        response = jsonify(body)
    else:
        html = render_template("errors/error.html", title=title, message=message, status=status)
        response = current_app.response_class(html)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if status == 401 and wants_json():
        response.headers["WWW-Authenticate"] = 'Bearer realm="accredit"'
    return response


def database_unavailable(error: BaseException) -> bool:
    """Say whether an error means the database cannot be reached (or is too busy) just now."""
    if isinstance(error, OperationalError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def handle_http(error: HTTPException):  # type: ignore[no-untyped-def]
    original = getattr(error, "original_exception", None)
    if isinstance(error, InternalServerError) and original is not None:
        # An error outside the view (committing, say) arrives wrapped in a 500.
        return handle_unexpected(original)
    return render_error(error.code or 500)


def handle_csrf(error: CSRFError):  # type: ignore[no-untyped-def]
    return render_error(
        400,
        "csrf_failed",
        "This form could not be accepted because it was not sent from this service or has expired. "
        "Nothing was changed. Go back, reload the page and try again.",
    )


def handle_domain(error: DomainError):  # type: ignore[no-untyped-def]
    # A refused request changes nothing: whatever it wrote before the refusal is undone.
    # (Facts that must outlive a refusal, such as a failed sign-in, are recorded by
    # views that handle the refusal themselves and return normally.)
    return render_error(error.status, error.code, error.message)


def handle_unexpected(error: BaseException):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):
        return handle_http(error)
    if database_unavailable(error):
        # The driver's own message: the statement's parameters stay out of the log.
        current_app.logger.error("database unavailable: %s", getattr(error, "orig", error))
        return render_error(503)
    if isinstance(error, DataError):
        # The database refused a value the request carried (a NUL in a filter, say):
        # the request is at fault, and nothing was changed.
        current_app.logger.warning("database refused a value: %s", getattr(error, "orig", error))
        return render_error(400)
    if isinstance(error, IntegrityError):
        # Another request recorded the same fact first (two moderators deciding one
        # result at once, say): this one changed nothing.
        current_app.logger.warning("refused by a database constraint: %s", error.orig)
        return render_error(
            409, "conflict",
            "Someone else changed this at the same moment, so nothing was changed. "
            "Reload the page to see what was recorded.",
        )  # fmt: skip
    current_app.logger.exception("unhandled error", exc_info=error)
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
