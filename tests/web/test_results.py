"""Results: scored at submission, matching a hand calculation, released as the assessment says."""

from __future__ import annotations

import html
import re
import statistics

import pytest
from sqlalchemy import select

from accredit.analysis import service as analysis
from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.marking import service as marking
from accredit.models import AuditEvent, ItemVersion
from accredit.models.delivery import AttemptItem, Response
from accredit.models.results import Result
from accredit.scoring.items import score_item
from tests.conftest import Auth, csrf_token
from tests.sitting import answer_for, assessment, write_tree

# Half a unit in the sixth decimal place: the most that rounding a stored profile can move it.
STORED_PRECISION = 0.5e-6


def text(response):
    stripped = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(stripped))


@pytest.fixture
def moderated_catalogue(db, tmp_path):
    tree = write_tree(
        tmp_path,
        [
            assessment("mini-test"),
            assessment("mini-moderated", results={"release": "after_moderation", "review": True},
                       competency_rule={"method": "conjunctive", "threshold_percent": 50}),
        ],
    )  # fmt: skip
    report = import_tree(tree)
    db.session.commit()
    assert report.succeeded, report.run.errors


def sit(app, candidate, key):
    """Sit an assessment through the API, answering every question, and submit."""
    client = app.test_client()
    Auth(client).login(candidate.email)
    token = csrf_token(client, "/candidate/")
    body = client.post(f"/api/v1/assessments/{key}/attempts", headers={"X-CSRFToken": token}).json
    for item in body["items"]:
        client.put(
            f"/api/v1/attempts/{body['id']}/responses/{item['position']}",
            json={"answer": answer_for(item), "seq": 1}, headers={"X-CSRFToken": token},
        )  # fmt: skip
    client.post(f"/api/v1/attempts/{body['id']}/submit", headers={"X-CSRFToken": token})
    return client, body["id"]


def hand_calculation(db, attempt_id, written=None):
    """Work the result out independently: keys, answers and the form's Angoff ratings.

    ``written`` gives the agreed mark of each written position, by position.
    """
    written = written or {}
    rows = db.session.execute(
        select(AttemptItem, ItemVersion, Response)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .outerjoin(Response, (Response.attempt_id == AttemptItem.attempt_id)
                   & (Response.position == AttemptItem.position))
        .where(AttemptItem.attempt_id == attempt_id)
    ).all()  # fmt: skip
    raw = cut = 0.0
    per_statement: dict[str, list[float]] = {}
    for slot, version, response in rows:
        scored = score_item(version.content, response.answer if response else None)
        marks = written.get(slot.position, scored.marks)
        raw += marks
        cut += statistics.fmean(version.content["angoff"]) * scored.max_marks
        for statement in version.content["competencies"]:
            earned, possible = per_statement.get(statement, [0.0, 0.0])
            per_statement[statement] = [earned + marks, possible + scored.max_marks]
    return raw, cut, per_statement


def test_an_immediate_result_matches_a_hand_calculation(app, db, candidate, enrol):
    enrol(candidate)
    client, attempt_id = sit(app, candidate, "mini-test")
    stored = db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))
    raw, cut, per_statement = hand_calculation(db, attempt_id)
    assert stored.raw == pytest.approx(raw)
    assert stored.maximum == 11
    assert stored.cut == pytest.approx(cut)
    assert stored.passed is (raw >= cut)
    assert stored.released_at is not None
    for statement in stored.profile:
        earned, possible = per_statement[statement["statement"]]
        assert (statement["earned"], statement["possible"]) == pytest.approx(
            (earned, possible), rel=0, abs=STORED_PRECISION
        )
    page = text(client.get(f"/candidate/attempts/{attempt_id}/result"))
    assert f"Your score {raw:g} out of 11" in page
    assert "Your competency profile" in page
    assert 'role="img"' in client.get(f"/candidate/attempts/{attempt_id}/result").get_data(
        as_text=True
    )
    api = client.get(f"/api/v1/attempts/{attempt_id}/result").json
    assert api["raw"] == pytest.approx(raw)
    assert api["outcome"] == ("passed" if raw >= cut else "not_passed")
    assert "items" not in api, "this assessment does not allow review"


def moderate_everything(key, lead):
    """The lead assessor ratifies what is in moderation and draws the sample from the rest."""
    for fact in marking.result_facts(key):
        if fact.stage == "in_moderation":
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    if any(fact.stage == "agreed" for fact in marking.result_facts(key)):
        marking.draw_sample(key, actor=lead)
    for fact in marking.result_facts(key):
        if fact.stage == "in_moderation":
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    analysis.sign_off(key, actor=lead, note="Reviewed")
    db_session().commit()


def db_session():
    from accredit.extensions import db

    return db.session


def a_lead(make_user):
    lead = make_user("assessor", name="Lead Assessor")
    lead.lead_assessor = True
    db_session().commit()
    return lead


def test_after_moderation_the_candidate_sees_only_awaiting(
    app, db, candidate, moderated_catalogue, runner, make_user
):
    service.enrol(candidate, "mini-moderated", actor=None)
    db.session.commit()
    client, attempt_id = sit(app, candidate, "mini-moderated")
    page = text(client.get(f"/candidate/attempts/{attempt_id}/result"))
    assert "Submitted – awaiting result" in page
    assert "Your score" not in page
    assert "RATIONALE-OF" not in page
    refused = client.get(f"/api/v1/attempts/{attempt_id}/result")
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "not_released"
    assert "Submitted – awaiting result" in text(client.get("/candidate/"))
    refused_release = runner.invoke(args=["results", "release", "--assessment", "mini-moderated"])
    assert refused_release.exit_code == 1
    assert "once every one is ratified or withheld" in refused_release.output

    moderate_everything("mini-moderated", a_lead(make_user))
    released = runner.invoke(args=["results", "release", "--assessment", "mini-moderated"])
    assert "Released 1 results" in released.output
    shown = client.get(f"/candidate/attempts/{attempt_id}/result")
    assert "Your competency profile" in text(shown)
    # Review is allowed, but these are accreditation items: neither keys nor per-item marks,
    # since a mark against the candidate's own answer would give the key away too.
    assert "Your answers" in text(shown), "this assessment allows review after release"
    assert "RATIONALE-OF-" not in text(shown)
    assert "its answer and your mark for it are not shown" in text(shown)
    assert "Not correct" not in text(shown)
    api = client.get(f"/api/v1/attempts/{attempt_id}/result").json
    assert len(api["items"]) == 11
    assert all(item["key"] is None and item["marks"] is None for item in api["items"])
    assert "Result available" in text(client.get("/candidate/"))
    event = db.session.scalar(select(AuditEvent).filter_by(action="result.released"))
    assert event.subject_id == str(attempt_id)


def test_another_candidates_result_is_404(app, db, candidate, enrol, make_user):
    enrol(candidate)
    _client, attempt_id = sit(app, candidate, "mini-test")
    other = make_user("candidate")
    client = app.test_client()
    Auth(client).login(other.email)
    assert client.get(f"/api/v1/attempts/{attempt_id}/result").status_code == 404
    assert client.get(f"/candidate/attempts/{attempt_id}/result").status_code == 404


def test_recompute_reports_nothing_on_untouched_data_and_audits_applied_changes(
    app, db, candidate, enrol, runner
):
    enrol(candidate)
    _client, attempt_id = sit(app, candidate, "mini-test")
    untouched = runner.invoke(args=["results", "recompute"])
    assert untouched.exit_code == 0
    assert "Checked 1 results: 0 would change." in untouched.output

    # A response edited behind the service's back (a wrong answer made right): recompute
    # notices and reports it.
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))
    wrong = next(item for item in row.items if item["marks"] == 0 and isinstance(item["key"], str))
    response = db.session.get(Response, (attempt_id, wrong["position"]))
    response.answer = wrong["key"]
    db.session.commit()
    dry = runner.invoke(args=["results", "recompute", "--assessment", "mini-test"])
    assert "1 would change" in dry.output
    assert f"attempt {attempt_id}:" in dry.output
    assert db.session.scalar(select(AuditEvent).filter_by(action="result.recomputed")) is None
    applied = runner.invoke(args=["results", "recompute", "--apply"])
    assert "1 changed" in applied.output
    event = db.session.scalar(select(AuditEvent).filter_by(action="result.recomputed"))
    assert event.details["after"]["raw"] == event.details["before"]["raw"] + 1
    assert "0 would change" in runner.invoke(args=["results", "recompute"]).output


def test_history_shows_every_attempt_and_each_statements_trend(app, db, candidate, enrol):
    enrol(candidate)
    client, _attempt_id = sit(app, candidate, "mini-test")
    page = client.get("/candidate/history")
    body = text(page)
    assert "Assessment mini-test Passed" in body or "Assessment mini-test Not passed" in body
    assert "Each statement across attempts" in body
    assert "Percentage by statement and attempt" in body
    assert "M1: First" in body


def test_an_expired_attempt_is_scored_too(app, db, candidate, enrol, runner):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from tests.web.conftest import relogin

    enrol(candidate)
    client = app.test_client()
    client.email = candidate.email
    with time_machine.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=False) as traveller:
        relogin(client)
        client.post("/api/v1/assessments/mini-test/attempts", headers={"X-CSRFToken": client.token})
        traveller.shift(timedelta(minutes=11))
        runner.invoke(args=["attempts", "sweep"])
    row = db.session.scalar(select(Result))
    assert row is not None
    assert row.raw == 0
    assert row.passed is False


def test_a_lead_assessor_moderates_and_releases_a_moderated_result(
    app, db, candidate, moderated_catalogue, make_user
):
    service.enrol(candidate, "mini-moderated", actor=None)
    db.session.commit()
    candidate_client, attempt_id = sit(app, candidate, "mini-moderated")
    ordinary, lead = app.test_client(), app.test_client()
    Auth(ordinary).login(make_user("assessor").email)
    Auth(lead).login(a_lead(make_user).email)
    assert ordinary.get("/assessor/moderation").status_code == 403
    token = csrf_token(lead, "/assessor/moderation")
    page = text(lead.get("/assessor/moderation"))
    assert "Assessment mini-moderated" in page
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))
    fact = marking.result_of(row.id)
    if fact.stage == "in_moderation":
        decided = lead.post(f"/assessor/moderation/results/{row.id}",
                            data={"csrf_token": token, "decision": "ratify"})  # fmt: skip
    else:
        decided = lead.post("/assessor/moderation/mini-moderated/sample",
                            data={"csrf_token": token})  # fmt: skip
    assert decided.status_code == 302
    assert marking.result_of(row.id).stage in ("ratified", "in_moderation")
    if marking.result_of(row.id).stage == "in_moderation":
        lead.post(f"/assessor/moderation/results/{row.id}",
                  data={"csrf_token": token, "decision": "ratify"})  # fmt: skip
    assert candidate_client.get(f"/api/v1/attempts/{attempt_id}/result").status_code == 403
    refused = lead.post("/assessor/moderation/mini-moderated/release", data={"csrf_token": token})
    assert refused.status_code == 409, "the item analysis is not signed off"
    assert "signed off" in text(refused)
    signed = lead.post("/assessor/moderation/mini-moderated/sign-off", data={"csrf_token": token})
    assert signed.status_code == 302
    released = lead.post("/assessor/moderation/mini-moderated/release", data={"csrf_token": token})
    assert released.status_code == 302
    assert candidate_client.get(f"/api/v1/attempts/{attempt_id}/result").status_code == 200


def test_a_leader_sees_their_candidates_history(app, db, candidate, enrol, make_user):
    enrol(candidate)
    sit(app, candidate, "mini-test")
    leader = make_user("leader", organisation=candidate.organisation)
    client = app.test_client()
    Auth(client).login(leader.email)
    # Opening a history is a recorded POST; the page then shows it.
    assert client.post(f"/leader/candidates/{candidate.id}/open").status_code == 303
    page = text(client.get(f"/leader/candidates/{candidate.id}"))
    assert "Assessment mini-test" in page
    assert "Each statement across attempts" in page


class TestTheDemoAccreditationTest:
    """The real demo test: the released outcome and profile match a hand calculation."""

    def test_released_result_matches_a_hand_calculation(
        self, app, db, candidate, runner, make_user
    ):
        from pathlib import Path

        import_tree(Path(__file__).resolve().parent.parent.parent / "question_banks")
        service.enrol(candidate, "kssp-accreditation", actor=None)
        markers = [make_user("assessor") for _ in range(2)]
        lead = a_lead(make_user)
        db.session.commit()
        client, attempt_id = sit(app, candidate, "kssp-accreditation")
        assert client.get(f"/api/v1/attempts/{attempt_id}/result").status_code == 403
        # Both markers give every criterion's second level: the agreed mark is theirs.
        [script] = marking.gather(attempt_ids=[attempt_id])
        levels = {c["id"]: c["levels"][1]["marks"] for c in script.content["rubric"]}
        for round_name in ("first", "second"):
            marker_id = marking.script(script.id).allocations[round_name].marker_id
            marker = next(m for m in [*markers, lead] if m.id == marker_id)
            marking.mark_script(script.id, marker, levels)
        db.session.commit()
        moderate_everything("kssp-accreditation", lead)
        runner.invoke(args=["results", "release", "--assessment", "kssp-accreditation"])
        api = client.get(f"/api/v1/attempts/{attempt_id}/result").json
        written = {script.slot.position: float(sum(levels.values()))}
        raw, cut, per_statement = hand_calculation(db, attempt_id, written)
        assert api["raw"] == pytest.approx(raw)
        assert api["maximum"] == 30 + script.maximum
        assert api["written"][0]["marks"] == pytest.approx(sum(levels.values()))
        assert api["pass_mark"]["marks"] == pytest.approx(cut, abs=1e-3)
        assert api["outcome"] == ("passed" if raw >= cut else "not_passed")
        assert {s["statement"] for s in api["profile"]} == set(per_statement)
        for statement in api["profile"]:
            earned, possible = per_statement[statement["statement"]]
            # Profiles are stored rounded to 6 decimal places: compare at that precision.
            assert statement["earned"] == pytest.approx(earned, rel=0, abs=STORED_PRECISION)
            assert statement["possible"] == pytest.approx(possible, rel=0, abs=STORED_PRECISION)
            assert statement["met"] is (100 * earned / possible >= 50)
        page = text(client.get(f"/candidate/attempts/{attempt_id}/result"))
        assert f"Your score {raw:g} out of {30 + script.maximum:g}" in page
        assert "Your written answer" in page
        assert "0 would change" in runner.invoke(args=["results", "recompute"]).output
