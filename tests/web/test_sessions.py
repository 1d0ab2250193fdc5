"""Sessions end on the server: at sign-out, and when an administrator ends them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accredit.accounts import service as accounts
from accredit.models import AuditEvent, User
from tests.conftest import Auth, csrf_token

COOKIE = "accredit_session"


def copied_cookie(client):
    return client.get_cookie(COOKIE).value


def client_with(app, cookie):
    """A second browser holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def actions(db):
    return [
        event.action for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, db, client, auth, make_user):
    user = make_user("candidate")
    auth.login(user.email)
    cookie = copied_cookie(client)
    assert client_with(app, cookie).get("/candidate/").status_code == 200, "the copy works at first"

    assert auth.logout().status_code == 302

    thief = client_with(app, cookie)
    page = thief.get("/candidate/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")
    api = thief.get("/api/v1/attempts/1")
    assert api.status_code == 401
    assert api.json["error"]["code"] == "unauthenticated"
    assert "auth.logout" in actions(db)


def test_signing_out_ends_the_accounts_other_sessions_too(app, client, auth, make_user):
    user = make_user("assessor")
    other = app.test_client()
    Auth(other).login(user.email)
    auth.login(user.email)
    auth.logout()
    assert other.get("/assessor/").status_code == 302
    assert Auth(client).login(user.email).status_code == 302, "signing in again works"
    assert client.get("/assessor/").status_code == 200


def test_end_sessions_bumps_the_version_and_is_audited(db, make_user):
    admin, user = make_user("admin"), make_user("candidate")
    before = user.session_version
    accounts.end_sessions(user, actor=admin)
    db.session.commit()
    assert db.session.get(User, user.id).session_version == before + 1
    event = db.session.scalar(select(AuditEvent).filter_by(action="user.sessions_ended"))
    assert (event.actor_id, event.subject_id) == (admin.id, str(user.id))


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user("admin")
    client = app.test_client()
    Auth(client).login(admin.email)
    return client


def test_an_admin_ends_all_of_a_users_sessions(app, db, admin_client, make_user):
    user = make_user("candidate")
    first, second = app.test_client(), app.test_client()
    Auth(first).login(user.email)
    Auth(second).login(user.email)

    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{user.id}/sessions/end"' in page
    done = admin_client.post(f"/admin/users/{user.id}/sessions/end")
    assert done.status_code == 302
    assert done.headers["Location"] == "/admin/users"
    assert "has been signed out everywhere" in admin_client.get("/admin/users").get_data(
        as_text=True
    )

    assert first.get("/candidate/").status_code == 302
    assert second.get("/candidate/").status_code == 302
    assert admin_client.get("/admin/").status_code == 200, "the administrator stays signed in"
    assert "user.sessions_ended" in actions(db)


def test_ending_sessions_needs_a_post_an_admin_and_a_real_user(app, admin_client, make_user):
    user = make_user("candidate")
    assert admin_client.get(f"/admin/users/{user.id}/sessions/end").status_code == 405
    assert admin_client.post("/admin/users/999999/sessions/end").status_code == 404
    assert admin_client.post(f"/admin/users/{2**63}/sessions/end").status_code == 404
    candidate = app.test_client()
    Auth(candidate).login(user.email)
    assert candidate.post(f"/admin/users/{user.id}/sessions/end").status_code == 403


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_ending_sessions_needs_the_csrf_token(self, app, db, admin_client, make_user):
        user = make_user("candidate")
        version = user.session_version
        refused = admin_client.post(f"/admin/users/{user.id}/sessions/end")
        assert refused.status_code == 400
        db.session.expire_all()
        assert db.session.get(User, user.id).session_version == version
        token = csrf_token(admin_client, "/admin/users")
        done = admin_client.post(f"/admin/users/{user.id}/sessions/end", data={"csrf_token": token})
        assert done.status_code == 302
        db.session.expire_all()
        assert db.session.get(User, user.id).session_version == version + 1
