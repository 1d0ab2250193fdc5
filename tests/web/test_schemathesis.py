"""Fuzz the sitting API from its own OpenAPI document: no 5xx, and every reply as documented.

A candidate is signed in with an open attempt, and most generated requests are
pointed at that attempt (its id, a real position, the assessment's key) with the
session's CSRF token, so the routes do real work: saving, flagging, submitting.
The rest keep what was generated, so unknown ids, stray positions and bad tokens
are fuzzed too. Negative cases (data the document forbids) must also get no 5xx
and a documented reply. Examples are bounded so the run stays well under a minute.
"""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.sitting import answer_for

START = "/api/v1/assessments/mini-test/attempts"
COOKIE = "accredit_session"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def sitting(sitter: Any) -> dict[str, Any]:
    body = sitter.post(START, headers={"X-CSRFToken": sitter.token}).json
    return {
        "client": sitter,
        "attempt_id": body["id"],
        "positions": [item["position"] for item in body["items"]],
        "answers": [answer_for(item) for item in body["items"]],
        "cookie": sitter.get_cookie(COOKIE).value,
    }


def aim(case: Any, sitting: dict[str, Any], choice: int) -> None:
    """Point a generated request at the candidate's own attempt, most of the time."""
    if choice == 0:
        return  # keep the generated ids and token: unknown attempts, stray positions
    parameters = case.path_parameters or {}
    if "attempt_id" in parameters:
        parameters["attempt_id"] = sitting["attempt_id"]
    if "position" in parameters:
        parameters["position"] = sitting["positions"][choice % len(sitting["positions"])]
    if "assessment_id" in parameters:
        parameters["assessment_id"] = "mini-test"
    case.headers = {**(case.headers or {}), "X-CSRFToken": sitting["client"].token}
    if choice == 2 and isinstance(case.body, dict) and "answer" in case.body:
        # A well-formed answer for the item at this position, so saves are stored.
        index = sitting["positions"].index(parameters.get("position", 1))
        case.body = {**case.body, "answer": sitting["answers"][index]}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_the_api_matches_its_document_under_fuzzing(app: Any, sitting: dict[str, Any], mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10, "six sitting operations and four for marking"
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
            aim(case, sitting, choice)
            # A fresh context per request, as in production (see tests.conftest.FlaskClient).
            response = contextvars.Context().run(case.call, cookies={COOKIE: sitting["cookie"]})
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        exercise()
    assert all(status < 500 for seen in statuses.values() for status in seen), statuses
    if mode is GenerationMode.POSITIVE:
        reached = {status for seen in statuses.values() for status in seen}
        assert reached & {200, 201}, f"no request did real work: {statuses}"
