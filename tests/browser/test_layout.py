"""The layout on a small screen: the timer stays in view, every part of a page is in a
landmark, and Markdown from the banks is set in the service's font."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sitting_setup import (
    AXE,
    first_scenario_position,
    item_url,
    load_sitting_data,
    sign_in,
    start_attempt,
)

SMALL = {"width": 320, "height": 640}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def small(app, runner, app_server, browser) -> Any:
    """A candidate signed in on a 320 by 640 screen."""
    load_sitting_data(runner)
    context = browser.new_context(viewport=SMALL, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, app_server)
    yield page
    context.close()


def in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= SMALL["height"]


def region_violations(page: Page) -> list[Any]:
    """Run only axe's `region` rule: content outside every landmark."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {runOnly: {type: 'rule', values: ['region']}})")
    return [node["target"] for rule in result["violations"] for node in rule["nodes"]]


def test_the_timer_stays_in_view_while_a_long_question_scrolls(small, app_server):
    page = small
    attempt_id = start_attempt(page, app_server)
    for position in (1, first_scenario_position(attempt_id)):
        page.goto(item_url(app_server, attempt_id, position))
        assert page.evaluate("document.documentElement.scrollHeight") > 2 * SMALL["height"]
        assert in_view(page, "#timer")
        page.locator(".app-navigator__list li").last.scroll_into_view_if_needed()
        assert page.evaluate("scrollY") > SMALL["height"], "the page really scrolled"
        assert in_view(page, "#timer"), f"the timer is out of view on question {position}"
        assert in_view(page, "#timer-text")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SMALL["width"], "nothing makes the page scroll sideways"


def test_signed_in_pages_keep_everything_inside_landmarks(small, app_server):
    page = small
    found = {"home": region_violations(page)}
    start_attempt(page, app_server)
    found["question"] = region_violations(page)
    page.goto(f"{app_server}/candidate/history")
    found["history"] = region_violations(page)
    page.goto(f"{app_server}/accessibility")
    found["accessibility statement"] = region_violations(page)
    assert not any(found.values()), found


def test_markdown_from_the_banks_is_in_the_service_font(small, app_server):
    page = small
    attempt_id = start_attempt(page, app_server)
    page.goto(item_url(app_server, attempt_id, first_scenario_position(attempt_id)))
    assert_service_font(page, ".app-stem p", ".app-scenario .app-markdown p")
    stem, scenario = (
        float(page.evaluate(f"getComputedStyle(document.querySelector('{s}')).fontSize")[:-2])
        for s in (".app-stem p", ".app-scenario .app-markdown p")
    )
    assert stem > scenario, "the question's stem is the larger text"
    # Outside any GOV.UK text class, as on the item preview, Markdown took the browser's font.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email address").fill("admin@example.org")
    page.get_by_label("Password", exact=True).fill("granite-willow-signal")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Banks and users")
    page.goto(f"{app_server}/admin/items/kssp-0051")
    assert_service_font(page, "h2.govuk-heading-m + .app-markdown p")  # the rationale


def assert_service_font(page: Page, *selectors: str) -> None:
    for selector in selectors:
        assert page.locator(selector).count(), selector
        font = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).fontFamily")
        assert font.lower().startswith("arial"), (selector, font)
