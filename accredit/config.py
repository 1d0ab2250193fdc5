"""Configuration: defaults in code, overrides from ``ACCREDIT_*`` variables, one validation.

Every setting has a default here. The environment can override any of them as
``ACCREDIT_<NAME>``; tests pass a mapping instead. ``validate`` returns one
clear line per problem, and the factory refuses to start while there are any.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(Exception):
    """The configuration cannot run; ``problems`` holds one line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    """One configurable value: its default, how to read it from text, and its rule."""

    default: Any
    parse: Callable[[str], Any] = str
    check: Callable[[Any], str | None] | None = None
    help: str = ""


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{text!r} is not a yes/no value")


def _at_least(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}"

    return check


def _in_range(minimum: int, maximum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if minimum <= value <= maximum else f"must be from {minimum} to {maximum}"

    return check


def _share(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    return None if -1 <= value <= 1 else "must be from -1 to 1"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _database_url(value: Any) -> str | None:
    if not value:
        return None  # the factory fills in the SQLite default
    if not str(value).startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        return "must be a sqlite:// or postgresql+psycopg:// URL"
    return None


SETTINGS: dict[str, Setting] = {
    "ENV": Setting(
        "development", str, _one_of(*ENVIRONMENTS), "development, production or testing"
    ),
    "DATABASE_URL": Setting(
        "", str, _database_url, "SQLAlchemy URL; default SQLite at instance/accredit.sqlite"
    ),
    "SECRET_KEY": Setting("", str, None, "signs sessions and CSRF tokens; required in production"),
    "AUDIT_KEY": Setting(
        "", str, None, "keys the audit trail's MAC; required in production, never in the database"
    ),
    "EXPORT_DIR": Setting("", str, None, "where export ZIPs are kept; default instance/exports"),
    "RESEARCH_KEY": Setting(
        "", str, None, "keys research pseudonyms; default generated into instance/research_key"
    ),
    "AUDIT_CHECKPOINT_FILE": Setting(
        "", str, None, "append-only file of audit checkpoints; default in the instance folder"
    ),
    "MAX_CONTENT_LENGTH": Setting(
        2 * 1024 * 1024, int, _at_least(1024), "largest request body in bytes"
    ),
    "SESSION_HOURS": Setting(12, int, _at_least(1), "how long a sign-in lasts"),
    "LOGIN_MAX_FAILURES": Setting(
        5, int, _at_least(1), "failed sign-ins per account before it is locked"
    ),
    "LOGIN_MAX_FAILURES_PER_ADDRESS": Setting(
        20, int, _at_least(1), "failed sign-ins per client address before it is locked"
    ),
    "LOGIN_WINDOW_MINUTES": Setting(
        15, int, _at_least(1), "window for counting failures, and the lock's length"
    ),
    "PROXY_COUNT": Setting(
        0, int, _at_least(0), "trusted reverse proxies in front of the app (X-Forwarded-For)"
    ),
    # Covers requests already on their way at the deadline (network latency), not extra time.
    "SUBMIT_GRACE_SECONDS": Setting(
        10, int, _in_range(0, 60), "seconds after a deadline that in-flight saves are accepted"
    ),
    "PASSWORD_HASH_TIME_COST": Setting(3, int, _at_least(1), "argon2id passes"),
    "PASSWORD_HASH_MEMORY_KIB": Setting(65536, int, _at_least(8), "argon2id memory in KiB"),
    # Item analysis flags (docs/analysis.md): each a proportion or correlation.
    "FLAG_DISCRIMINATION_MIN": Setting(
        0.0, float, _share, "hard: corrected point-biserial below this"
    ),
    "FLAG_HARD_FACILITY_MAX": Setting(0.95, float, _share, "hard: facility above this"),
    "FLAG_HARD_FACILITY_MIN": Setting(0.10, float, _share, "hard: facility below this"),
    "FLAG_POINT_BISERIAL_MIN": Setting(
        0.20, float, _share, "soft: corrected point-biserial below this"
    ),
    "FLAG_FACILITY_MIN": Setting(0.30, float, _share, "soft: facility below this"),
    "FLAG_FACILITY_MAX": Setting(0.89, float, _share, "soft: facility above this"),
    "FLAG_DISTRACTOR_MIN_RATE": Setting(
        0.05, float, _share, "soft: a distractor chosen by fewer than this share"
    ),
    "FLAG_ALPHA_MIN": Setting(0.70, float, _share, "test: reliability below this"),
    "FLAG_MIN_CANDIDATES": Setting(
        30, int, _at_least(1), "an item seen by fewer candidates than this is not flagged"
    ),
    "ANALYSIS_INLINE_MAX": Setting(
        2000,
        int,
        _at_least(0),
        "a page analyses up to this many attempts itself; more wait for the worker",
    ),
}


def read_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Read ``ACCREDIT_*`` overrides, returning the values and any parse problems."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, setting in SETTINGS.items():
        raw = environ.get(f"ACCREDIT_{name}")
        if raw is None:
            continue
        try:
            values[name] = setting.parse(raw)
        except ValueError:
            kinds: dict[Any, str] = {int: "a whole number", float: "a number"}
            kind = kinds.get(setting.parse, "valid")
            problems.append(f"ACCREDIT_{name}: {raw!r} is not {kind}")
    return values, problems


def build(
    overrides: Mapping[str, Any], environ: Mapping[str, str], instance_path: Path
) -> dict[str, Any]:
    """Return the validated configuration, or raise ConfigError listing every problem."""
    config = {name: setting.default for name, setting in SETTINGS.items()}
    from_env, problems = read_environment(environ)
    config.update(from_env)
    config.update(overrides)
    problems += validate(config)
    if problems:
        raise ConfigError(problems)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'accredit.sqlite'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = development_secret(instance_path)
    return config


def validate(config: Mapping[str, Any]) -> list[str]:
    """Return one line per impossible or contradictory value."""
    problems = []
    for name, setting in SETTINGS.items():
        value = config.get(name)
        expected = type(setting.default)
        if expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"ACCREDIT_{name}: must be a whole number, not {value!r}")
            continue
        if expected is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"ACCREDIT_{name}: must be a number, not {value!r}")
            continue
        message = setting.check(value) if setting.check else None
        if message:
            problems.append(f"ACCREDIT_{name}: {message} (got {value!r})")
    if config.get("ENV") == "production":
        key = str(config.get("SECRET_KEY") or "")
        if not key:
            problems.append("ACCREDIT_SECRET_KEY: required in production")
        elif len(key) < 32:
            problems.append("ACCREDIT_SECRET_KEY: must be at least 32 characters in production")
        problems += _audit_key_problems(key, str(config.get("AUDIT_KEY") or ""))
        if str(config.get("DATABASE_URL") or "").startswith("sqlite:///:memory:"):
            problems.append("ACCREDIT_DATABASE_URL: an in-memory database cannot run production")
    return problems


def _audit_key_problems(secret_key: str, audit_key: str) -> list[str]:
    if not audit_key:
        return ["ACCREDIT_AUDIT_KEY: required in production"]
    if len(audit_key) < 32:
        return ["ACCREDIT_AUDIT_KEY: must be at least 32 characters in production"]
    if audit_key == secret_key:
        return ["ACCREDIT_AUDIT_KEY: must differ from the secret key"]
    return []


def development_secret(instance_path: Path, name: str = "secret_key") -> str:
    """Return the instance folder's generated key, creating it once with mode 0600."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        descriptor = os.open(path, flags, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another worker created it first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key
