"""The timed sitting in a real browser: answers, autosave, the server's timer, and access.

Each test sets up its data through the real code: the shipped banks imported,
the demo accounts created and the demo candidate enrolled on the accreditation
test (or on a small test that asks one question of every kind). It then sits
the test in Chromium with CSRF protection on, as in production.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from accredit import clock
from accredit.delivery import service
from accredit.extensions import db
from accredit.timefmt import UK
from tests.browser.sitting_setup import (
    ASSESSMENT,
    EVERY_KIND,
    SAVED_AT,
    answer_current,
    attempt,
    axe_violations,
    describe,
    enrolment_of,
    expect_answer_shown,
    first_position,
    first_scenario_position,
    item_types,
    item_url,
    load_every_kind,
    load_sitting_data,
    london_time,
    move_deadline,
    server_remaining,
    shown_remaining,
    sign_in,
    start_attempt,
    stored,
    stored_answers,
)

RESPONSES = "**/api/v1/attempts/*/responses/*"
FLAG = "Flag this question to come back to"


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def sitting(app, runner):
    load_sitting_data(runner)


@pytest.fixture
def candidate(sitting, app_server, page) -> Page:
    sign_in(page, app_server)
    return page


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def save_status(page: Page):
    return page.locator("#save-status")


def not_answered(page: Page):
    return page.locator(".govuk-tag", has_text="Not answered")


def resync(page: Page) -> None:
    """Make the page ask the server for the time, as it does when it becomes visible again."""
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


def load_failures_only(problems: list[str]) -> list[str]:
    """Console errors other than the browser's own log of a request that was cut off."""
    return [problem for problem in problems if "Failed to load resource" not in problem]


def test_a_full_sitting_with_javascript_stores_every_answer(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    total = len(item_types(attempt_id))
    order = [1, 3, 2, *range(4, total + 1)]
    given = {}
    met = set()
    for index, position in enumerate(order):
        expect(heading(page)).to_have_text(f"Question {position} of {total}")
        met.add(page.locator("#sitting-form").get_attribute("data-item-type"))
        given[position] = answer_current(page)
        if position == 4:
            expect(save_status(page)).to_have_text(SAVED_AT)
            page.get_by_label(FLAG).check()
            expect(save_status(page)).to_have_text("Flag saved")
            expect(page.locator("button[name=go][value='4']")).to_have_class(
                re.compile("app-navigator__button--flagged")
            )
        if position == 2:
            for answered in (1, 3):
                expect(page.locator(f"button[name=go][value='{answered}']")).to_have_class(
                    re.compile("app-navigator__button--answered")
                )
        following = order[index + 1] if index + 1 < len(order) else None
        if following is None:
            page.get_by_role("button", name="Save and review answers").click()
        elif following == position + 1:
            page.get_by_role("button", name="Save and continue").click()
        else:
            page.locator(f"button[name=go][value='{following}']").click()

    expect(heading(page)).to_have_text("Review your answers")
    expect(not_answered(page)).to_have_count(0)
    flagged_row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name="Question 4", exact=True)
    )
    expect(flagged_row).to_contain_text("Flagged")
    page.get_by_role("link", name="Continue to submit").click()
    expect(heading(page)).to_have_text("Submit your answers")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Answers submitted")

    assert met <= {"single", "multiple", "ordering", "numeric", "text", "written"}, met
    assert stored_answers(attempt_id) == given
    assert stored(attempt_id)[4].flagged
    assert attempt(attempt_id).submission == "candidate"
    assert page.console_problems == [], page.console_problems


def test_a_sitting_without_javascript_works_by_form_posts(sitting, app_server, browser):
    context = browser.new_context(
        java_script_enabled=False, locale="en-GB", timezone_id="Europe/London"
    )
    # Chromium still runs module scripts with JavaScript disabled: refuse them too.
    context.route(re.compile(r"\.m?js(\?.*)?$"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, app_server)
        attempt_id = start_attempt(page, app_server)
        # The server's own rendering: the time left, saved when the candidate continues.
        # 85 minutes: the test's 60 for the items and 25 for the written analysis.
        expect(page.locator("#timer-text")).to_have_text(re.compile("^1 hour 24 minutes"))
        expect(save_status(page)).to_have_text("Your answer is saved when you continue.")
        given = {}
        for position in (1, 2, 3):
            expect(heading(page)).to_contain_text(f"Question {position} of")
            given[position] = answer_current(page)
            page.get_by_role("button", name="Save and continue").click()
        page.get_by_label(FLAG).check()
        page.get_by_role("button", name="Review answers").click()

        expect(heading(page)).to_have_text("Review your answers")
        total = len(item_types(attempt_id))
        expect(not_answered(page)).to_have_count(total - 3)
        expect(page.locator(".govuk-tag", has_text="Flagged")).to_have_count(1)
        page.get_by_role("link", name="Continue to submit").click()
        page.get_by_role("button", name="Submit answers").click()
        expect(page.locator(".govuk-panel__title")).to_have_text("Answers submitted")
        assert stored_answers(attempt_id) == given
        assert stored(attempt_id)[4].flagged
    finally:
        context.close()


def test_reload_and_another_device_find_every_saved_answer(candidate, app_server, browser):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    given = {}
    for position in (1, 2, 3):
        page.goto(item_url(app_server, attempt_id, position))
        given[position] = answer_current(page)
        expect(save_status(page)).to_have_text(SAVED_AT)
    page.reload()
    expect_answer_shown(page, given[3])
    assert stored_answers(attempt_id) == given

    # Later, on another computer: the same attempt, every answer, and the true time left.
    move_deadline(attempt_id, 23 * 60 + 30)
    other = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    elsewhere = other.new_page()
    elsewhere.set_default_timeout(10_000)
    try:
        sign_in(elsewhere, app_server)
        elsewhere.get_by_role("link", name=re.compile("^Continue")).click()
        for position in (1, 2, 3):
            expect(heading(elsewhere)).to_contain_text(f"Question {position} of")
            expect_answer_shown(elsewhere, given[position])
            elsewhere.get_by_role("button", name="Save and continue").click()
        expect(heading(elsewhere)).to_contain_text("Question 4 of")
        expect(elsewhere.locator("#timer-text")).to_contain_text("23 minutes")
        assert abs(shown_remaining(elsewhere) - server_remaining(attempt_id)) <= 3
    finally:
        other.close()
    assert stored_answers(attempt_id) == given


def test_autosave_keeps_an_answer_through_a_network_drop_and_a_reload(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    dialogs = []

    def leave(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.route(RESPONSES, lambda route: route.abort())
    answer = answer_current(page)
    expect(save_status(page)).to_have_text("Not saved – retrying")
    expect(save_status(page)).to_have_class(re.compile("app-save-status--error"))
    assert stored_answers(attempt_id) == {}

    # Leaving warns first; the answer kept on this computer is shown again after the reload.
    page.reload()
    assert dialogs == ["beforeunload"]
    expect_answer_shown(page, answer)
    expect(save_status(page)).to_have_text("Not saved – retrying")

    page.unroute(RESPONSES)
    expect(save_status(page)).to_have_text(SAVED_AT, timeout=15_000)
    expect(save_status(page)).not_to_have_class(re.compile("app-save-status--error"))
    row = stored(attempt_id)[1]
    assert row.answer == answer
    assert save_status(page).inner_text() == f"Saved at {london_time(row.saved_at)}"
    assert load_failures_only(page.console_problems) == [], page.console_problems


def test_submitting_sends_the_answers_still_waiting_first(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    page.on("dialog", lambda dialog: dialog.accept())
    page.route(RESPONSES, lambda route: route.abort())
    answer = answer_current(page)
    expect(save_status(page)).to_have_text("Not saved – retrying")
    page.get_by_role("button", name="Review answers").click()
    expect(heading(page)).to_have_text("Review your answers")
    page.get_by_role("link", name="Continue to submit").click()
    expect(heading(page)).to_have_text("Submit your answers")
    expect(save_status(page)).to_have_text("Not saved – retrying")
    # The post on the way here saved it already; this change has only been kept in the browser.
    page.goto(f"{app_server}/candidate/attempts/{attempt_id}/items/2")
    second = answer_current(page)
    expect(save_status(page)).to_have_text("Not saved – retrying")
    page.goto(f"{app_server}/candidate/attempts/{attempt_id}/submit")
    expect(save_status(page)).to_have_text("Not saved – retrying")
    assert 2 not in stored_answers(attempt_id)

    page.unroute(RESPONSES)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Answers submitted")
    assert stored_answers(attempt_id) == {1: answer, 2: second}


def test_every_kind_of_question_saves_as_it_changes(app, runner, tmp_path, app_server, page):
    load_every_kind(runner, tmp_path)
    sign_in(page, app_server)
    attempt_id = start_attempt(page, app_server, EVERY_KIND)
    kinds = item_types(attempt_id)
    assert sorted(kinds.values()) == sorted(
        ["single", "multiple", "multiple", "ordering", "numeric", "text", "written"]
    )
    given = {}
    for position, kind in sorted(kinds.items()):
        page.goto(item_url(app_server, attempt_id, position))
        if kind == "ordering":
            page.locator("select[name^=position-]").first.select_option("1")
            expect(save_status(page)).to_have_text(
                "Not saved yet: give every statement a different position"
            )
        given[position] = answer_current(page)
        expect(save_status(page)).to_have_text(SAVED_AT)
        expect(page.locator(f"button[name=go][value='{position}']")).to_have_class(
            re.compile("app-navigator__button--answered")
        )
    assert stored_answers(attempt_id) == given

    # A number the server refuses is reported and not retried; clearing an answer is saved.
    numeric = first_position(attempt_id, "numeric")
    page.goto(item_url(app_server, attempt_id, numeric))
    page.locator("#answer").fill("twelve")
    expect(save_status(page)).to_have_text("Enter a number, like 26 or 2.5")
    expect(save_status(page)).to_have_class(re.compile("app-save-status--error"))
    page.locator("#answer").fill("")
    expect(save_status(page)).to_have_text(SAVED_AT)
    expect(save_status(page)).not_to_have_class(re.compile("app-save-status--error"))
    del given[numeric]
    assert stored_answers(attempt_id) == given
    assert load_failures_only(page.console_problems) == [], page.console_problems


def test_the_page_ends_by_itself_when_the_time_is_up(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    first = answer_current(page)
    expect(save_status(page)).to_have_text(SAVED_AT)

    move_deadline(attempt_id, 601.5)
    page.reload()
    expect(page.locator("#timer-announcer")).to_have_text("10 minutes remaining")
    expect(page.locator("#timer")).to_have_class(re.compile("app-timer--warning"))
    move_deadline(attempt_id, 61.5)
    resync(page)
    expect(page.locator("#timer-announcer")).to_have_text("1 minute remaining")

    # The last change is held back by the network until the deadline: it is sent in the grace.
    deadline = move_deadline(attempt_id, 4)
    page.route(
        RESPONSES,
        lambda route: route.abort() if clock.now() < deadline else route.continue_(),
    )
    resync(page)
    expect(page.locator("#timer-text")).to_have_text(re.compile(r"^[1-5] seconds?$"))
    last = answer_current(page, variant=1)
    assert last != first
    expect(page).to_have_title(re.compile("^Time is up"), timeout=20_000)
    expect(page.locator(".govuk-panel__title")).to_have_text("Time is up")
    assert clock.now() >= deadline
    assert stored_answers(attempt_id) == {1: last}
    # The page only reads: the sweep closes the attempt once the grace period is over.
    assert attempt(attempt_id).submitted_at is None
    assert service.sweep(at=deadline + service.grace())["finalised"] == 1
    db.session.commit()
    assert attempt(attempt_id).submission == "expired"
    assert attempt(attempt_id).submitted_at == deadline


@pytest.mark.parametrize("hours", [2, -2], ids=["clock-ahead", "clock-behind"])
def test_a_wrong_computer_clock_changes_nothing(candidate, app_server, hours):
    page = candidate
    shift = hours * 3600 * 1000
    page.context.add_init_script(
        """
        (() => {
          const shift = SHIFT
          const RealDate = Date
          class ShiftedDate extends RealDate {
            constructor (...args) { if (args.length) super(...args); else super(RealDate.now() + shift) }
            static now () { return RealDate.now() + shift }
          }
          globalThis.Date = ShiftedDate
        })()
        """.replace("SHIFT", str(shift))
    )
    attempt_id = start_attempt(page, app_server)
    skew = page.evaluate("Date.now()") - time.time() * 1000
    assert abs(skew - shift) < 60_000
    move_deadline(attempt_id, 20 * 60)
    page.reload()
    expect(page.locator("#timer-text")).to_contain_text(re.compile("^(19|20) minutes"))
    assert abs(shown_remaining(page) - server_remaining(attempt_id)) <= 3

    answer_current(page)
    expect(save_status(page)).to_have_text(SAVED_AT)
    saved_at = stored(attempt_id)[1].saved_at
    assert save_status(page).inner_text() == f"Saved at {london_time(saved_at)}"

    deadline = move_deadline(attempt_id, 4)
    resync(page)
    expect(page.locator("#timer-text")).to_have_text(re.compile(r"^[1-5] seconds?$"))
    expect(page).to_have_title(re.compile("^Time is up"), timeout=15_000)
    assert clock.now() >= deadline
    assert page.console_problems == [], page.console_problems


def test_extra_time_reaches_an_open_page(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    move_deadline(attempt_id, 5 * 60)
    page.reload()
    expect(page.locator("#timer-text")).to_have_text(re.compile("^4 minutes 5[0-9] seconds$"))
    expect(page.locator("#timer")).to_have_class(re.compile("app-timer--warning"))

    moved = service.set_adjustment(
        enrolment_of(attempt_id), percent=None, minutes=25, reason="Dyslexia", actor=None
    )
    db.session.commit()
    assert moved is not None
    assert moved.deadline_at is not None
    resync(page)
    expect(page.locator("#timer-text")).to_have_text(re.compile("^1 hour (49|50) minutes"))
    assert abs(shown_remaining(page) - server_remaining(attempt_id)) <= 3
    expect(page.locator("#timer")).not_to_have_class(re.compile("app-timer--warning"))
    expect(page.locator("#timer-ends")).to_have_text(
        f"(ends at {moved.deadline_at.astimezone(UK):%H:%M})"
    )
    assert page.console_problems == [], page.console_problems


def test_at_zero_the_page_asks_the_server_before_ending(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    move_deadline(attempt_id, 3)
    page.reload()
    expect(page.locator("#timer-text")).to_have_text(re.compile(r"^[0-3] seconds?$"))
    # The adjustment arrives without the page being told: at zero it asks, and carries on.
    service.set_adjustment(
        enrolment_of(attempt_id), percent=None, minutes=10, reason="Dyslexia", actor=None
    )
    db.session.commit()
    expect(page.locator("#timer-text")).to_have_text(
        re.compile("^1 hour 34 minutes"), timeout=10_000
    )
    expect(heading(page)).to_have_text(re.compile("^Question 1 of"))
    assert attempt(attempt_id).submitted_at is None
    assert page.console_problems == [], page.console_problems


def test_sitting_pages_have_no_serious_accessibility_problems(candidate, app_server):
    page = candidate
    found = {}
    page.goto(f"{app_server}/candidate/assessments/{ASSESSMENT}")
    found["start"] = axe_violations(page)
    attempt_id = start_attempt(page, app_server)
    kinds = item_types(attempt_id)
    pages = {f"item ({kind})": first_position(attempt_id, kind) for kind in set(kinds.values())}
    pages["item (case study)"] = first_scenario_position(attempt_id)
    for name, position in sorted(pages.items()):
        page.goto(item_url(app_server, attempt_id, position))
        answer_current(page)
        expect(save_status(page)).to_have_text(SAVED_AT)
        found[name] = axe_violations(page)
    page.goto(f"{app_server}/candidate/attempts/{attempt_id}/review")
    found["review"] = axe_violations(page)
    page.get_by_role("link", name="Continue to submit").click()
    found["submit"] = axe_violations(page)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Answers submitted")
    found["end"] = axe_violations(page)
    problems = {name: violations for name, violations in found.items() if violations}
    report = "\n".join(f"{name}:\n{describe(violations)}" for name, violations in problems.items())
    print(report)
    assert not problems, report


def test_a_keyboard_alone_can_answer_and_save(candidate, app_server):
    page = candidate
    attempt_id = start_attempt(page, app_server)
    position = first_position(attempt_id, "single")
    page.goto(item_url(app_server, attempt_id, position))

    def tab_to(check: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const el = document.activeElement; return {check} }})()"):
                return
        raise AssertionError(f"Tab never reached {check}")

    tab_to("el.name === 'answer'")
    focus_ring = page.evaluate(
        "getComputedStyle(document.activeElement.labels[0], '::before').boxShadow"
    )
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    assert "rgb(255, 221, 0)" in focus_ring, focus_ring
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    chosen = page.evaluate("document.activeElement.value")
    expect(page.locator(f"input[name=answer][value='{chosen}']")).to_be_checked()

    tab_to("el.value === 'next'")
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    background = page.evaluate("getComputedStyle(document.activeElement).backgroundColor")
    assert background == "rgb(255, 221, 0)", background
    page.keyboard.press("Enter")
    expect(heading(page)).to_contain_text(f"Question {position + 1} of")
    assert stored_answers(attempt_id)[position] == chosen
    assert page.console_problems == [], page.console_problems


def test_the_timer_reads_in_hours_minutes_and_seconds(app_server, page):
    page.goto(f"{app_server}/login")
    said = page.evaluate(
        """async seconds => {
          const { describeSeconds } = await import('/static/js/sitting.mjs')
          return seconds.map(describeSeconds)
        }""",
        [2518, 65, 45, 1, 0, 600, 3600, 3725, 7260],
    )
    assert said == [
        "41 minutes 58 seconds",
        "1 minute 5 seconds",
        "45 seconds",
        "1 second",
        "0 seconds",
        "10 minutes",
        "1 hour",
        "1 hour 2 minutes 5 seconds",
        "2 hours 1 minute",
    ]
    assert page.console_problems == [], page.console_problems
