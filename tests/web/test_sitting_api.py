"""The sitting's JSON API and the server's rules: ownership, seq, deadlines, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from accredit.delivery import service
from accredit.models import AuditEvent
from accredit.models.delivery import Attempt, Response
from tests.conftest import Auth, csrf_token
from tests.sitting import answer_for
from tests.web.conftest import relogin

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
START = "/api/v1/assessments/mini-test/attempts"


def start(client):
    return client.post(START, headers={"X-CSRFToken": client.token})


def put(client, url, body):
    return client.put(url, json=body, headers={"X-CSRFToken": client.token})


def audit_count(db, action):
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


@pytest.fixture
def app_config():
    # Real CSRF checks: the API must work with the header, as the page uses it.
    return {"WTF_CSRF_ENABLED": True}


def test_start_creates_then_returns_the_open_attempt(sitter):
    first = start(sitter)
    assert first.status_code == 201
    body = first.json
    assert body["status"] == "open"
    assert body["remaining_seconds"] == pytest.approx(600, abs=2)
    assert len(body["items"]) == 11
    assert [item["position"] for item in body["items"]] == list(range(1, 12))
    again = start(sitter)
    assert again.status_code == 200
    assert again.json["id"] == body["id"]


def test_items_carry_no_key_rationale_rating_or_mapping(sitter):
    items = start(sitter).json["items"]
    allowed = {"position", "section", "type", "stem_html", "scenario", "options", "select",
               "unit", "max_length", "word_limit", "response", "seq", "flagged"}  # fmt: skip
    for item in items:
        assert set(item) <= allowed
    text = str(items)
    assert "RATIONALE-OF" not in text
    assert "section 47" not in text, "a text item's accepted answers never reach the browser"
    case_items = [item for item in items if item["scenario"]]
    assert len(case_items) == 3
    assert "VIGNETTE" in case_items[0]["scenario"]["html"]


def test_writes_need_the_csrf_header(sitter):
    assert sitter.post(START).status_code == 400
    assert sitter.post(START).json["error"]["code"] == "csrf_failed"


def test_another_candidates_attempt_is_404(app, sitter, make_user, enrol):
    attempt_id = start(sitter).json["id"]
    other = make_user("candidate")
    enrol(other)
    intruder = app.test_client()
    Auth(intruder).login(other.email)
    intruder.token = csrf_token(intruder, "/candidate/")
    assert intruder.get(f"/api/v1/attempts/{attempt_id}").status_code == 404
    saved = put(intruder, f"/api/v1/attempts/{attempt_id}/responses/1", {"answer": "a", "seq": 1})
    assert saved.status_code == 404
    assert saved.json["error"]["code"] == "not_found"
    assert (
        put(intruder, f"/api/v1/attempts/{attempt_id}/flags/1", {"flagged": True}).status_code
        == 404
    )
    submit = intruder.post(
        f"/api/v1/attempts/{attempt_id}/submit", headers={"X-CSRFToken": intruder.token}
    )
    assert submit.status_code == 404


def test_a_stale_seq_never_overwrites_a_newer_answer(db, sitter):
    body = start(sitter).json
    item = next(item for item in body["items"] if item["type"] == "single")
    url = f"/api/v1/attempts/{body['id']}/responses/{item['position']}"
    first, second = item["options"][0]["id"], item["options"][1]["id"]
    newer = put(sitter, url, {"answer": second, "seq": 7})
    assert newer.json == {"seq": 7, "saved_at": newer.json["saved_at"], "stored": True}
    older = put(sitter, url, {"answer": first, "seq": 6})  # a retry that arrives late
    assert older.status_code == 200
    assert older.json["stored"] is False
    assert older.json["seq"] == 7
    stored = db.session.get(Response, (body["id"], item["position"]))
    assert stored.answer == second
    assert stored.seq == 7


def test_invalid_answers_and_bodies_are_refused(sitter):
    body = start(sitter).json
    multiple = next(item for item in body["items"] if item["type"] == "multiple")
    url = f"/api/v1/attempts/{body['id']}/responses/{multiple['position']}"
    too_many = put(sitter, url, {"answer": ["a", "b", "c"], "seq": 1})
    assert too_many.status_code == 422
    assert too_many.json["error"] == {
        "code": "invalid_answer",
        "message": "Choose no more than 2 answers",
    }
    for bad in (
        {"answer": ["a"]},
        {"seq": 1},
        {"answer": ["a"], "seq": "1"},
        {"answer": ["a"], "seq": 0},
    ):
        assert put(sitter, url, bad).status_code == 400
    missing = put(sitter, f"/api/v1/attempts/{body['id']}/responses/99", {"answer": "a", "seq": 1})
    assert missing.status_code == 404


def test_saves_are_accepted_in_the_grace_period_then_refused_with_409(db, sitter, runner):
    with time_machine.travel(T0, tick=False) as traveller:
        body = start(relogin(sitter)).json
        url = f"/api/v1/attempts/{body['id']}/responses/1"
        answer = answer_for(body["items"][0])
        traveller.shift(timedelta(minutes=10, seconds=5))  # past the deadline, inside the grace
        assert put(sitter, url, {"answer": answer, "seq": 1}).status_code == 200
        traveller.shift(timedelta(seconds=10))  # past the grace period
        late = put(sitter, url, {"answer": answer, "seq": 2})
        assert late.status_code == 409
        assert late.json["error"]["code"] == "deadline_passed"
        # A refused save writes nothing; a read shows the state the times give.
        assert db.session.get(Attempt, body["id"]).submitted_at is None
        read = sitter.get(f"/api/v1/attempts/{body['id']}?items=false").json
        assert read["status"] == "expired"
        assert read["remaining_seconds"] == 0
        assert audit_count(db, "attempt.expired") == 0
        # The sweep closes it.
        assert "finalised 1" in runner.invoke(args=["attempts", "sweep"]).output
    attempt = db.session.get(Attempt, body["id"])
    db.session.refresh(attempt)
    assert attempt.submission == "expired"
    assert attempt.submitted_at == T0 + timedelta(minutes=10), "closed at its deadline"
    assert audit_count(db, "attempt.expired") == 1
    assert db.session.get(Response, (body["id"], 1)).seq == 1, "the in-grace save was kept"


def test_the_clock_is_the_servers(sitter):
    with time_machine.travel(T0, tick=False) as traveller:
        attempt_id = start(relogin(sitter)).json["id"]
        traveller.shift(timedelta(minutes=4))
        body = sitter.get(f"/api/v1/attempts/{attempt_id}").json
        assert body["remaining_seconds"] == 360
        assert body["deadline_at"] == (T0 + timedelta(minutes=10)).isoformat()


def test_submit_is_idempotent(db, sitter):
    attempt_id = start(sitter).json["id"]
    url = f"/api/v1/attempts/{attempt_id}/submit"
    first = sitter.post(url, headers={"X-CSRFToken": sitter.token})
    second = sitter.post(url, headers={"X-CSRFToken": sitter.token})
    assert (first.json["submitted_now"], second.json["submitted_now"]) == (True, False)
    assert first.json["status"] == second.json["status"] == "submitted"
    assert audit_count(db, "attempt.submitted") == 1
    after = put(sitter, f"/api/v1/attempts/{attempt_id}/responses/1", {"answer": None, "seq": 9})
    assert after.status_code == 409
    assert after.json["error"]["code"] == "attempt_submitted"


def run_together(count, action):
    barrier, results = threading.Barrier(count), [None] * count

    def worker(index):
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_submits_give_one_submission(db, sitter):
    attempt_id = start(sitter).json["id"]
    url = f"/api/v1/attempts/{attempt_id}/submit"
    results = run_together(4, lambda: sitter.post(url, headers={"X-CSRFToken": sitter.token}))
    assert all(result.status_code == 200 for result in results)
    assert sorted(result.json["submitted_now"] for result in results) == [False, False, False, True]
    assert audit_count(db, "attempt.submitted") == 1


def test_concurrent_starts_create_exactly_one_attempt(db, sitter):
    results = run_together(4, lambda: start(sitter))
    assert all(result.status_code in (200, 201) for result in results), [r.json for r in results]
    assert len({result.json["id"] for result in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1
    assert audit_count(db, "attempt.started") == 1


def test_flags_are_saved_without_touching_answers(db, sitter):
    body = start(sitter).json
    url = f"/api/v1/attempts/{body['id']}/responses/2"
    put(sitter, url, {"answer": answer_for(body["items"][1]), "seq": 3})
    assert (
        put(sitter, f"/api/v1/attempts/{body['id']}/flags/2", {"flagged": True}).status_code == 200
    )
    assert (
        put(sitter, f"/api/v1/attempts/{body['id']}/flags/3", {"flagged": True}).status_code == 200
    )
    items = sitter.get(f"/api/v1/attempts/{body['id']}").json["items"]
    assert (items[1]["flagged"], items[1]["seq"], items[1]["response"] is not None) == (
        True,
        3,
        True,
    )
    assert (items[2]["flagged"], items[2]["response"]) == (True, None)
    assert (
        put(sitter, f"/api/v1/attempts/{body['id']}/flags/2", {"flagged": "yes"}).status_code == 400
    )


def test_the_attempt_policy_is_enforced(db, sitter):
    with time_machine.travel(T0, tick=False) as traveller:
        first = start(relogin(sitter)).json["id"]
        sitter.post(f"/api/v1/attempts/{first}/submit", headers={"X-CSRFToken": sitter.token})
        cooling = start(sitter)
        assert cooling.status_code == 409
        assert cooling.json["error"]["code"] == "start_refused"
        assert "again from" in cooling.json["error"]["message"]
        traveller.shift(timedelta(days=31))
        second = start(relogin(sitter)).json["id"]
        sitter.post(f"/api/v1/attempts/{second}/submit", headers={"X-CSRFToken": sitter.token})
        traveller.shift(timedelta(days=31))
        used_up = start(relogin(sitter))
        assert used_up.status_code == 409
        assert "used all 2 attempts" in used_up.json["error"]["message"]


def test_not_enrolled_is_404(app, make_user, catalogue):
    stranger = make_user("candidate")
    client = app.test_client()
    Auth(client).login(stranger.email)
    token = csrf_token(client, "/candidate/")
    refused = client.post(START, headers={"X-CSRFToken": token})
    assert refused.status_code == 404
    assert refused.json["error"]["code"] == "not_enrolled"


def test_openapi_document_covers_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
        for path, operations in document["paths"].items()
        for method in operations
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = rule.rule.replace("<int:", "<")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, path) in documented, (method, path)


class TestExtraTimeAndSweep:
    def test_extra_time_moves_an_open_attempts_deadline_at_once(self, db, sitter, candidate):
        with time_machine.travel(T0, tick=False):
            attempt_id = start(relogin(sitter)).json["id"]
            enrolment = db.session.scalar(select(Attempt).filter_by(id=attempt_id)).enrolment
            with pytest.raises(service.InvalidEnrolment, match="reason"):
                service.set_adjustment(enrolment, percent=25, minutes=None, reason="", actor=None)
            service.set_adjustment(
                enrolment, percent=50, minutes=None, reason="Assessed need: dyslexia", actor=None
            )
            db.session.commit()
            body = sitter.get(f"/api/v1/attempts/{attempt_id}").json
            assert body["remaining_seconds"] == 900
            event = db.session.scalar(select(AuditEvent).filter_by(action="enrolment.adjusted"))
            assert event.details["reason"] == "Assessed need: dyslexia"
            assert event.details["after"] == "50% extra time"

    def test_sweep_finalises_expired_attempts_exactly_once(self, db, sitter, runner):
        with time_machine.travel(T0, tick=False) as traveller:
            attempt_id = start(relogin(sitter)).json["id"]
            traveller.shift(timedelta(minutes=10, seconds=5))
            assert "finalised 0" in runner.invoke(args=["attempts", "sweep"]).output, "grace first"
            traveller.shift(timedelta(minutes=1))
            first = runner.invoke(args=["attempts", "sweep"])
            assert first.exit_code == 0
            assert "Checked 1 overdue attempts, finalised 1; 0 attempts still open." in first.output
            second = runner.invoke(args=["attempts", "sweep"])
            assert "finalised 0" in second.output
        attempt = db.session.get(Attempt, attempt_id)
        db.session.refresh(attempt)
        assert attempt.submission == "expired"
        assert audit_count(db, "attempt.expired") == 1

    def test_enrol_command_records_the_reason(self, db, runner, candidate, catalogue):
        refused = runner.invoke(
            args=["enrol", candidate.email, "mini-test", "--extra-percent", "25"]
        )
        assert refused.exit_code == 1
        assert "Give the reason for the extra time" in refused.output
        done = runner.invoke(
            args=["enrol", candidate.email, "mini-test", "--extra-percent", "25",
                  "--reason", "Assessed need"]
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        assert "25% extra time" in done.output


def test_practice_feedback_fixes_the_answer(app, db, candidate, enrol):
    enrol(candidate, "mini-practice")
    client = app.test_client()
    Auth(client).login(candidate.email)
    token = csrf_token(client, "/candidate/")
    body = client.post(
        "/api/v1/assessments/mini-practice/attempts", headers={"X-CSRFToken": token}
    ).json
    assert body["remaining_seconds"] is None, "practice here is untimed"
    client.put(
        f"/api/v1/attempts/{body['id']}/responses/1",
        json={"answer": answer_for(body["items"][0]), "seq": 1}, headers={"X-CSRFToken": token},
    )  # fmt: skip
    page = f"/candidate/attempts/{body['id']}/items/1/feedback"
    assert client.get(page).status_code == 302, "a read reveals nothing"
    assert client.get(f"/api/v1/attempts/{body['id']}").json["items"][0]["response"] is not None
    revealed = client.post(page, headers={"X-CSRFToken": token})
    assert revealed.headers["Location"].endswith(page)
    feedback = client.get(page)
    assert feedback.status_code == 200
    assert "RATIONALE-OF-" in feedback.get_data(as_text=True)
    locked = client.put(
        f"/api/v1/attempts/{body['id']}/responses/1",
        json={"answer": None, "seq": 2}, headers={"X-CSRFToken": token},
    )  # fmt: skip
    assert locked.status_code == 409
    assert locked.json["error"]["code"] == "answer_locked"


def test_every_error_code_the_api_can_give_is_documented(app):
    import importlib
    import pkgutil

    import accredit
    from accredit.errors import DomainError
    from accredit.web.errors import CODES
    from accredit.web.openapi import ERROR_CODES

    for module in pkgutil.walk_packages(accredit.__path__, "accredit."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    reachable = {
        error.code
        for error in subclasses(DomainError)
        if error.__module__.startswith(("accredit.delivery", "accredit.results", "accredit.web"))
    }
    assert reachable | set(CODES.values()) | {"csrf_failed"} <= set(ERROR_CODES)


def test_a_start_rolled_back_leaves_no_attempt(db, candidate, enrol):
    """The start's savepoint nests inside the request's transaction on every database."""
    enrol(candidate)
    _attempt, created = service.start_attempt(candidate, "mini-test")
    assert created
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    assert audit_count(db, "attempt.started") == 0
