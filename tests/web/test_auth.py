"""Signing in and out, throttling, session regeneration and password changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from sqlalchemy import func, select

from accredit.models import AuditEvent, LoginAttempt, User
from accredit.web.auth import safe_next
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
        ("leader", "/leader/", "Practice knowledge"),
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


OFF_SITE = [
    "/%09/evil.com", "/\t/evil.com", "/%5Cevil.com", "%2F%2Fevil.com", "///evil.com",
    "/\\evil.com", "\\\\evil.com", "https://evil.com", "//evil.com", "http:evil.com",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,hi", "/%2F%2Fevil.com",
    "/%252F%252Fevil.com", "/%25%30%39/evil.com", "/%0d%0aSet-Cookie:x=1", "/\r\n/evil.com",
    "/admin/\r\nLocation: https://evil.com", "\t//evil.com", " //evil.com", "/\x00/evil.com",
    "/%E3%80%82/x/%5C%5Cevil.com", "",
]  # fmt: skip


@pytest.mark.parametrize("target", OFF_SITE)
def test_next_never_leaves_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target", ["/admin/users", "/admin/items?bank=mini&page=2", "/candidate/attempts/3/items/1"]
)
def test_next_keeps_paths_on_this_site(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", OFF_SITE)
def test_signing_in_with_an_off_site_next_goes_home(client, make_user, target):
    user = make_user("admin")
    response = client.post(
        "/login?" + urlencode({"next": target}), data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    "email",
    [
        "a" * 65 + "@example.org",
        "x" * 400,
        "not-an-email",
        "   ",
        "nul\x00byte@example.org",
        "quote'\"<script>@example.org",
    ],
)
def test_any_failed_sign_in_is_recorded_and_counts_towards_the_address_lock(
    app, db, client, auth, make_user, email
):
    app.config["ACCREDIT_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    victim = make_user("assessor")
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            response = auth.login(email, "wrong-password-here")
            assert response.status_code == 200
            assert "Enter a correct email address and password" in response.get_data(as_text=True)
        assert auth.login(victim.email, PASSWORD).status_code == 429
    failed = db.session.scalars(select(LoginAttempt).filter_by(outcome="failed")).all()
    assert len(failed) == 3
    assert all(len(row.email) <= 320 and "\x00" not in row.email for row in failed)
    events = db.session.scalars(select(AuditEvent).filter_by(action="auth.login_failed")).all()
    assert len(events) == 3
    assert all(len(event.subject_id) <= 64 for event in events)


def test_an_email_that_is_not_utf8_is_a_failed_sign_in(db, client, make_user):
    response = client.post(
        "/login",
        data=b"email=bad%ED%B2%80byte%40example.org&password=wrong-password-here",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.get_data(as_text=True)
    assert db.session.scalar(select(LoginAttempt.outcome)) == "failed"


def test_parallel_wrong_passwords_check_at_most_the_limit(app, db, make_user, monkeypatch):
    """24 wrong passwords at once: the lock holds, so only the first 5 are ever checked."""
    user = make_user("candidate")
    hasher = app.extensions["accredit.hasher"]
    checked, counting = [], threading.Lock()
    real_verify = hasher.verify

    def counting_verify(password_hash, password):
        if password_hash == user_hash:
            with counting:
                checked.append(password)
        return real_verify(password_hash, password)

    user_hash = user.password_hash
    monkeypatch.setattr(hasher, "verify", counting_verify)
    clients = [app.test_client() for _ in range(24)]
    barrier, statuses = threading.Barrier(24), [None] * 24

    def guess(index):
        barrier.wait()
        statuses[index] = Auth(clients[index]).login(user.email, f"wrong-guess-{index}").status_code

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(checked) <= 5, f"{len(checked)} passwords were checked past the limit of 5"
    outcomes = dict(
        db.session.execute(
            select(LoginAttempt.outcome, func.count()).group_by(LoginAttempt.outcome)
        ).all()
    )
    assert outcomes == {"failed": 5, "throttled": 19}
    assert sorted(statuses) == [200] * 5 + [429] * 19


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
