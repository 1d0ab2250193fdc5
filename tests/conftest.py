"""Fixtures in layers: a migrated database per run, then ``app``, ``db``, ``client`` and factories.

The suite runs on SQLite by default. With ``ACCREDIT_TEST_DATABASE_URL`` set to a
PostgreSQL server it creates a throwaway database there, so the same tests prove
both engines.
"""

from __future__ import annotations

import contextvars
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient as BaseClient
from sqlalchemy.engine import make_url

from accredit import create_app
from accredit.extensions import db as _db
from accredit.jobs.queue import huey
from accredit.models import AuditChainHead, Base, Organisation, User
from accredit.models.audit import GENESIS_HASH

PASSWORD = "correct-horse-battery-staple"
SECRET = "test-secret-key-that-is-long-enough-for-production"


def _create_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create a uniquely named database on the server and return its URL and a dropper."""
    url = make_url(server_url)
    name = f"accredit_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def make_test_database(directory: Path) -> tuple[str, Callable[[], None]]:
    server = os.environ.get("ACCREDIT_TEST_DATABASE_URL")
    if server:
        return _create_postgres_database(server)
    return f"sqlite:///{directory / 'test.sqlite'}", lambda: None


class FlaskClient(BaseClient):
    """A test client whose requests each get a fresh app context, as in production.

    Tests run inside an app context of their own; without this, Flask would reuse
    it for every request, sharing ``g`` and the database session between requests
    and between clients.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(database_url: str, instance_path: Path, **overrides: Any) -> Flask:
    config = {
        "ENV": "testing",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 8,
        "WTF_CSRF_ENABLED": False,
        **overrides,
    }
    app = create_app(config)
    app.instance_path = str(instance_path)
    app.test_client_class = FlaskClient
    return app


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that lives for the whole run."""
    directory = tmp_path_factory.mktemp("db")
    url, drop = make_test_database(directory)
    app = make_app(url, directory)
    migrate(app)
    with app.app_context():
        _db.engine.dispose()
    yield url
    drop()


def empty_database() -> None:
    """Delete every row, children first, and restart the audit chain."""
    if _db.engine.dialect.name == "postgresql":
        # The audit trail's triggers refuse deletes unless its owner declares a purge.
        _db.session.execute(sa.text("SET LOCAL accredit.allow_audit_purge = 'on'"))
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != AuditChainHead.__tablename__:
            _db.session.execute(table.delete())
    _db.session.execute(
        sa.update(AuditChainHead)
        .values(seq=0, last_hash=GENESIS_HASH)
        .where(AuditChainHead.id == 1)
    )
    _db.session.commit()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra configuration for one test's app; override the fixture to change it."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path / "instance", **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        empty_database()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def make_org(db: Any) -> Callable[..., Organisation]:
    counter = iter(range(1, 10_000))

    def make(code: str | None = None, name: str | None = None) -> Organisation:
        number = next(counter)
        organisation = Organisation(code=code or f"ORG{number}", name=name or f"Council {number}")
        db.session.add(organisation)
        db.session.commit()
        return organisation

    return make


@pytest.fixture
def make_user(db: Any, app: Flask, make_org: Callable[..., Organisation]) -> Callable[..., User]:
    counter = iter(range(1, 10_000))
    hasher = app.extensions["accredit.hasher"]

    def make(
        role: str = "candidate",
        *,
        email: str | None = None,
        organisation: Organisation | None = None,
        password: str = PASSWORD,
        active: bool = True,
        name: str | None = None,
    ) -> User:
        number = next(counter)
        if organisation is None and role in ("candidate", "leader"):
            organisation = make_org()
        user = User(
            email=email or f"{role}{number}@example.org",
            name=name or f"{role.title()} {number}",
            role=role,
            organisation=organisation,
            password_hash=hasher.hash(password),
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


class Auth:
    """Sign a test client in and out through the real form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        token = csrf_token(self.client, "/login")
        data = {"email": email, "password": password}
        if token:
            data["csrf_token"] = token
        return self.client.post("/login", data=data)

    def logout(self) -> Any:
        return self.client.post("/logout")


def csrf_token(client: FlaskClient, path: str) -> str | None:
    """Return the CSRF token of the form on a page, if it has one."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else None


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture(autouse=True, scope="session")
def jobs_run_at_once() -> None:
    """Background tasks run in process, when their transaction commits, as a worker would."""
    huey.immediate = True
