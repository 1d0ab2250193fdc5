"""Security headers on every response, and the client address behind proxies."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not (request.endpoint or "").endswith("static"):
        # Pages are per user: never let a browser or proxy keep one for someone else.
        headers["Cache-Control"] = "no-store"
    if current_app.config["ENV_NAME"] == "production":
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def client_address() -> str:
    """Return the client's address (ProxyFix has already applied trusted proxies)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    proxies = app.config["ACCREDIT_PROXY_COUNT"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.after_request(add_headers)
