"""The sitting without JavaScript: every page is a form post that saves."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.models import ItemVersion
from accredit.models.delivery import Attempt, AttemptItem, Response
from tests.conftest import Auth

SHIPPED = Path(__file__).resolve().parent.parent.parent / "question_banks"
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def text(response):
    stripped = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(stripped))


def form_fields(page_html):
    """Return the sitting form's item type, option ids and ordering selects."""
    item_type = re.search(r'data-item-type="(\w+)"', page_html).group(1)
    options = re.findall(r'name="answer" type="(?:radio|checkbox)" value="(\w+)"', page_html)
    positions = re.findall(r'name="position-(\w+)"', page_html)
    select = re.search(r"Choose (\d+) answers", page_html)
    return item_type, options, positions, int(select.group(1)) if select else 1


def post_answer(client, url, page_html, go="next"):
    """Answer the question on a page the way a person would, and press a button."""
    item_type, options, positions, select = form_fields(page_html)
    data = {"seq": re.search(r'name="seq" value="(\d+)"', page_html).group(1), "go": go}
    if item_type == "single":
        data["answer"] = options[0]
    elif item_type == "multiple":
        data["answer"] = options[:select]
    elif item_type == "ordering":
        data.update({f"position-{option}": str(index) for index, option in enumerate(positions, 1)})
    elif item_type == "numeric":
        data["answer"] = "26"
    else:
        data["answer"] = "An answer"
    return client.post(url, data=data)


@pytest.fixture
def candidate_client(app, candidate):
    client = app.test_client()
    Auth(client).login(candidate.email)
    return client


def test_home_shows_each_enrolments_state(candidate_client, candidate, enrol):
    enrol(candidate)
    enrol(candidate, "mini-practice")
    page = text(candidate_client.get("/candidate/"))
    assert "Assessment mini-test Not started Start" in page
    candidate_client.post("/candidate/assessments/mini-test/start")
    page = text(candidate_client.get("/candidate/"))
    assert re.search(
        r"Assessment mini-test In progress (9|10) minutes? [\d a-z]*left Continue", page
    )


def test_start_page_states_items_time_rules_and_adjustment(candidate_client, candidate, enrol):
    enrol(candidate, percent=25, minutes=None, reason="Assessed need")
    page = text(candidate_client.get("/candidate/assessments/mini-test"))
    assert "Questions 11" in page
    assert "Time allowed 12 minutes 30 seconds, including 25% extra time" in page
    assert "Attempts 0 of 2 used" in page
    assert "The timer starts as soon as you select Start assessment" in page
    assert "Start assessment" in page


def test_the_start_button_is_a_post(candidate_client, candidate, enrol, db):
    enrol(candidate)
    assert candidate_client.get("/candidate/assessments/mini-test/start").status_code == 405
    assert db.session.scalar(select(Attempt)) is None


def test_a_whole_sitting_by_form_posts(candidate_client, candidate, enrol, db):
    enrol(candidate)
    response = candidate_client.post("/candidate/assessments/mini-test/start")
    url = response.headers["Location"]
    attempt_id = int(url.split("/")[3])
    for position in range(1, 12):
        page = candidate_client.get(url)
        assert page.status_code == 200
        assert f"Question {position} of 11" in text(page)
        response = post_answer(candidate_client, url, page.get_data(as_text=True))
        assert response.status_code == 302, text(response)[:400]
        url = response.headers["Location"]
    assert url.endswith(f"/attempts/{attempt_id}/review")
    review = text(candidate_client.get(url))
    assert "Not answered" not in review
    assert "Submit your answers" in text(
        candidate_client.get(f"/candidate/attempts/{attempt_id}/submit")
    )
    done = candidate_client.post(f"/candidate/attempts/{attempt_id}/submit")
    assert done.headers["Location"].endswith(f"/attempts/{attempt_id}/done")
    assert "Answers submitted" in text(candidate_client.get(done.headers["Location"]))
    responses = db.session.scalars(select(Response).filter_by(attempt_id=attempt_id)).all()
    assert len([r for r in responses if r.answer is not None]) == 11


def test_navigator_and_flag_save_before_moving(candidate_client, candidate, enrol, db):
    enrol(candidate)
    url = candidate_client.post("/candidate/assessments/mini-test/start").headers["Location"]
    page = candidate_client.get(url).get_data(as_text=True)
    item_type, options, positions, select_count = form_fields(page)
    data = {"seq": "1", "go": "7", "flagged": "yes"}
    if options:
        data["answer"] = options[0] if item_type == "single" else options[:select_count]
    elif positions:
        data.update({f"position-{o}": str(i) for i, o in enumerate(positions, 1)})
    else:
        data["answer"] = "26"
    moved = candidate_client.post(url, data=data)
    assert moved.headers["Location"].endswith("/items/7")
    attempt_id = int(url.split("/")[3])
    stored = db.session.get(Response, (attempt_id, 1))
    assert stored.answer is not None
    assert stored.flagged is True
    review = text(candidate_client.get(f"/candidate/attempts/{attempt_id}/review"))
    assert "Question 1 Answered Flagged" in review


def test_an_invalid_answer_is_explained_and_nothing_is_lost(candidate_client, candidate, enrol, db):
    enrol(candidate)
    url = candidate_client.post("/candidate/assessments/mini-test/start").headers["Location"]
    attempt_id = int(url.split("/")[3])
    slot = db.session.scalar(
        select(AttemptItem).filter_by(attempt_id=attempt_id, item_type="ordering")
    )
    ordering_url = f"/candidate/attempts/{attempt_id}/items/{slot.position}"
    options = slot.option_order
    half = {f"position-{options[0]}": "1", f"position-{options[1]}": "1", "seq": "1"}
    refused = candidate_client.post(ordering_url, data=half)
    assert refused.status_code == 422
    page = text(refused)
    assert page.startswith(" Error: Question")
    assert "There is a problem Give every statement a different position" in page


def test_a_replayed_old_form_does_not_overwrite_a_newer_answer(
    candidate_client, candidate, enrol, db
):
    enrol(candidate)
    url = candidate_client.post("/candidate/assessments/mini-test/start").headers["Location"]
    old_page = candidate_client.get(url).get_data(as_text=True)
    assert post_answer(candidate_client, url, old_page).status_code == 302
    replay = post_answer(candidate_client, url, old_page)  # the same form, sent again
    assert replay.status_code == 409
    assert "This page was out of date, so your answer was not changed" in text(replay)


def test_after_the_deadline_a_save_leads_to_the_time_up_page(app, candidate, enrol, db):
    enrol(candidate)
    client = app.test_client()
    with time_machine.travel(T0, tick=False) as traveller:
        Auth(client).login(candidate.email)
        url = client.post("/candidate/assessments/mini-test/start").headers["Location"]
        page = client.get(url).get_data(as_text=True)
        traveller.shift(timedelta(minutes=10, seconds=5))  # in the grace period
        response = post_answer(client, url, page)
        assert response.headers["Location"].endswith("/done")
        done = text(client.get(response.headers["Location"]))
    assert "Time is up" in done
    assert "Your saved answers were submitted when your time ended" in done
    attempt = db.session.scalar(select(Attempt))
    db.session.refresh(attempt)
    assert attempt.submission == "expired"
    assert db.session.get(Response, (attempt.id, 1)).answer is not None, "the last save counted"


def test_a_scenario_sits_beside_its_question(candidate_client, candidate, enrol, db):
    enrol(candidate)
    url = candidate_client.post("/candidate/assessments/mini-test/start").headers["Location"]
    attempt_id = int(url.split("/")[3])
    slot = db.session.scalar(
        select(AttemptItem).where(
            AttemptItem.attempt_id == attempt_id, AttemptItem.scenario_version_id.is_not(None)
        )
    )
    page = candidate_client.get(f"/candidate/attempts/{attempt_id}/items/{slot.position}")
    body = page.get_data(as_text=True)
    assert 'class="govuk-grid-column-one-half app-scenario-column"' in body
    assert "Case study: The Smith family" in body


def test_practice_feedback_after_each_item(candidate_client, candidate, enrol):
    enrol(candidate, "mini-practice")
    url = candidate_client.post("/candidate/assessments/mini-practice/start").headers["Location"]
    page = candidate_client.get(url).get_data(as_text=True)
    assert "Previous question" not in page
    feedback = post_answer(candidate_client, url, page)
    assert feedback.headers["Location"].endswith("/items/1/feedback")
    shown = text(candidate_client.get(feedback.headers["Location"]))
    assert "RATIONALE-OF-" in shown
    assert "The answer:" in shown
    # Going back to the question shows the feedback again: the answer is fixed.
    assert candidate_client.get(url).headers["Location"].endswith("/items/1/feedback")


class TestNothingLeaksDuringARealSitting:
    """Scan every response a candidate receives while sitting the demo accreditation test."""

    @pytest.fixture
    def real_catalogue(self, db):
        import_tree(SHIPPED)
        db.session.commit()

    def test_no_key_rationale_or_rating_reaches_the_browser(
        self, app, db, candidate, real_catalogue
    ):
        service.enrol(candidate, "kssp-accreditation", actor=None)
        db.session.commit()
        client = app.test_client()
        Auth(client).login(candidate.email)
        received = [
            client.get("/candidate/"),
            client.get("/candidate/assessments/kssp-accreditation"),
        ]
        started = client.post("/candidate/assessments/kssp-accreditation/start")
        url = started.headers["Location"]
        attempt_id = int(url.split("/")[3])
        received.append(client.get(f"/api/v1/attempts/{attempt_id}"))
        while "/items/" in url:
            page = client.get(url)
            received.append(page)
            response = post_answer(client, url, page.get_data(as_text=True))
            received.append(response)
            url = response.headers["Location"]
        received += [client.get(url), client.get(f"/candidate/attempts/{attempt_id}/submit")]
        done = client.post(f"/candidate/attempts/{attempt_id}/submit")
        received += [done, client.get(done.headers["Location"]), client.get("/candidate/")]
        received.append(client.get(f"/api/v1/attempts/{attempt_id}"))

        everything = "\n".join(r.get_data(as_text=True) for r in received)
        api_items = json.loads(received[2].get_data(as_text=True))["items"]
        assert len(api_items) == 31, "30 items and a written analysis"
        versions = db.session.scalars(
            select(ItemVersion).join(AttemptItem, AttemptItem.item_version_id == ItemVersion.id)
            .where(AttemptItem.attempt_id == attempt_id)
        ).all()  # fmt: skip
        assert len(versions) == 31
        for version in versions:
            content = version.content
            # Neither the written item's marker guidance nor its level descriptors.
            hidden = [content["rationale"], content.get("guidance") or ""] + [
                level["descriptor"]
                for criterion in content.get("rubric", [])
                for level in criterion["levels"]
            ]
            for sentence in re.split(r"(?<=\.)\s+", " ".join(hidden).strip()):
                if len(sentence) > 40:
                    assert html.escape(sentence, quote=False) not in everything, sentence
                    assert sentence not in everything, sentence
            for accepted in content.get("accepted", []):
                assert f">{accepted}<" not in everything
        for field in (
            '"key"',
            '"rationale"',
            '"angoff"',
            '"competencies"',
            '"accepted"',
            '"rubric"',
        ):
            assert field not in everything, field
        assert "angoff" not in everything.lower()
