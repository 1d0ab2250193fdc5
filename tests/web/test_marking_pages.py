"""Marking through the pages and the JSON API: blind, allocated, lead-only where it should be."""

from __future__ import annotations

import html
import json

import pytest
from sqlalchemy import select

from accredit.marking import service as marking
from accredit.models import User
from accredit.models.results import Result
from tests.conftest import Auth, csrf_token
from tests.marking_world import World, import_written, make_world, script_of

TOP = {"a": 2, "b": 1, "c": 1}
FIRST_COMMENT = "FIRST-MARKER-COMMENT-7Q"


@pytest.fixture
def world(db, tmp_path, make_user, make_org) -> World:
    import_written(tmp_path)
    return make_world(make_user, make_org)


def signed_in(app, person: User):
    client = app.test_client()
    Auth(client).login(person.email)
    client.token = csrf_token(client, "/assessor/")
    return client


def identity(candidate: User) -> list[str]:
    organisation = candidate.organisation
    assert organisation is not None
    return [candidate.name, candidate.email, organisation.name, organisation.code]


def everything_seen(app, person: User) -> list[str]:
    """Every marking page and API response this person can reach, as text."""
    client = signed_in(app, person)
    seen = []
    for path in ("/assessor/", "/assessor/next", "/api/v1/marking/queue"):
        seen.append(client.get(path, follow_redirects=True).get_data(as_text=True))
    every_script = [f.id for f in marking.gather()]
    for script_id in every_script:
        for path in (f"/assessor/scripts/{script_id}", f"/api/v1/marking/scripts/{script_id}"):
            response = client.get(path)
            if response.status_code == 200:
                seen.append(response.get_data(as_text=True))
            else:
                assert response.status_code == 404, (path, response.status_code)
    if person.lead_assessor:
        for path in ("/assessor/discrepancies", "/assessor/moderation", "/assessor/quality"):
            seen.append(client.get(path).get_data(as_text=True))
        for fact in marking.result_facts("mini-written"):
            seen.append(
                client.get(f"/assessor/moderation/results/{fact.result.id}").get_data(as_text=True)
            )
    return [html.unescape(text) for text in seen]


def test_no_marking_page_or_response_shows_who_the_candidate_is(app, db, world):
    for n, name in enumerate(["Zelda Quartermaine", "Ignatius Fairweather", "Ottoline Brisk"]):
        world.sit(name=name, email=f"person{n}.private@example.net", right=n == 0)
    candidates = [db.session.get(User, attempt.candidate_id) for attempt in world.attempts]
    secrets = [secret for candidate in candidates for secret in identity(candidate)]
    people = [*world.assessors, world.lead, world.colleague]
    scripts = [script_of(attempt) for attempt in world.attempts]
    seen: list[str] = []

    def marker(script_id: int, round_name: str) -> User:
        held = marking.script(script_id).allocations[round_name].marker_id
        return db.session.get_one(User, held)

    def give(script_id: int, round_name: str, criteria: dict, **extra: str) -> None:
        """Mark through the API and the page, keeping every reply and the page after it."""
        client = signed_in(app, marker(script_id, round_name))
        bad = client.post(
            f"/assessor/scripts/{script_id}/marks",
            data={"csrf_token": client.token, "criterion-a": "2"},
        )  # a 422 re-render, naming what is missing
        assert bad.status_code == 422
        seen.append(bad.get_data(as_text=True))
        reply = client.put(
            f"/api/v1/marking/scripts/{script_id}/marks",
            json={"criteria": criteria, "comment": FIRST_COMMENT, **extra},
            headers={"X-CSRFToken": client.token},
        )
        assert reply.status_code == 200, reply.json
        seen.append(reply.get_data(as_text=True))
        seen.append(client.get("/assessor/", follow_redirects=True).get_data(as_text=True))

    # Untouched, part-marked, in discrepancy, settled, moderated: no stage may leak.
    stages = [
        lambda: None,
        lambda: give(scripts[0], "first", TOP),
        lambda: give(scripts[0], "second", {"a": 0, "b": 0, "c": 0}),
        lambda: give(scripts[0], "third", TOP, reason="Meets each criterion"),
        lambda: [give(scripts[1], r, TOP) for r in ("first", "second")],
    ]
    for stage in stages:
        stage()
        db.session.commit()
        for person in people:
            seen += everything_seen(app, person)
    lead = signed_in(app, world.lead)
    result_id = marking.result_facts("mini-written")[1].result.id
    decided = lead.post(
        f"/api/v1/moderation/results/{result_id}", json={"decision": "ratify"},
        headers={"X-CSRFToken": lead.token},
    )  # fmt: skip
    seen.append(decided.get_data(as_text=True))
    seen += everything_seen(app, world.lead)

    texts = [html.unescape(text) for text in seen]
    leaked = {secret for text in texts for secret in secrets if secret in text}
    assert not leaked
    numbers = [marking.script(script_id).candidate_number for script_id in scripts]
    assert all(any(number in text for text in texts) for number in numbers)


def test_before_both_marks_nobody_else_sees_the_first_markers_marks(app, db, world):
    script_id = script_of(world.sit())
    world.sit()
    first = db.session.get_one(User, marking.script(script_id).allocations["first"].marker_id)
    marking.mark_script(script_id, first, {"a": 1, "b": 0, "c": 1}, comment=FIRST_COMMENT)
    db.session.commit()

    for person in [*world.assessors, world.lead, world.colleague]:
        if person.id == first.id:
            continue
        for text in everything_seen(app, person):
            assert FIRST_COMMENT not in text, person.name
    lead_view = signed_in(app, world.lead).get(f"/api/v1/marking/scripts/{script_id}").json
    assert lead_view["marks"] == []
    assert lead_view["others_visible"] is False


def test_the_other_markers_marks_stay_hidden_until_both_are_in(app, db, world):
    script_id = script_of(world.sit())
    fact = marking.script(script_id)
    first = db.session.get(User, fact.allocations["first"].marker_id)
    second = db.session.get(User, fact.allocations["second"].marker_id)
    marking.mark_script(script_id, first, {"a": 1, "b": 0, "c": 1}, comment=FIRST_COMMENT)
    db.session.commit()
    client = signed_in(app, second)

    page = client.get(f"/assessor/scripts/{script_id}").get_data(as_text=True)
    api = client.get(f"/api/v1/marking/scripts/{script_id}").json

    assert FIRST_COMMENT not in page
    assert "First marker" not in page
    assert api["marks"] == []
    assert api["others_visible"] is False
    assert api["round"] == "second"
    assert FIRST_COMMENT not in json.dumps(api)

    done = client.put(
        f"/api/v1/marking/scripts/{script_id}/marks", json={"criteria": TOP, "comment": "ok"},
        headers={"X-CSRFToken": client.token},
    )  # fmt: skip
    assert done.status_code == 200, done.json
    after = client.get(f"/api/v1/marking/scripts/{script_id}").json
    assert after["others_visible"] is True
    assert {m["round"] for m in after["marks"]} == {"first", "second"}
    assert FIRST_COMMENT in client.get(f"/assessor/scripts/{script_id}").get_data(as_text=True)


def test_marking_through_the_page_saves_and_moves_to_the_next_script(app, db, world):
    world.sit()
    world.sit()
    facts = marking.gather()
    marker = db.session.get(User, facts[0].allocations["first"].marker_id)
    client = signed_in(app, marker)
    queue = marking.queue(marker)
    script_id, round_ = queue[0][0].id, queue[0][1]

    page = client.get(f"/assessor/scripts/{script_id}").get_data(as_text=True)
    assert 'name="criterion-a"' in page
    assert "Save and next" in page
    missing = client.post(
        f"/assessor/scripts/{script_id}/marks",
        data={"csrf_token": client.token, "criterion-a": "2", "criterion-b": "1"},
    )
    assert missing.status_code == 422
    assert "give a mark for c" in missing.get_data(as_text=True)

    saved = client.post(
        f"/assessor/scripts/{script_id}/marks",
        data={"csrf_token": client.token, "criterion-a": "2", "criterion-b": "1",
              "criterion-c": "0", "comment": "Sound", "then": "next"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith("/assessor/next")
    mark = marking.script(script_id).mark_in(round_)
    assert mark is not None
    assert (mark.total, mark.comment) == (3, "Sound")


def test_lead_pages_are_for_the_lead_assessor_only(app, db, world, make_user):
    world.sit()
    ordinary = signed_in(app, world.assessors[0])
    lead = signed_in(app, world.lead)
    for path in ("/assessor/discrepancies", "/assessor/moderation", "/assessor/quality"):
        assert ordinary.get(path).status_code == 403
        assert lead.get(path).status_code == 200
    candidate = app.test_client()
    Auth(candidate).login(make_user("candidate").email)
    assert candidate.get("/api/v1/marking/queue").status_code == 403
    assert app.test_client().get("/api/v1/marking/queue").status_code == 401


def test_the_api_refuses_bad_marks_and_marks_out_of_turn(app, db, world):
    script_id = script_of(world.sit())
    fact = marking.script(script_id)
    second = db.session.get(User, fact.allocations["second"].marker_id)
    first = db.session.get(User, fact.allocations["first"].marker_id)
    outsider = next(a for a in world.assessors if a.id not in {first.id, second.id})
    client = signed_in(app, first)
    put = lambda c, body: c.put(  # noqa: E731
        f"/api/v1/marking/scripts/{script_id}/marks", json=body,
        headers={"X-CSRFToken": c.token},
    )  # fmt: skip

    bad = put(client, {"criteria": {"a": 3, "b": 0, "c": 0}})
    assert bad.status_code == 422
    assert bad.json["error"]["code"] == "invalid_marks"
    assert put(client, {"criteria": "all of them"}).status_code == 400
    assert put(signed_in(app, outsider), {"criteria": TOP}).status_code == 404
    assert put(client, {"criteria": TOP}).status_code == 200
    again = put(client, {"criteria": TOP})
    assert again.status_code == 403
    assert again.json["error"]["code"] == "not_allocated"


def test_the_moderation_api_ratifies_amends_and_withholds(app, db, world):
    attempts = [world.sit() for _ in range(3)]
    for attempt in attempts:
        script_id = script_of(attempt)
        for round_name in ("first", "second"):
            fact = marking.script(script_id)
            marker = db.session.get(User, fact.allocations[round_name].marker_id)
            marking.mark_script(script_id, marker, {"a": 0, "b": 0, "c": 0})
    db.session.commit()
    rows = [db.session.scalar(select(Result).filter_by(attempt_id=a.id)) for a in attempts]
    lead = signed_in(app, world.lead)
    post = lambda result, body, client=lead: client.post(  # noqa: E731
        f"/api/v1/moderation/results/{result.id}", json=body,
        headers={"X-CSRFToken": client.token},
    )  # fmt: skip

    ratified = post(rows[0], {"decision": "ratify", "reason": "Marks are sound"})
    assert ratified.status_code == 200, ratified.json
    assert ratified.json["decision"]["decision"] == "ratify"
    before = rows[1].raw
    refused = post(rows[1], {"decision": "amend", "reason": "", "score": before + 1})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid_decision"
    amended = post(rows[1], {"decision": "amend", "reason": "Criterion a is met",
                             "score": before + 2})  # fmt: skip
    assert amended.status_code == 200
    assert amended.json["raw"] == pytest.approx(before + 2)
    assert amended.json["revision"] == 3, "scored, marked, amended: each a revision"
    withheld = post(rows[2], {"decision": "withhold", "reason": "Suspected collusion"})
    assert withheld.json["stage"] == "withheld"
    assert post(rows[2], {"decision": "ratify"}).status_code == 409
    ordinary = signed_in(app, world.assessors[0])
    assert post(rows[0], {"decision": "ratify"}, ordinary).status_code == 403
    unknown = post(rows[0], {"decision": "maybe"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["code"] == "invalid_decision"


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_marks_and_decisions_without_the_token_are_refused(self, app, db, world):
        script_id = script_of(world.sit())
        first = db.session.get_one(User, marking.script(script_id).allocations["first"].marker_id)
        client = signed_in(app, first)
        assert client.token

        put = client.put(f"/api/v1/marking/scripts/{script_id}/marks", json={"criteria": TOP})
        form = client.post(f"/assessor/scripts/{script_id}/marks", data={"criterion-a": "2"})
        lead = signed_in(app, world.lead)
        sample = lead.post("/assessor/moderation/mini-written/sample")

        assert put.status_code == 400
        assert put.json["error"]["code"] == "csrf_failed"
        assert form.status_code == 400
        assert sample.status_code == 400
        assert marking.script(script_id).marks == []


def test_a_marker_cannot_tell_whether_the_other_has_marked(app, db, world):
    script_id = script_of(world.sit())
    fact = marking.script(script_id)
    first = db.session.get_one(User, fact.allocations["first"].marker_id)
    second = db.session.get_one(User, fact.allocations["second"].marker_id)
    client = signed_in(app, second)
    before = client.get(f"/api/v1/marking/scripts/{script_id}").json
    home_before = client.get("/assessor/").get_data(as_text=True)

    marking.mark_script(script_id, first, TOP)
    db.session.commit()
    after = client.get(f"/api/v1/marking/scripts/{script_id}").json
    home_after = client.get("/assessor/").get_data(as_text=True)

    assert before["state"] == after["state"] == "awaiting_first"
    counts = lambda page: page[page.index("scripts by state") :]  # noqa: E731
    assert counts(home_before) == counts(home_after)
    assert "Not yet marked by you" in counts(home_after)
