"""The application factory: configuration, extensions, templates and the web layer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug import routing

from accredit import config as config_module

PACKAGE_DIR = Path(__file__).resolve().parent

# PostgreSQL's INTEGER, the type of every id and position: a larger number in a
# route can name nothing, so it is a 404 rather than an out-of-range error.
DATABASE_INT_MAX = 2**31 - 1


def templates_dir() -> Path:
    """Return the templates folder: inside the installed package, or at the repository root."""
    packaged = PACKAGE_DIR / "templates"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "templates"


def digits_up_to(limit: int) -> str:
    """Return a regular expression for the decimal numbers from 0 to limit, ASCII digits only."""
    text = str(limit)
    parts = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for index, digit in enumerate(text):
        lowest = 1 if index == 0 else 0
        if int(digit) > lowest:  # the same start, a smaller digit here, then any digits
            rest = len(text) - index - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            parts.append(f"{text[:index]}[{lowest}-{int(digit) - 1}]{tail}")
    return "|".join([*parts, text])


class IntegerConverter(routing.IntegerConverter):
    """Werkzeug's ``<int:...>``, for ids and positions: ASCII digits within the database's range.

    The range is in the pattern itself, so a larger number matches no route at all:
    a 404 whatever the method (a converter that refused after matching would make
    Werkzeug answer 405 for a path that another method's route also matches).
    """

    regex = digits_up_to(DATABASE_INT_MAX)

    def __init__(self, map: routing.Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DATABASE_INT_MAX)
        super().__init__(map, *args, **kwargs)


class TextConverter(routing.UnicodeConverter):
    """Werkzeug's default ``<name>`` segment, without control characters.

    An id with a NUL in it can never name anything, and PostgreSQL refuses to
    compare text with one: it matches no route, so it is a 404.
    """

    def __init__(self, map: routing.Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]", 1)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the app; refuse to start with an impossible configuration."""
    app = Flask("accredit", instance_relative_config=True, template_folder=str(templates_dir()))
    # Before any route exists, so every <int:> route is bounded.
    app.url_map.converters["int"] = IntegerConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    overrides = dict(test_config or {})
    settings = {k: overrides.pop(k) for k in list(overrides) if k in config_module.SETTINGS}
    values = config_module.build(settings, os.environ, Path(app.instance_path))
    app.config.update(_flask_config(values))
    app.config.update(overrides)

    _init_templates(app)
    _init_extensions(app)

    from accredit import cli, policy, web

    policy.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app


def _flask_config(values: Mapping[str, Any]) -> dict[str, Any]:
    production = values["ENV"] == "production"
    url = values["DATABASE_URL"]
    engine_options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}}
    lifetime = timedelta(hours=values["SESSION_HOURS"])
    return {
        **{f"ACCREDIT_{name}": value for name, value in values.items()},
        "ENV_NAME": values["ENV"],
        "TESTING": values["ENV"] == "testing",
        "SECRET_KEY": values["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "MAX_CONTENT_LENGTH": values["MAX_CONTENT_LENGTH"],
        "PERMANENT_SESSION_LIFETIME": lifetime,
        "SESSION_COOKIE_NAME": "accredit_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # A CSRF token lives as long as the sign-in, so a long sitting never loses a save to it.
        "WTF_CSRF_TIME_LIMIT": int(lifetime.total_seconds()),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }


def _init_templates(app: Flask) -> None:
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(templates_dir())),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    from govuk_frontend_wtf.main import WTFormsHelpers

    WTFormsHelpers(app)


def _init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from accredit import models
    from accredit.accounts.passwords import Hasher
    from accredit.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue"
    login_manager.login_message_category = "info"

    def load_user(identifier: str) -> models.User | None:
        user_id, _, version = identifier.partition(":")
        if not _is_count(user_id) or not _is_count(version):
            return None
        user = db.session.get(models.User, int(user_id))
        # Signing out, or an administrator ending sessions, bumps the version and so
        # refuses every cookie issued before it.
        if user is None or not user.active or user.session_version != int(version):
            return None
        return user

    login_manager.user_loader(load_user)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", _sqlite_savepoint_inside_a_transaction)

    app.extensions["accredit.hasher"] = Hasher(
        time_cost=app.config["ACCREDIT_PASSWORD_HASH_TIME_COST"],
        memory_kib=app.config["ACCREDIT_PASSWORD_HASH_MEMORY_KIB"],
    )


def _is_count(text: str) -> bool:
    """Say whether text is a whole number the database can hold (ASCII digits: not '²')."""
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= DATABASE_INT_MAX


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Turn on what SQLite leaves off: foreign keys, WAL for concurrent readers, a busy wait."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def _sqlite_savepoint_inside_a_transaction(connection: Any, _name: str) -> None:
    """Open the transaction before a savepoint if nothing has written yet.

    Python's sqlite3 driver begins a transaction only before a write, so a SAVEPOINT
    issued first would start a transaction of its own, and releasing it would commit
    everything at once: a savepoint must nest inside the request's transaction.
    ``IMMEDIATE`` takes the write lock now, waiting its turn, as the savepoint is
    there to write.
    """
    driver = connection.connection.dbapi_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")
