"""The individual history in a real browser: its charts named and described, no axe problems,
and nothing wider than a small screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.extensions import db
from accredit.models import User
from accredit.models.delivery import Attempt
from accredit.models.results import Result
from tests.browser.sitting_setup import (
    CANDIDATE,
    PASSWORD,
    axe_violations,
    describe,
    sign_in,
)
from tests.conftest import Auth, csrf_token
from tests.sitting import answer_for, write_tree


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def sit(app: Any, key: str) -> int:
    """Sit one of the mini assessments through the API, answering everything; its attempt id."""
    client = app.test_client()
    Auth(client).login(CANDIDATE, PASSWORD)
    headers = {"X-CSRFToken": csrf_token(client, "/candidate/")}
    body = client.post(f"/api/v1/assessments/{key}/attempts", headers=headers).json
    for item in body["items"]:
        client.put(
            f"/api/v1/attempts/{body['id']}/responses/{item['position']}",
            json={"answer": answer_for(item), "seq": 1}, headers=headers,
        )  # fmt: skip
    submitted = client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    return int(body["id"])


@pytest.fixture
def history(app: Any, runner: Any, tmp_path: Path) -> None:
    """Two released accreditation attempts a month apart, two practice attempts today (one
    still awaiting its result), for the demo candidate."""
    report = import_tree(write_tree(tmp_path))
    assert report.succeeded, report.lines()
    db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    person = db.session.scalar(select(User).filter_by(email=CANDIDATE))
    for key in ("mini-test", "mini-practice"):
        service.enrol(person, key, actor=None)
    db.session.commit()
    first = db.session.get_one(Attempt, sit(app, "mini-test"))
    # Sat 40 days ago, so the cool-off has passed for the second.
    for column in ("started_at", "deadline_at", "submitted_at"):
        setattr(first, column, getattr(first, column) - timedelta(days=40))
    db.session.commit()
    sit(app, "mini-test")
    sit(app, "mini-practice")
    waiting = sit(app, "mini-practice")
    db.session.scalar(select(Result).filter_by(attempt_id=waiting)).released_at = None
    db.session.commit()


def test_the_history_passes_axe_with_its_charts_named(history, app_server, page: Page):
    sign_in(page, app_server)
    page.goto(f"{app_server}/candidate/history")
    expect(page.get_by_role("heading", level=2, name="Accreditation tests")).to_be_visible()
    trend = page.get_by_role("img", name="Each statement across attempts: Assessment mini-test")
    expect(trend).to_be_visible()
    expect(page.get_by_role("img", name="Score against the pass mark")).to_have_count(3)
    expect(page.get_by_text("Awaiting result")).to_have_count(1)
    violations = axe_violations(page)
    assert not violations, describe(violations)
    assert page.console_problems == [], page.console_problems


def test_the_history_fits_a_small_screen(history, app_server, browser: Any):
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, locale="en-GB", timezone_id="Europe/London"
    )
    page = context.new_page()
    sign_in(page, app_server)
    page.goto(f"{app_server}/candidate/history")
    expect(page.get_by_role("heading", level=1)).to_have_text("My attempts")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, "wide tables scroll inside their own region, not the page"
    context.close()
