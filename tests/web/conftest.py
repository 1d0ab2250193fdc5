"""Fixtures for the sitting: the mini banks imported, candidates enrolled, attempts started."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.models import User
from accredit.models.delivery import Enrolment
from tests.conftest import Auth, csrf_token
from tests.sitting import write_tree


@pytest.fixture
def catalogue(db: Any, tmp_path: Any) -> Any:
    """The mini question banks, imported."""
    report = import_tree(write_tree(tmp_path))
    db.session.commit()
    assert report.succeeded, report.run.errors
    return report


@pytest.fixture
def enrol(db: Any, catalogue: Any) -> Callable[..., Enrolment]:
    def make(candidate: User, key: str = "mini-test", **adjustment: Any) -> Enrolment:
        enrolment = service.enrol(candidate, key, actor=None)
        if adjustment:
            service.set_adjustment(enrolment, actor=None, **adjustment)
        db.session.commit()
        return enrolment

    return make


@pytest.fixture
def candidate(make_user: Callable[..., User]) -> User:
    return make_user("candidate")


@pytest.fixture
def sitter(app: Any, candidate: User, enrol: Callable[..., Enrolment]) -> Any:
    """A signed-in, enrolled candidate's client, with the CSRF token for API writes."""
    enrol(candidate)
    client = app.test_client()
    client.email = candidate.email
    return relogin(client)


def relogin(client: Any) -> Any:
    """Sign in (again) and take the new session's CSRF token.

    Tokens and sessions carry signed timestamps, so after moving the clock a
    candidate signs in again, just as a real one would the next day.
    """
    Auth(client).login(client.email)
    client.token = csrf_token(client, "/candidate/")
    return client
