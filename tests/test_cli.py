"""The command-line tools."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from accredit.models import Organisation, User


def test_orgs_add_and_users_add_with_password_on_stdin(db, runner):
    result = runner.invoke(args=["orgs", "add", "lbh", "London Borough of Hackney"])
    assert result.exit_code == 0, result.output
    assert "Added organisation LBH" in result.output
    result = runner.invoke(
        args=["users", "add", "New.Person@Example.org", "--role", "candidate", "--org", "LBH",
              "--name", "New Person", "--swe", "sw123456", "--password-stdin"],
        input="tidal-saffron-keystone\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).filter_by(email="new.person@example.org"))
    assert user.organisation.code == "LBH"
    assert user.swe_registration_number == "SW123456"
    listing = runner.invoke(args=["users", "list"])
    assert "new.person@example.org" in listing.output


def test_users_add_explains_every_refusal_without_a_traceback(db, runner):
    runner.invoke(args=["orgs", "add", "LBH", "Hackney"])
    cases = [
        (["x@example.org", "--role", "candidate"], "must belong to an organisation"),
        (
            ["x@example.org", "--role", "candidate", "--org", "NOPE"],
            "No organisation with code NOPE",
        ),
        (["not-an-email", "--role", "assessor"], "Enter a valid email address"),
        (["x@example.org", "--role", "assessor"], "Password is too common"),
    ]
    for arguments, message in cases:
        password = "password1234" if "too common" in message else "tidal-saffron-keystone"
        result = runner.invoke(
            args=["users", "add", *arguments, "--password-stdin"], input=password
        )
        assert result.exit_code == 1, arguments
        assert message in result.output
        assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_duplicate_email_is_refused(runner):
    for expected in (0, 1):
        result = runner.invoke(
            args=["users", "add", "dup@example.org", "--role", "assessor", "--password-stdin"],
            input="tidal-saffron-keystone\n",
        )
        assert result.exit_code == expected
    assert "already exists" in result.output


def test_demo_is_idempotent_and_prints_credentials(db, runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "candidate@example.org" in first.output
    assert "brisk-harbour-lantern" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert "already existed" in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 11
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 2
    roles = Counter(db.session.scalars(select(User.role)))
    assert set(roles) == {"candidate", "assessor", "leader", "regulator", "admin"}
    assert roles["assessor"] >= 3, "enough assessors to mark blind, twice, and a third time"
    leads = db.session.scalars(select(User.email).where(User.lead_assessor)).all()
    assert leads == ["assessor@example.org"]
    assert "Lead assessor" in first.output


class _Stopped(Exception):
    """Ends a sweep that would otherwise keep running."""


def test_sweep_every_n_seconds_keeps_sweeping_quietly_until_stopped(db, runner, monkeypatch):
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            raise _Stopped

    monkeypatch.setattr("accredit.cli.time.sleep", sleep)
    result = runner.invoke(args=["attempts", "sweep", "--every", "30"])
    assert isinstance(result.exception, _Stopped)
    assert pauses == [30, 30, 30], "it swept three times, pausing between each"
    assert "Checked" not in result.output, "a pass that closes nothing says nothing"
    assert "unchanged" not in result.output


def test_sweep_refuses_to_run_more_often_than_every_five_seconds(runner):
    result = runner.invoke(args=["attempts", "sweep", "--every", "1"])
    assert result.exit_code == 2
    assert "1 is not in the range x>=5" in result.output


def test_a_repeating_sweep_reports_a_failed_pass_and_goes_on(db, runner, monkeypatch):
    from accredit.delivery import service

    real, passes, pauses = service.sweep, [], []

    def flaky(*args, **kwargs):
        passes.append(1)
        if len(passes) == 1:
            raise RuntimeError("the database is restarting")
        return real(*args, **kwargs)

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:
            raise _Stopped

    monkeypatch.setattr(service, "sweep", flaky)
    monkeypatch.setattr("accredit.cli.time.sleep", sleep)
    result = runner.invoke(args=["attempts", "sweep", "--every", "5"])
    assert isinstance(result.exception, _Stopped)
    assert len(passes) == 2, "the pass after the failure ran"
    assert "This sweep failed and will be tried again: the database is restarting" in result.output
