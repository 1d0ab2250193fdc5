"""Signing in and out, throttling, session regeneration and password changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from accredit.models import AuditEvent, LoginAttempt, User
from tests.conftest import PASSWORD, Auth

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def audit_actions(db):
    return [
        event.action for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    ]


def test_login_page_is_styled_form_with_csrf_field(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert 'name="csrf_token" type="hidden"' in html
    assert "govuk/application.css" in html


@pytest.mark.parametrize(
    ("role", "home", "heading"),
    [
        ("candidate", "/candidate/", "My assessments"),
        ("assessor", "/assessor/", "Marking queue"),
        ("leader", "/leader/", "My organisation"),
        ("regulator", "/regulator/", "Exports"),
        ("admin", "/admin/", "Banks and users"),
    ],
)
def test_each_role_lands_on_its_home(client, auth, make_user, role, home, heading):
    user = make_user(role)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    page = client.get(home)
    assert page.status_code == 200
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in page.get_data(as_text=True)


def test_email_is_case_insensitive(client, auth, make_user):
    make_user("assessor", email="mixed@example.org")
    assert auth.login("MIXED@Example.ORG").status_code == 302


def test_wrong_password_is_refused_recorded_and_audited(db, client, auth, make_user):
    user = make_user("candidate")
    response = auth.login(user.email, "not-the-password")
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    assert "auth.login_failed" in audit_actions(db)


def test_unknown_email_gets_the_same_message(client, auth):
    response = auth.login("nobody@example.org", "whatever-password")
    assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_six_wrong_passwords_throttle_even_the_right_one_until_the_lock_passes(
    db, client, auth, make_user
):
    user = make_user("candidate")
    with time_machine.travel(T0, tick=False) as traveller:
        for attempt in range(5):
            traveller.shift(timedelta(seconds=10))
            response = auth.login(user.email, f"wrong-password-{attempt}")
            assert response.status_code == 200
        assert "Sign in is now paused until" in response.get_data(as_text=True)

        traveller.shift(timedelta(seconds=10))
        sixth = auth.login(user.email, "wrong-password-6")
        assert sixth.status_code == 429
        assert "Too many failed sign-in attempts" in sixth.get_data(as_text=True)

        traveller.shift(timedelta(seconds=10))
        right = auth.login(user.email, PASSWORD)
        assert right.status_code == 429, "the right password must not get through a lock"
        assert "signing in is paused until" in right.get_data(as_text=True)
        assert client.get("/candidate/").status_code == 302

        actions = audit_actions(db)
        assert actions.count("auth.locked") == 1
        assert actions.count("auth.login_throttled") == 2

        traveller.shift(timedelta(minutes=15))
        assert auth.login(user.email, PASSWORD).status_code == 302
    assert "auth.login_succeeded" in audit_actions(db)


def test_one_address_guessing_many_accounts_is_throttled(app, client, auth, make_user):
    app.config["ACCREDIT_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    victim = make_user("assessor")
    with time_machine.travel(T0, tick=False):
        for number in range(3):
            auth.login(f"guess{number}@example.org", "wrong-password-here")
        assert auth.login(victim.email, PASSWORD).status_code == 429


def test_deactivated_account_cannot_sign_in(client, auth, make_user):
    user = make_user("assessor", active=False)
    response = auth.login(user.email)
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)


def test_session_is_regenerated_at_login(client, auth, make_user):
    user = make_user("regulator")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:1"


def test_next_parameter_only_goes_to_local_paths(client, make_user):
    user = make_user("admin")
    for target, expected in [("/admin/users", "/admin/users"), ("//evil.example", "/admin/")]:
        response = client.post(
            f"/login?next={target}", data={"email": user.email, "password": PASSWORD}
        )
        assert response.headers["Location"] == expected
        client.post("/logout")


def test_logout_ends_the_session(client, auth, make_user):
    user = make_user("assessor")
    auth.login(user.email)
    assert client.get("/assessor/").status_code == 200
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/assessor/").status_code == 302


def test_change_password_applies_policy_and_ends_other_sessions(app, db, client, auth, make_user):
    user = make_user("assessor")
    other = app.test_client()
    Auth(other).login(user.email)
    auth.login(user.email)

    weak = client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "password1234", "confirm": "password1234"},
    )
    assert "Password is too common" in weak.get_data(as_text=True)

    new = "tidal-saffron-keystone"
    done = client.post("/account/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert done.status_code == 302
    assert client.get("/assessor/").status_code == 200, "this session stays signed in"
    assert other.get("/assessor/").status_code == 302, "other sessions are signed out"

    client.post("/logout")
    assert Auth(client).login(user.email, new).status_code == 302
    assert "user.password_changed" in audit_actions(db)


def test_change_password_needs_the_current_one(client, auth, make_user):
    user = make_user("assessor")
    auth.login(user.email)
    response = client.post(
        "/account/password",
        data={
            "current": "wrong-password",
            "new": "tidal-saffron-keystone",
            "confirm": "tidal-saffron-keystone",
        },
    )
    assert "Your current password is not correct" in response.get_data(as_text=True)


def test_no_plaintext_password_is_stored_anywhere(db, client, auth, make_user, runner):
    secret = "plain-text-must-never-appear"
    make_user("admin", email="hash@example.org", password=secret)
    auth.login("hash@example.org", secret)
    auth.login("hash@example.org", secret + "-wrong")
    runner.invoke(args=["orgs", "add", "XYZ", "Test council"])
    runner.invoke(
        args=["users", "add", "cli@example.org", "--role", "assessor", "--password-stdin"],
        input=secret + "\n",
    )
    dump = []
    for table in User.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            dump.append(" ".join(str(value) for value in row))
    everything = "\n".join(dump)
    assert secret not in everything
    hashes = db.session.scalars(select(User.password_hash)).all()
    assert hashes
    assert all(value.startswith("$argon2id$") for value in hashes)
