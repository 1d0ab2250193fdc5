"""Fuzz the marking API from the OpenAPI document, signed in as a lead assessor who also marks.

Generated requests are mostly pointed at real scripts and results, with the
session's CSRF token, so marks are given, refused, agreed and moderated; the
rest keep their generated ids and tokens. Every reply must be documented, and
none may be a server error.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from accredit.marking import service as marking
from accredit.models import User
from tests.conftest import Auth, csrf_token
from tests.marking_world import import_written, make_world, script_of
from tests.web.test_schemathesis import CHECKS, COOKIE

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
TOP = {"a": 2, "b": 1, "c": 1}
LOW = {"a": 0, "b": 0, "c": 0}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def marking_session(app, db, tmp_path, make_user, make_org) -> dict[str, Any]:
    import_written(tmp_path)
    world = make_world(make_user, make_org)
    # Agreed (so moderation can succeed), in discrepancy (the lead may resolve), untouched.
    plans = [(TOP, TOP)] * 3 + [(TOP, LOW)] * 2 + [None]
    for plan in plans:
        attempt = world.sit()
        if plan is None:
            continue
        script_id = script_of(attempt)
        for round_name, criteria in zip(("first", "second"), plan, strict=True):
            marker_id = marking.script(script_id).allocations[round_name].marker_id
            marking.mark_script(script_id, db.session.get_one(User, marker_id), criteria)
    db.session.commit()
    client = app.test_client()
    Auth(client).login(world.lead.email)
    return {
        "client": client,
        "token": csrf_token(client, "/assessor/"),
        "cookie": client.get_cookie(COOKIE).value,
        "scripts": [fact.id for fact in marking.gather()],
        "results": [fact.result.id for fact in marking.result_facts("mini-written")],
    }


def aim(case: Any, session: dict[str, Any], choice: int) -> None:
    if choice == 0:
        return
    parameters = case.path_parameters or {}
    pick = choice // 3
    if "script_id" in parameters:
        parameters["script_id"] = session["scripts"][pick % len(session["scripts"])]
    if "result_id" in parameters:
        parameters["result_id"] = session["results"][pick % len(session["results"])]
    case.headers = {**(case.headers or {}), "X-CSRFToken": session["token"]}
    if choice % 3 == 2 and isinstance(case.body, dict) and "criteria" in case.body:
        # A whole, valid mark with a reason: the lead's final mark on a discrepancy.
        case.body = {"criteria": TOP, "reason": "Meets every criterion"}
    if choice % 3 == 1 and isinstance(case.body, dict) and "decision" in case.body:
        case.body = {"decision": "ratify"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_the_marking_api_matches_its_document_under_fuzzing(app, marking_session, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [
        result.ok() for result in schema.get_all_operations()
        if result.ok().path.startswith(("/marking", "/moderation"))
    ]  # fmt: skip
    assert len(operations) == 4
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.label == "GET /marking/queue":
            continue  # it takes no input, so there is nothing to make invalid

        @settings(
            max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode), choice=st.integers(0, 12))
        def exercise(case: Any, choice: int) -> None:
            aim(case, marking_session, choice)
            response = contextvars.Context().run(
                case.call, cookies={COOKIE: marking_session["cookie"]}
            )
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        exercise()
    assert all(status < 500 for seen in statuses.values() for status in seen), statuses
    if mode is GenerationMode.POSITIVE:
        assert 200 in statuses["GET /marking/queue"]
        assert 200 in statuses["GET /marking/scripts/{script_id}"], statuses
        assert 200 in statuses["POST /moderation/results/{result_id}"], statuses
        assert 200 in statuses["PUT /marking/scripts/{script_id}/marks"], statuses
