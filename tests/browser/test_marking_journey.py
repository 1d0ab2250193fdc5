"""The whole marking journey in a real browser, on the demo data: a practice-leader candidate
answers enough to land just above the pass mark and writes an answer; two assessors mark it
blind and disagree; a third marker settles it; the result, within one SEM of the cut, goes to
the lead assessor, who ratifies it and releases; the candidate reads the agreed written mark."""

from __future__ import annotations

import math
import re
import zipfile
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.cli import DEMO_ACCOUNTS
from accredit.exports import formats
from accredit.extensions import db
from accredit.marking import service as marking
from accredit.models import ItemVersion, User
from accredit.models.delivery import Attempt, AttemptItem
from accredit.models.marking import AgreedMark
from accredit.models.results import Result
from accredit.results import service as results
from tests.browser.sitting_setup import BANKS, axe_violations, describe, item_url

KEY = "kssl-accreditation"
CANDIDATE = "candidate3@example.org"
CANDIDATE_REGISTRATION = "SW097652"
PASSWORDS = {email: password for email, _role, _org, _name, password in DEMO_ACCOUNTS}
SHOTS = "instance/screenshots"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


def as_person(browser: Any, base: str, email: str, heading: str) -> Page:
    """A fresh browser context signed in as this demo account."""
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    return page


def key_of(slot: AttemptItem) -> Any:
    """The right answer to an objective position, as the API takes it."""
    content = db.session.get_one(ItemVersion, slot.item_version_id).content
    if slot.item_type == "text":
        return content["accepted"][0]
    if slot.item_type == "numeric":
        return str(content["key"])
    return content["key"]


def sit_with_a_written_answer(browser: Any, base: str) -> tuple[int, int]:
    """Sit the test, scoring just enough to pass once the written answer earns full marks.

    Returns the attempt's id and how many objective items were answered right.
    """
    page = as_person(browser, base, CANDIDATE, "My assessments")
    page.goto(f"{base}/candidate/assessments/{KEY}")
    page.get_by_role("button", name="Start assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Question 1 of 31"))
    attempt_id = int(re.search(r"/attempts/(\d+)/", page.url).group(1))  # type: ignore[union-attr]
    db.session.expire_all()
    attempt = db.session.get_one(Attempt, attempt_id)
    cut = results.compute(attempt).cut.marks
    slots = db.session.scalars(
        select(AttemptItem).filter_by(attempt_id=attempt_id).order_by(AttemptItem.position)
    ).all()
    written = next(slot for slot in slots if slot.item_type == "written")
    worth = sum(
        c["marks"]
        for c in db.session.get_one(ItemVersion, written.item_version_id).content["rubric"]
    )
    right = math.ceil(cut - worth)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for slot in [s for s in slots if s.item_type != "written"][:right]:
        saved = page.request.put(
            f"{base}/api/v1/attempts/{attempt_id}/responses/{slot.position}",
            data={"answer": key_of(slot), "seq": 1}, headers={"X-CSRFToken": token or ""},
        )  # fmt: skip
        assert saved.ok, saved.text()
    page.goto(item_url(base, attempt_id, written.position))
    page.locator("#answer").fill(
        "I would begin by listening to staff and families, then agree a shared vision.\n"
        "Supervision would be reflective and workloads manageable."
    )
    page.get_by_role("button", name=re.compile(r"^Save and (continue|review answers)$")).click()
    page.goto(f"{base}/candidate/attempts/{attempt_id}/submit")
    page.get_by_role("button", name="Submit answers").click()
    page.goto(f"{base}/candidate/attempts/{attempt_id}/result")
    expect(page.get_by_role("heading", level=1)).to_have_text("Submitted – awaiting result")
    page.context.close()
    return attempt_id, right


def mark_in_browser(
    browser: Any, base: str, email: str, level: str, *, reason: str = "", shot: str = ""
) -> None:
    """Open the next script from the queue and choose ``level`` ("top" or "bottom") throughout."""
    page = as_person(browser, base, email, "Marking queue")
    page.get_by_role("button", name="Mark the next script").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Candidate \d{8}"))
    assert "Dee Mensah" not in page.content()
    assert "Northhaven" not in page.content()
    for fieldset in page.locator("form fieldset").all():
        radios = fieldset.locator("input[type=radio]")
        (radios.last if level == "top" else radios.first).check()
    page.get_by_label("Comment (optional)").fill(f"Marked at the {level} of each criterion")
    if reason:
        page.get_by_label("Reason for your final mark").fill(reason)
    if shot:
        page.screenshot(path=f"{SHOTS}/{shot}.png", full_page=True)
        violations = axe_violations(page)
        assert not violations, describe(violations)
    page.get_by_role("button", name="Save and next").click()
    expect(page.locator(".govuk-notification-banner").first).to_contain_text("Marks saved")
    page.context.close()


def marker_of(script_id: int, round_name: str) -> str:
    db.session.expire_all()
    marker_id = marking.script(script_id).allocations[round_name].marker_id
    person = db.session.get(User, marker_id)
    assert person is not None
    return person.email


def test_written_answer_marked_blind_moderated_and_released(
    app, runner, app_server, browser, tmp_path
):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    report = import_tree(BANKS)
    assert report.succeeded, report.lines()
    db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0

    attempt_id, right = sit_with_a_written_answer(browser, app_server)
    [fact] = marking.gather(attempt_ids=[attempt_id])
    script_id = fact.id
    assert "shared vision" in fact.answer
    first, second = marker_of(script_id, "first"), marker_of(script_id, "second")
    assert first != second

    mark_in_browser(browser, app_server, first, "top", shot="marking-first")
    mark_in_browser(browser, app_server, second, "bottom")
    third = marker_of(script_id, "third")
    # Ravi Shah works for the candidate's council and the lead moderates: neither marks it.
    assert {first, second, third} == {
        "assessor2@example.org", "assessor3@example.org", "assessor5@example.org",
    }  # fmt: skip
    mark_in_browser(
        browser, app_server, third, "top", reason="The answer meets each criterion fully",
        shot="marking-third",
    )  # fmt: skip
    db.session.expire_all()
    agreed = db.session.scalar(select(AgreedMark).filter_by(script_id=script_id))
    assert agreed is not None
    assert agreed.method == "third"

    lead = as_person(browser, app_server, "assessor@example.org", "Marking queue")
    for name in ("Marker quality", "Discrepancies", "Marking queue"):
        lead.get_by_role("link", name=name, exact=True).first.click()
        found = axe_violations(lead)
        assert not found, f"{name}:\n{describe(found)}"
    lead.screenshot(path=f"{SHOTS}/lead-queue.png", full_page=True)
    lead.get_by_role("link", name="Item analysis", exact=True).first.click()
    lead.get_by_role("link", name="Practice leader: practice-knowledge test").click()
    expect(lead.get_by_role("heading", name="Test statistics")).to_be_visible()
    found = axe_violations(lead)
    assert not found, f"analysis:\n{describe(found)}"
    lead.locator("tbody a").first.click()
    expect(lead.get_by_role("heading", name="Decide this item's key")).to_be_visible()
    found = axe_violations(lead)
    assert not found, f"analysis item:\n{describe(found)}"
    lead.screenshot(path=f"{SHOTS}/analysis-item.png", full_page=True)
    lead.get_by_role("link", name="Marking queue", exact=True).first.click()
    lead.get_by_role("link", name="Moderation and release").click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Moderation and release")
    expect(lead.get_by_text("In moderation").first).to_be_visible()
    expect(
        lead.get_by_text(re.compile(r"within 1 SEM \(\d+\.\d\d marks\) of the cut"))
    ).to_be_visible()
    assert "Release results" not in lead.content(), "nothing is released before ratification"
    lead.get_by_role("link", name=re.compile(r"^Moderate")).first.click()
    expect(lead.get_by_role("heading", level=1)).to_contain_text("Moderate the result")
    expect(lead.get_by_text("Third marker").first).to_be_visible()
    lead.screenshot(path=f"{SHOTS}/moderation.png", full_page=True)
    violations = axe_violations(lead)
    assert not violations, describe(violations)
    lead.get_by_label("Ratify").check()
    lead.get_by_role("button", name="Record decision").click()
    expect(lead.locator(".govuk-notification-banner").first).to_contain_text(
        "decision has been recorded"
    )
    assert "Release results" not in lead.content(), "the item analysis is not signed off yet"
    lead.locator(f"#note-{KEY}").fill("No item flagged as miskeyed")
    lead.get_by_role(
        "button", name=re.compile(r"Sign off the item analysis of Practice leader")
    ).click()
    expect(lead.locator(".govuk-notification-banner").first).to_contain_text("signed off")
    lead.get_by_role("button", name=re.compile("Release results")).click()
    expect(lead.locator(".govuk-notification-banner").first).to_contain_text("1 results released")
    lead.context.close()

    candidate = as_person(browser, app_server, CANDIDATE, "My assessments")
    candidate.goto(f"{app_server}/candidate/attempts/{attempt_id}/result")
    expect(candidate.get_by_role("heading", name="Your written answer")).to_be_visible()
    written = candidate.locator(".app-written-marks caption")
    expect(written).to_contain_text(f"{agreed.mark:g} out of {agreed.mark:g} marks")
    expect(candidate.get_by_text("a third assessor's mark decided")).to_be_visible()
    expect(candidate.locator(".govuk-panel__title")).to_have_text("Passed")
    db.session.expire_all()
    result = db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))
    assert result is not None
    assert result.raw == right + agreed.mark
    assert 0 <= result.raw - result.cut <= marking.sem_of(result)
    candidate.screenshot(path=f"{SHOTS}/released-written.png", full_page=True)
    candidate.context.close()

    regulator_exports(browser, app_server, tmp_path, CANDIDATE_REGISTRATION)
    exported = tmp_path / "r.zip"
    made = runner.invoke(args=["exports", "results", "--out", str(exported)])
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(exported) as archive:
        rows = archive.read("results.csv").decode().splitlines()[1:]
    # Dee's result, and the demo's past Northhaven sittings, all released after moderation.
    assert f"{len(rows)} rows" in made.output
    assert sum(CANDIDATE_REGISTRATION in row for row in rows) == 1
    assert runner.invoke(args=["exports", "verify", str(exported)]).exit_code == 0
    tampered = tmp_path / "tampered.zip"
    change_one_byte(exported, tampered, "results.csv")
    refused = runner.invoke(args=["exports", "verify", str(tampered)])
    assert refused.exit_code == 1
    assert "results.csv: SHA-256 is" in refused.output

    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    recomputed = runner.invoke(args=["results", "recompute"])
    assert "0 would change" in recomputed.output


def regulator_exports(browser: Any, base: str, folder: Any, registration: str) -> None:
    """The regulator makes the results export on their page, reads it and downloads it."""
    regulator = as_person(browser, base, "regulator@example.org", "Exports")
    assert not axe_violations(regulator), describe(axe_violations(regulator))
    regulator.get_by_label("Results", exact=True).check()
    regulator.get_by_role("button", name="Make the export").click()
    expect(regulator.get_by_role("heading", level=1)).to_have_text("The export is ready")
    regulator.get_by_role("link", name=re.compile(r"^See export")).click()
    expect(regulator.get_by_text("results.csv").first).to_be_visible()
    found = axe_violations(regulator)
    assert not found, f"export page:\n{describe(found)}"
    regulator.screenshot(path=f"{SHOTS}/regulator-export.png", full_page=True)
    with regulator.expect_download() as downloading:
        regulator.get_by_role("button", name="Download the ZIP").click()
    saved = folder / "from-the-page.zip"
    downloading.value.save_as(saved)
    assert formats.verify(saved) == []
    with zipfile.ZipFile(saved) as archive:
        text = archive.read("results.csv").decode()
    assert registration in text
    assert ",passed," in text
    assert "Dee Mensah" not in text
    regulator.get_by_role("link", name="Back to exports").click()
    regulator.get_by_role("link", name="API tokens").first.click()
    regulator.get_by_label("What the token is for").fill("Weekly load")
    regulator.get_by_role("button", name="Make a token").click()
    expect(regulator.locator("#new-token")).to_contain_text("acc_")
    found = axe_violations(regulator)
    assert not found, f"tokens page:\n{describe(found)}"
    regulator.screenshot(path=f"{SHOTS}/regulator-token.png", full_page=True)
    regulator.context.close()


def change_one_byte(source: Any, target: Any, member: str) -> None:
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    body = bytearray(files[member])
    body[-3] ^= 1
    files[member] = bytes(body)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
