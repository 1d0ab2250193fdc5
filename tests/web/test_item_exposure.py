"""Practice never reveals an accreditation item's key, and cannot be used during an accreditation.

The harvest sits the practice tests many times through every route a candidate
has (item pages, feedback, review, the end page, the result page and the API)
and looks for anything that would give away an item an accreditation test can
draw: its key, its rationale, its accepted answers, or (for an item only
accreditation tests use) the question itself.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.models import Item, ItemVersion
from accredit.models.delivery import AttemptItem
from accredit.models.results import ScoredPosition
from accredit.web.presentation import answer_in_words
from tests.conftest import Auth, csrf_token
from tests.sitting import write_tree
from tests.web.test_sitting_pages import post_answer

SHIPPED = Path(__file__).resolve().parent.parent.parent / "question_banks"


def _sit_practice(client: Any, key: str) -> list[Any]:
    """Sit one practice attempt through every page and API route; return what came back."""
    token = csrf_token(client, "/candidate/")
    received = [client.get("/candidate/"), client.get(f"/candidate/assessments/{key}")]
    started = client.post(f"/candidate/assessments/{key}/start")
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    url = started.headers["Location"]
    attempt_id = int(url.split("/")[3])
    api = f"/api/v1/attempts/{attempt_id}"
    received.append(client.get(api))
    while "/items/" in url:
        page = client.get(url)
        received.append(page)
        posted = post_answer(client, url, page.get_data(as_text=True))
        received.append(posted)
        url = posted.headers["Location"]
        if url.endswith("/feedback"):
            feedback = client.get(url)
            received.append(feedback)
            position = int(url.split("/")[-2])
            following = re.search(r'href="(/candidate/attempts/\d+/(items/\d+|review))"',
                                  feedback.get_data(as_text=True))  # fmt: skip
            assert following, "the feedback page leads on"
            url = following.group(1)
            received.append(client.get(f"/candidate/attempts/{attempt_id}/items/{position}"))
    received += [client.get(url), client.get(f"/candidate/attempts/{attempt_id}/submit")]
    done = client.post(f"/candidate/attempts/{attempt_id}/submit")
    received += [done, client.get(done.headers["Location"])]
    received += [
        client.get(f"/candidate/attempts/{attempt_id}/result"),
        client.get(f"{api}/result"),
        client.get(api),
        client.get("/candidate/history"),
    ]
    assert token
    return received


def _accreditation_items(db: Any) -> list[tuple[ItemVersion, bool]]:
    """Every item an accreditation test can draw, and whether practice may draw it too."""
    rows = db.session.execute(
        select(ItemVersion)
        .join(Item, (Item.id == ItemVersion.item_id) & (ItemVersion.version == Item.current_version))
        .where(ItemVersion.for_accreditation.is_(True))
    ).scalars()  # fmt: skip
    return [(version, version.for_practice) for version in rows]


def _assert_nothing_harvested(db: Any, received: list[Any]) -> int:
    everything = "\n".join(response.get_data(as_text=True) for response in received)
    unescaped = html.unescape(everything)
    checked = 0
    for version, also_practice in _accreditation_items(db):
        content = version.content
        checked += 1
        if not also_practice:
            stem = " ".join(content["stem"].split())
            assert stem not in " ".join(unescaped.split()), f"{content['id']} was shown"
        for sentence in re.split(r"(?<=\.)\s+", content.get("rationale", "").strip()):
            if len(sentence) > 40:
                assert sentence not in unescaped, f"rationale of {content['id']} leaked"
        for accepted in content.get("accepted", []):
            # Short numbers also appear as table cells (profiles); "The answer" below covers them.
            if len(accepted) > 3 and not accepted.isdigit():
                assert f">{accepted}<" not in everything, f"accepted answer of {content['id']}"
        if content["type"] != "written":
            said = f"The answer: {answer_in_words(content)}"
            assert said not in " ".join(unescaped.split()), f"key of {content['id']} leaked"
    for response in received:
        if response.is_json and isinstance(response.json, dict):
            for item in response.json.get("items", []):
                assert "rationale" not in item
    return checked


@pytest.mark.slow
def test_many_practice_attempts_reveal_no_accreditation_key(app, db, candidate):
    import_tree(SHIPPED)
    practice = ["kssp-practice", "ksss-practice", "kssl-practice"]
    for key in practice:
        service.enrol(candidate, key, actor=None)
    db.session.commit()
    client = app.test_client()
    Auth(client).login(candidate.email)
    received: list[Any] = []
    for _round in range(8):
        for key in practice:
            received += _sit_practice(client, key)
    assert sum("The answer:" in r.get_data(as_text=True) for r in received) > 50, "feedback shown"
    assert _assert_nothing_harvested(db, received) > 100


def test_an_item_for_both_uses_is_practised_but_never_marked(app, db, candidate, tmp_path):
    """Practice may draw an item accreditation tests draw, but as an unmarked trial question.

    Its feedback, its mark in the review, the API and the score would each give the
    key away (for a single choice, "correct" next to one's own answer is the key).
    """
    base = write_tree(tmp_path)
    items_file = base / "banks/mini/items.yaml"
    data = yaml.safe_load(items_file.read_text())
    for item in data["items"]:
        if item["id"] == "ps-0":
            item["use"] = ["accreditation", "practice"]
    items_file.write_text(yaml.safe_dump(data, sort_keys=False))
    report = import_tree(base)
    assert report.succeeded, report.run.errors
    service.enrol(candidate, "mini-practice", actor=None)
    db.session.commit()
    client = app.test_client()
    Auth(client).login(candidate.email)
    received = []
    for _round in range(6):
        received += _sit_practice(client, "mini-practice")
    shared = db.session.execute(
        select(AttemptItem.pretest, ScoredPosition.pretest)
        .join(Item, Item.id == AttemptItem.item_id)
        .join(ScoredPosition, (ScoredPosition.attempt_id == AttemptItem.attempt_id)
              & (ScoredPosition.position == AttemptItem.position))
        .where(Item.key == "ps-0")
    ).all()  # fmt: skip
    assert shared, "the shared item was practised"
    assert all(on_form and scored for on_form, scored in shared), "and never marked"
    everything = "\n".join(r.get_data(as_text=True) for r in received)
    assert "Feedback is not given on this question" in everything
    assert "RATIONALE-OF-ps-0" not in everything
    assert "RATIONALE-OF-pm-" in everything, "practice-only items still get feedback"
    _assert_nothing_harvested(db, received)


def test_no_practice_while_an_accreditation_attempt_is_open(app, db, candidate, enrol):
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    client = app.test_client()
    Auth(client).login(candidate.email)
    token = csrf_token(client, "/candidate/")
    practice = client.post("/candidate/assessments/mini-practice/start")
    practice_url = practice.headers["Location"]
    practice_id = int(practice_url.split("/")[3])
    client.post("/candidate/assessments/mini-test/start")

    refused = client.post("/candidate/assessments/mini-practice/start")
    assert refused.status_code == 409
    assert "Finish that test first" in refused.get_data(as_text=True)
    assert client.get(practice_url).status_code == 409, "an open practice cannot be continued"
    api = client.get(f"/api/v1/attempts/{practice_id}")
    assert api.status_code == 409
    assert api.json["error"]["code"] == "practice_locked"
    saved = client.put(
        f"/api/v1/attempts/{practice_id}/responses/1",
        data=json.dumps({"answer": "a", "seq": 5}),
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert saved.status_code == 409
    start_page = text_of(client.get("/candidate/assessments/mini-practice"))
    assert "Finish that test first" in start_page
    assert "Continue your assessment" not in start_page

    accreditation = db.session.scalar(
        select(service.Attempt).where(service.Attempt.id != practice_id)
    )
    client.post(f"/candidate/attempts/{accreditation.id}/submit")
    assert client.get(practice_url).status_code == 200, "practice resumes once it is submitted"


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())
