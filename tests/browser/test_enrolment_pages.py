"""The enrolment pages in a real browser: every error at once, linked to its field, and accessible."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sitting_setup import axe_violations, describe, load_sitting_data


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def admin(app, runner, app_server, page: Page) -> Page:
    load_sitting_data(runner)
    page.goto(f"{app_server}/login")
    page.get_by_label("Email address").fill("admin@example.org")
    page.get_by_label("Password", exact=True).fill("granite-willow-signal")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Banks and users")
    return page


def test_enrolment_errors_are_listed_together_and_lead_to_their_fields(admin, app_server):
    page = admin
    page.goto(f"{app_server}/enrolments/new")
    found = {"new": axe_violations(page)}
    page.get_by_label("Candidate").select_option(label="Priya Nair (candidate2@example.org)")
    page.locator("#opens-day").fill("31")
    page.locator("#opens-month").fill("2")
    page.locator("#opens-year").fill("2027")
    page.get_by_label("A number of minutes").check()
    page.get_by_role("button", name="Save enrolment").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("a")).to_have_text(
        [
            "Window opens must include a time",
            "Enter the number of minutes of extra time",
            "Give the reason for the extra time",
        ]
    )
    found["errors"] = axe_violations(page)
    summary.get_by_role("link", name="Window opens must include").click()
    expect(page.locator("#opens-hour")).to_be_focused()
    page.get_by_label("Candidate").select_option(label="Sam Okafor (candidate@example.org)")
    page.get_by_label("Assessment").select_option("kssp-accreditation")
    page.get_by_role("button", name="Save enrolment").click()
    expect(page.get_by_text("Nothing has been saved")).to_be_visible()
    found["already enrolled"] = axe_violations(page)
    page.get_by_role("link", name="Change Sam Okafor's enrolment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change the enrolment of Sam Okafor")
    found["change"] = axe_violations(page)
    problems = "\n".join(f"{name}:\n{describe(v)}" for name, v in found.items() if v)
    assert not problems, problems
    assert page.console_problems == [], page.console_problems
