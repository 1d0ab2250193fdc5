"""Helpers for the sitting's browser tests: real data, a signed-in candidate, answers and axe."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from accredit import clock
from accredit.catalogue.importer import import_tree
from accredit.extensions import db
from accredit.models.delivery import Attempt, AttemptItem, Enrolment, Response
from accredit.timefmt import UK
from tests.sitting import assessment, write_tree

ROOT = Path(__file__).resolve().parents[2]
BANKS = ROOT / "question_banks"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ASSESSMENT = "kssp-accreditation"
EVERY_KIND = "mini-every-kind"
CANDIDATE = "candidate@example.org"
PASSWORD = "brisk-harbour-lantern"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
SAVED_AT = re.compile(r"Saved at \d\d:\d\d:\d\d")


def load_sitting_data(runner: Any) -> None:
    """Import the shipped banks, create the demo accounts and enrol the demo candidate."""
    report = import_tree(BANKS)
    assert report.succeeded, report.lines()
    db.session.commit()
    for args in (["demo", "--without-history"], ["enrol", CANDIDATE, ASSESSMENT]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output


def load_every_kind(runner: Any, root: Path) -> None:
    """Import a small bank whose test asks one question of every kind, and enrol on it."""
    every_kind = assessment(
        EVERY_KIND,
        sections=[
            {
                "title": "Every kind",
                "draws": [
                    {"bank": "mini", "statements": ["M1"], "count": 1, "types": ["single"]},
                    {"bank": "mini", "statements": ["M2"], "count": 4},
                    {"bank": "mini", "statements": ["M1"], "count": 1, "types": ["text"]},
                    {"bank": "mini", "statements": ["M1"], "count": 1, "types": ["written"]},
                ],
            }
        ],
    )
    report = import_tree(write_tree(root, [every_kind]))
    assert report.succeeded, report.lines()
    db.session.commit()
    for args in (["demo", "--without-history"], ["enrol", CANDIDATE, EVERY_KIND]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output


def sign_in(page: Page, base: str, email: str = CANDIDATE, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My assessments")


def start_attempt(page: Page, base: str, key: str = ASSESSMENT) -> int:
    """Start an assessment from its start page; return the attempt's id."""
    page.goto(f"{base}/candidate/assessments/{key}")
    page.get_by_role("button", name="Start assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Question 1 of \d+"))
    return int(re.search(r"/attempts/(\d+)/", page.url).group(1))  # type: ignore[union-attr]


def attempt(attempt_id: int) -> Attempt:
    db.session.expire_all()
    return db.session.get_one(Attempt, attempt_id)


def move_deadline(attempt_id: int, seconds: float) -> datetime:
    """Put the attempt's deadline this many seconds from now, as near its end; return it."""
    row = attempt(attempt_id)
    row.deadline_at = clock.now() + timedelta(seconds=seconds)
    db.session.commit()
    return row.deadline_at


def item_types(attempt_id: int) -> dict[int, str]:
    rows = db.session.execute(
        select(AttemptItem.position, AttemptItem.item_type).filter_by(attempt_id=attempt_id)
    ).all()
    return dict(rows)  # type: ignore[arg-type]


def first_position(attempt_id: int, item_type: str) -> int:
    return min(p for p, kind in item_types(attempt_id).items() if kind == item_type)


def first_scenario_position(attempt_id: int) -> int:
    """The first position that is asked about a case study."""
    return db.session.scalar(
        select(func.min(AttemptItem.position)).where(
            AttemptItem.attempt_id == attempt_id, AttemptItem.scenario_version_id.is_not(None)
        )
    )


def stored(attempt_id: int) -> dict[int, Response]:
    """Every stored response of an attempt, by position, read afresh."""
    db.session.expire_all()
    rows = db.session.scalars(select(Response).filter_by(attempt_id=attempt_id)).all()
    return {row.position: row for row in rows}


def stored_answers(attempt_id: int) -> dict[int, Any]:
    return {p: row.answer for p, row in stored(attempt_id).items() if row.answer is not None}


def enrolment_of(attempt_id: int) -> Enrolment:
    return attempt(attempt_id).enrolment


def item_url(base: str, attempt_id: int, position: int) -> str:
    return f"{base}/candidate/attempts/{attempt_id}/items/{position}"


def answer_current(page: Page, variant: int = 0) -> Any:
    """Answer the question on the page through its controls; return the answer as stored.

    ``variant`` picks a different answer, so a change can be told from the first one.
    """
    form = page.locator("#sitting-form")
    kind = form.get_attribute("data-item-type")
    if kind == "single":
        radios = page.locator("input[name=answer]")
        radio = radios.nth(variant % radios.count())
        radio.check()
        return radio.get_attribute("value")
    if kind == "multiple":
        hint = page.locator(".govuk-hint").filter(has_text="Select exactly").inner_text()
        count = int(re.search(r"\d+", hint).group())  # type: ignore[union-attr]
        boxes = page.locator("input[name=answer]")
        chosen = range(variant, variant + count)
        for index in range(boxes.count()):
            boxes.nth(index).set_checked(index in chosen)
        return [boxes.nth(index).get_attribute("value") for index in chosen]
    if kind == "ordering":
        selects = page.locator("select[name^=position-]")
        total = selects.count()
        order: list[str] = [""] * total
        for index in range(total):
            select_ = selects.nth(index)
            place = (index + variant) % total
            select_.select_option(str(place + 1))
            order[place] = select_.get_attribute("name").removeprefix("position-")  # type: ignore[union-attr]
        return order
    if kind == "numeric":
        page.locator("#answer").fill(str(12 + variant))
        return float(12 + variant)
    if kind in ("text", "written"):
        text = f"An answer in words, number {variant}"
        page.locator("#answer").fill(text)
        return text
    raise AssertionError(f"unexpected item type {kind}")


def expect_answer_shown(page: Page, answer: Any) -> None:
    """Check the question on the page shows this stored answer."""
    kind = page.locator("#sitting-form").get_attribute("data-item-type")
    if kind == "single":
        expect(page.locator(f"input[name=answer][value='{answer}']")).to_be_checked()
    elif kind == "multiple":
        for value in answer:
            expect(page.locator(f"input[name=answer][value='{value}']")).to_be_checked()
        expect(page.locator("input[name=answer]:checked")).to_have_count(len(answer))
    elif kind == "ordering":
        for place, option in enumerate(answer, start=1):
            expect(page.locator(f"select[name='position-{option}']")).to_have_value(str(place))
    elif kind == "numeric":
        expect(page.locator("#answer")).to_have_value(re.compile(rf"^{answer:g}(\.0)?$"))
    else:
        expect(page.locator("#answer")).to_have_value(answer)


def shown_remaining(page: Page) -> int:
    """Read the timer, in seconds ("1 hour 2 minutes 3 seconds", "45 seconds")."""
    text = page.locator("#timer-text").inner_text()
    units = {"hour": 3600, "minute": 60, "second": 1}
    parts = re.findall(r"(\d+) (hour|minute|second)s?", text)
    assert parts, f"timer shows {text!r}"
    return sum(int(number) * units[unit] for number, unit in parts)


def server_remaining(attempt_id: int) -> float:
    deadline_at = attempt(attempt_id).deadline_at
    assert deadline_at is not None
    return (deadline_at - clock.now()).total_seconds()


def london_time(moment: datetime) -> str:
    return moment.astimezone(UK).strftime("%H:%M:%S")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe on the page; return violations with impact serious or critical."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [
                    {"target": node["target"], "summary": node.get("failureSummary")}
                    for node in v["nodes"]
                ],
            }
            for v in violations
        ],
        indent=2,
    )
