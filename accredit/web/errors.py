"""Error pages in the service's style, and JSON errors for the API. Never a stack trace."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from accredit.errors import DomainError
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
}

CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "unprocessable",
    429: "too_many_requests",
    500: "server_error",
}  # fmt: skip


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(  # type: ignore[no-untyped-def]
    status: int, code: str | None = None, message: str | None = None, *, keep: bool = False
):
    if not keep:
        rollback()
    title, default_message = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    message = message or default_message
    if wants_json():
        body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
        return jsonify(body), status
    return render_template("errors/error.html", title=title, message=message, status=status), status


def handle_http(error: HTTPException):  # type: ignore[no-untyped-def]
    status = error.code or 500
    return render_error(status)


def handle_csrf(error: CSRFError):  # type: ignore[no-untyped-def]
    return render_error(
        400,
        "csrf_failed",
        "This form could not be accepted because it was not sent from this service or has expired. "
        "Nothing was changed. Go back, reload the page and try again.",
    )


def handle_domain(error: DomainError):  # type: ignore[no-untyped-def]
    # Services refuse before they change anything, so what they did write first is a
    # deliberate fact (an expired attempt closed, a failed sign-in): keep it.
    return render_error(error.status, error.code, error.message, keep=True)


def handle_unexpected(error: Exception):  # type: ignore[no-untyped-def]
    if isinstance(error, HTTPException):
        return handle_http(error)
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=error)
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
