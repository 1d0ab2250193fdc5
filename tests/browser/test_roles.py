"""Each demo account signs in through a real browser and lands on its role's home page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accredit.cli import DEMO_ACCOUNTS

HEADINGS = {
    "candidate": "My assessments",
    "assessor": "Marking queue",
    "leader": "Practice knowledge",
    "regulator": "Exports",
    "admin": "Banks and users",
}


@pytest.fixture
def demo_data(runner):
    result = runner.invoke(args=["demo", "--without-history"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("email", "role", "password"),
    [(email, role.value, password) for email, role, _org, _name, password in DEMO_ACCOUNTS[1:]]
    + [(DEMO_ACCOUNTS[0][0], DEMO_ACCOUNTS[0][1].value, DEMO_ACCOUNTS[0][4])],
)
def test_demo_account_signs_in_to_its_home(app_server, page, demo_data, email, role, password):
    page.goto(f"{app_server}/")
    assert page.title() == "Sign in – accredit"
    # The stylesheet really loaded (GOV.UK Frontend sets the body's font and margin).
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")

    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[role])
    expect(page.get_by_text("Signed in as")).to_be_visible()
    assert page.console_problems == [], page.console_problems

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_wrong_password_shows_an_error_summary(app_server, page, demo_data):
    page.goto(f"{app_server}/login")
    page.get_by_label("Email address").fill("candidate@example.org")
    page.get_by_label("Password", exact=True).fill("not-the-right-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter a correct email address and password"
    )
    expect(page).to_have_title("Error: Sign in – accredit")


def test_skip_link_reaches_main_content_by_keyboard(app_server, page):
    page.goto(f"{app_server}/login")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
