"""The practice leader's pages in Chromium, on the demo data `make run` loads: the cohort view
and a history opened on the record, with no axe violation, legible when printed; and the
candidate sees who opened their history."""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

from accredit.catalogue.importer import import_tree
from accredit.cli import DEMO_ACCOUNTS
from accredit.extensions import db
from tests.browser.sitting_setup import BANKS, axe_violations, describe

SHOTS = "instance/screenshots"
PASSWORDS = {email: password for email, _role, _org, _name, password in DEMO_ACCOUNTS}


def signed_in(browser, base, email, heading):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    return page


def test_the_leader_reads_the_cohort_and_opens_a_history_on_the_record(
    app, runner, app_server, browser
):
    os.makedirs(SHOTS, exist_ok=True)
    report = import_tree(BANKS)
    assert report.succeeded, report.lines()
    db.session.commit()
    made = runner.invoke(args=["demo"])
    assert made.exit_code == 0, made.output
    assert "Staged the September 2026 sitting" in made.output

    leader = signed_in(browser, app_server, "leader@example.org", "Practice knowledge")
    expect(leader.get_by_role("heading", name="Statements, person by person")).to_be_visible()
    expect(leader.get_by_role("heading", name="Across sitting windows")).to_be_visible()
    expect(leader.get_by_role("heading", name="Who is due to sit or re-sit")).to_be_visible()
    expect(leader.get_by_text("July to September 2026").first).to_be_visible()
    expect(leader.get_by_text("Not yet met").first).to_be_visible()
    assert "Westdale" not in leader.content()
    found = axe_violations(leader)
    assert not found, f"cohort:\n{describe(found)}"
    leader.screenshot(path=f"{SHOTS}/leader-cohort.png", full_page=True)
    leader.emulate_media(media="print")
    leader.screenshot(path=f"{SHOTS}/leader-cohort-print.png", full_page=True)
    assert leader.locator(".app-filters").is_hidden(), "the filters are not printed"
    expect(leader.locator(".app-heatmap")).to_be_visible()
    leader.emulate_media(media="screen")

    leader.get_by_label("Team").select_option(label="Children in care")
    leader.get_by_role("button", name="Show").click()
    expect(leader.get_by_label("Team")).to_have_value(re.compile(r"\d+"))

    leader.get_by_role("link", name="Teams", exact=True).first.click()
    expect(leader.get_by_role("heading", level=1)).to_have_text("Teams")
    found = axe_violations(leader)
    assert not found, f"teams:\n{describe(found)}"

    leader.goto(f"{app_server}/leader/")
    leader.get_by_role("link", name="Aisha Khan").click()
    expect(leader.get_by_role("button", name="Open the history")).to_be_visible()
    leader.get_by_role("button", name="Open the history").click()
    expect(leader.get_by_role("heading", name="Assessment history")).to_be_visible()
    found = axe_violations(leader)
    assert not found, f"history:\n{describe(found)}"
    leader.get_by_label("Note").fill("Shadowing the court team in April")
    leader.get_by_role("button", name="Add the note").click()
    expect(leader.locator(".app-notes")).to_contain_text("Shadowing the court team in April")
    leader.screenshot(path=f"{SHOTS}/leader-history.png", full_page=True)
    leader.emulate_media(media="print")
    leader.screenshot(path=f"{SHOTS}/leader-history-print.png", full_page=True)
    leader.context.close()


def test_the_candidate_sees_who_opened_their_history(app, runner, app_server, browser):
    report = import_tree(BANKS)
    assert report.succeeded, report.lines()
    db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    leader = signed_in(browser, app_server, "leader@example.org", "Practice knowledge")
    leader.goto(f"{app_server}/leader/")
    sam = db.session.execute(
        db.text("SELECT id FROM users WHERE email = 'candidate@example.org'")
    ).scalar_one()
    leader.goto(f"{app_server}/leader/candidates/{sam}")
    leader.get_by_role("button", name="Open the history").click()
    expect(leader.get_by_role("heading", name="Assessment history")).to_be_visible()
    leader.context.close()

    candidate = signed_in(browser, app_server, "candidate@example.org", "My assessments")
    candidate.goto(f"{app_server}/candidate/history")
    expect(candidate.get_by_role("heading", name="Who has opened your history")).to_be_visible()
    expect(candidate.get_by_text("Jo Whitfield (practice leader)")).to_be_visible()
    found = axe_violations(candidate)
    assert not found, f"candidate history:\n{describe(found)}"
    candidate.context.close()
