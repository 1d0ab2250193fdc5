"""CSRF protection is really enforced, with the app's real settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accredit.models import LoginAttempt, User
from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_login_post_without_token_is_refused_and_changes_nothing(db, client, make_user):
    user = make_user("candidate")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "not sent from this service" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_password_change_without_token_changes_nothing(db, client, make_user):
    user = make_user("assessor")
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    before = db.session.scalar(select(User.password_hash).filter_by(id=user.id))
    response = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "tidal-saffron-keystone",
            "confirm": "tidal-saffron-keystone",
        },
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(User.password_hash).filter_by(id=user.id)) == before


def test_a_forged_token_is_refused(client, make_user):
    user = make_user("candidate")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged.token"}
    )
    assert response.status_code == 400


def test_token_in_x_csrftoken_header_is_accepted_for_scripted_writes(client, make_user):
    user = make_user("assessor")
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    token = csrf_token(client, "/assessor/")  # signing in starts a new session and token
    refused = client.post("/logout")
    assert refused.status_code == 400
    accepted = client.post("/logout", headers={"X-CSRFToken": token})
    assert accepted.status_code == 302
