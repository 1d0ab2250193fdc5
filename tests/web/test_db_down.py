"""When the database cannot be reached: a styled 503 page, JSON 503 on the API, never a bare 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import g

from accredit.extensions import db
from accredit.policy import signed_in
from tests.conftest import PASSWORD, Auth, make_app

UNREACHABLE = {
    # A port where nothing listens, and a file in a folder that does not exist.
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/accredit?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-folder/accredit/unreachable.sqlite",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down_app(request, tmp_path):
    app = make_app(UNREACHABLE[request.param], tmp_path / "instance", PROPAGATE_EXCEPTIONS=False)
    yield app
    with app.app_context():
        db.engine.dispose()


def signed_in_client(app):
    """A client holding a session cookie for user 1, as if signed in before the outage."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
        session["_fresh"] = True
    return client


def assert_styled_503(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.get_data(as_text=True)
    assert "Sorry, the service is unavailable" in body
    assert "govuk-heading-l" in body
    assert "govuk-footer" in body
    assert "Traceback" not in body


def test_signing_in_gives_a_styled_503(down_app):
    response = down_app.test_client().post(
        "/login", data={"email": "someone@example.org", "password": PASSWORD}
    )
    assert_styled_503(response)


def test_a_signed_in_page_gives_a_styled_503(down_app):
    assert_styled_503(signed_in_client(down_app).get("/candidate/"))


def test_the_api_gives_json_503_with_a_clear_code(down_app):
    response = signed_in_client(down_app).get("/api/v1/attempts/1")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"]["code"] == "database_unavailable"
    assert response.json["error"]["message"]


def test_the_health_check_reports_503(down_app):
    response = down_app.test_client().get("/healthz")
    assert response.status_code == 503


def test_pages_that_need_no_database_still_work(down_app):
    assert down_app.test_client().get("/login").status_code == 200


@pytest.fixture
def breaking_app(database_url, tmp_path):
    """An app whose database fails every statement once a view has raised."""
    app = make_app(database_url, tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    @signed_in
    def boom():
        g.database_gone = True
        raise RuntimeError("secret internal detail")

    with app.app_context():

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def refuse(*_args, **_kwargs):
            if g.get("database_gone"):
                raise sa.exc.OperationalError("SELECT", {}, Exception("the database has gone"))

    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_500_page_never_asks_the_database_for_the_user(breaking_app, make_user):
    user = make_user("assessor", name="Ada Assessor")
    client = breaking_app.test_client()
    Auth(client).login(user.email)
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500, body
    assert "Sorry, there is a problem with the service" in body
    assert "govuk-footer" in body
    assert "Ada Assessor" in body, "the signed-in bar comes from what was already loaded"
    assert "secret internal detail" not in body


@pytest.fixture
def counting_app(database_url, tmp_path):
    """An app that records the SQL each request runs."""
    app = make_app(database_url, tmp_path, PROPAGATE_EXCEPTIONS=False)
    app.statements = []
    with app.app_context():

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def record(_conn, _cursor, statement, *_args):
            app.statements.append(statement)

    yield app
    with app.app_context():
        db.engine.dispose()


def test_error_pages_for_a_signed_in_user_run_no_query_of_their_own(counting_app, make_user):
    client = counting_app.test_client()
    Auth(client).login(make_user("candidate").email)

    counting_app.statements.clear()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert counting_app.statements == [], "a 404 needs no database at all"

    counting_app.statements.clear()
    forbidden = client.get("/admin/")
    assert forbidden.status_code == 403
    assert "You do not have access to this page" in forbidden.get_data(as_text=True)
    loads = [sql for sql in counting_app.statements if "FROM users" in sql]
    assert len(loads) == 1, "only the sign-in check itself reads the user"
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in counting_app.statements)
