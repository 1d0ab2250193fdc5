"""A released result and the history in a real browser: accessible, and printable as a record."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from accredit.extensions import db
from accredit.marking import service as marking
from accredit.models import User
from tests.browser.sitting_setup import (
    answer_current,
    axe_violations,
    describe,
    load_sitting_data,
    sign_in,
    start_attempt,
)


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def released(app, runner, app_server, page: Page) -> int:
    """Sit the demo accreditation test (answering a few questions), submit, and release."""
    load_sitting_data(runner)
    sign_in(page, app_server)
    attempt_id = start_attempt(page, app_server)
    for _ in range(3):
        answer_current(page)
        page.get_by_role("button", name="Save and continue").click()
    page.goto(f"{app_server}/candidate/attempts/{attempt_id}/submit")
    page.get_by_role("button", name="Submit answers").click()
    page.goto(f"{app_server}/candidate/attempts/{attempt_id}/result")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submitted – awaiting result")
    # Three questions answered, no written answer: a fail, which the lead assessor moderates.
    lead = db.session.scalar(select(User).filter_by(email="assessor@example.org"))
    for fact in marking.result_facts("kssp-accreditation"):
        if fact.attempt.id == attempt_id:  # the demo's past sittings are released already
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    db.session.commit()
    signed = runner.invoke(args=["analysis", "sign-off", "--assessment", "kssp-accreditation"])
    assert signed.exit_code == 0, signed.output
    result = runner.invoke(args=["results", "release", "--assessment", "kssp-accreditation"])
    assert "Released 1 results" in result.output
    return attempt_id


def test_result_and_history_pages_pass_axe(released, app_server, page: Page):
    page.goto(f"{app_server}/candidate/attempts/{released}/result")
    expect(page.get_by_role("heading", name="Your competency profile")).to_be_visible()
    chart = page.get_by_role("img", name="Competency profile")
    expect(chart).to_be_visible()
    violations = {"result": axe_violations(page)}
    page.goto(f"{app_server}/candidate/history")
    expect(page.get_by_role("heading", name="Accreditation tests")).to_be_visible()
    violations["history"] = axe_violations(page)
    problems = "\n".join(
        f"{name}:\n{describe(found)}" for name, found in violations.items() if found
    )
    assert not problems, problems
    assert page.console_problems == [], page.console_problems


def test_the_result_prints_as_a_clean_record(released, app_server, page: Page):
    page.goto(f"{app_server}/candidate/attempts/{released}/result")
    page.emulate_media(media="print")
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()
    expect(page.locator(".govuk-footer")).to_be_hidden()
    expect(page.get_by_text("Back to my assessments")).to_be_hidden()
    expect(page.get_by_role("heading", name="Your competency profile")).to_be_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
