"""Configuration is validated once, at start-up, with one clear line per problem."""

from __future__ import annotations

import stat

import pytest

from accredit import config
from accredit.config import ConfigError


def build(tmp_path, overrides=None, environ=None):
    return config.build(overrides or {}, environ or {}, tmp_path)


def test_defaults_use_sqlite_in_the_instance_folder(tmp_path):
    values = build(tmp_path)
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'accredit.sqlite'}"
    assert values["ENV"] == "development"


def test_development_key_is_generated_once_with_mode_0600(tmp_path):
    first = build(tmp_path)["SECRET_KEY"]
    second = build(tmp_path)["SECRET_KEY"]
    assert first == second
    assert len(first) >= 64
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError) as raised:
        build(tmp_path, environ={"ACCREDIT_ENV": "production"})
    assert raised.value.problems == [
        "ACCREDIT_SECRET_KEY: required in production",
        "ACCREDIT_AUDIT_KEY: required in production",
    ]
    assert not (tmp_path / "secret_key").exists()


def test_every_problem_is_reported_one_line_each(tmp_path):
    environ = {
        "ACCREDIT_ENV": "staging",
        "ACCREDIT_LOGIN_MAX_FAILURES": "0",
        "ACCREDIT_SESSION_HOURS": "twelve",
        "ACCREDIT_DATABASE_URL": "mysql://nope",
    }
    with pytest.raises(ConfigError) as raised:
        build(tmp_path, environ=environ)
    problems = raised.value.problems
    assert "ACCREDIT_SESSION_HOURS: 'twelve' is not a whole number" in problems
    assert any(line.startswith("ACCREDIT_ENV: must be one of") for line in problems)
    assert any(
        line.startswith("ACCREDIT_LOGIN_MAX_FAILURES: must be at least 1") for line in problems
    )
    assert any(line.startswith("ACCREDIT_DATABASE_URL:") for line in problems)
    assert all("\n" not in line for line in problems)


def test_short_production_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="at least 32 characters"):
        build(tmp_path, environ={"ACCREDIT_ENV": "production", "ACCREDIT_SECRET_KEY": "short"})


def test_environment_overrides_defaults(tmp_path):
    values = build(tmp_path, environ={"ACCREDIT_SUBMIT_GRACE_SECONDS": "45"})
    assert values["SUBMIT_GRACE_SECONDS"] == 45


def test_factory_refuses_an_impossible_configuration(tmp_path):
    from accredit import create_app

    with pytest.raises(ConfigError, match="ACCREDIT_MAX_CONTENT_LENGTH"):
        create_app({"ENV": "testing", "MAX_CONTENT_LENGTH": 10, "SECRET_KEY": "x" * 40})
