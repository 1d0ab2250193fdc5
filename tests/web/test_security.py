"""Security headers, cookies, request limits and error pages."""

from __future__ import annotations

import pytest

from accredit.policy import public
from tests.conftest import make_app


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script(client, auth, make_user):
    user = make_user("admin")
    auth.login(user.email)
    for url in ("/login", "/admin/", "/admin/users", "/accessibility", "/no-such-page"):
        html = client.get(url).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert "src=" in tag, f"inline script on {url}"
        assert " style=" not in html, f"inline style on {url}"
        assert "onclick" not in html


def test_session_cookie_flags_in_development(client, auth, make_user):
    user = make_user("assessor")
    response = auth.login(user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_cookies_are_secure_in_production(database_url, tmp_path):
    app = make_app(database_url, tmp_path, ENV="production", AUDIT_KEY="a" * 32)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/login")
    assert "Strict-Transport-Security" in response.headers


def test_request_body_size_is_limited(client, app):
    assert app.config["MAX_CONTENT_LENGTH"] > 0
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/login", data={"email": too_big})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


@pytest.fixture
def failing_app(database_url, tmp_path):
    app = make_app(database_url, tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    @public
    def boom():
        raise RuntimeError("secret internal detail")

    @app.route("/api/v1/boom")
    @public
    def api_boom():
        raise RuntimeError("secret internal detail")

    return app


def test_500_page_is_styled_and_shows_no_trace(failing_app):
    response = failing_app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert "govuk-heading-l" in body
    assert "Traceback" not in body
    assert "secret internal detail" not in body


def test_api_errors_are_json(failing_app):
    client = failing_app.test_client()
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": "server_error", "message": response.json["error"]["message"]}
    }
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [("/no-such-page", 404, "Page not found"), ("/logout", 405, "cannot be used in that way")],
)
def test_error_pages_in_service_style(client, url, status, text):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert text in body
    assert "govuk-footer" in body


def test_400_and_403_pages(client, auth, make_user):
    user = make_user("candidate")
    auth.login(user.email)
    forbidden = client.get("/admin/")
    assert forbidden.status_code == 403
    assert "You do not have access to this page" in forbidden.get_data(as_text=True)
