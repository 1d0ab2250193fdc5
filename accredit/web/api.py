"""The JSON API the sitting page uses: start, read, save, flag and submit.

Authentication is the session cookie from /login; writes need the X-CSRFToken
header. Errors are ``{"error": {"code": ..., "message": ...}}``. The contract is
published at /api/v1/openapi.json.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from accredit.delivery import service, sitting
from accredit.policy import CANDIDATE_AREA, guard_blueprint, public
from accredit.results import queries as results_queries
from accredit.results import service as results
from accredit.web.inputs import BadRequest, checked_seq
from accredit.web.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
guard_blueprint(bp, CANDIDATE_AREA)

MAX_JSON_DEPTH = 32
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest("Send a JSON object, with Content-Type: application/json")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError) as error:
        raise BadRequest("Send a JSON object: the body is not valid JSON") from error
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object")
    if _depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"Send JSON nested no more than {MAX_JSON_DEPTH} levels deep")
    return body


def _depth(value: Any) -> int:
    """Return how deeply lists and objects nest in a parsed JSON value (1 for a flat one)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, level)
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, level + 1) for child in children)
    return deepest


def items_wanted() -> bool:
    """Read ?items= as a boolean: true or 1, false or 0; anything else is refused."""
    raw = request.args.get("items", "true")
    if raw.lower() not in BOOLEANS:
        raise BadRequest("items must be true or false")
    return BOOLEANS[raw.lower()]


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    return jsonify(openapi_document())


@bp.post("/assessments/<assessment_id>/attempts")
def start(assessment_id: str) -> tuple[Response, int]:
    attempt, created = service.start_attempt(current_user, assessment_id)
    return jsonify(sitting.payload(attempt)), 201 if created else 200


@bp.get("/attempts/<int:attempt_id>")
def show(attempt_id: int) -> Response:
    with_items = items_wanted()
    attempt = service.attempt_for(current_user, attempt_id)
    # The page's timer re-syncs with ?items=false: it needs the clock, not every question.
    return jsonify(sitting.payload(attempt, with_items=with_items))


@bp.put("/attempts/<int:attempt_id>/responses/<int:position>")
def save(attempt_id: int, position: int) -> Response:
    body = json_body()
    if "answer" not in body:
        raise BadRequest('Send {"answer": ..., "seq": n} with a whole-number seq')
    seq = checked_seq(body.get("seq"))
    saved = service.save_answer(current_user, attempt_id, position, body["answer"], seq)
    return jsonify(
        {
            "seq": saved.seq,
            "saved_at": saved.saved_at.isoformat() if saved.saved_at else None,
            "stored": saved.stored,
        }
    )


@bp.put("/attempts/<int:attempt_id>/flags/<int:position>")
def flag(attempt_id: int, position: int) -> Response:
    flagged = json_body().get("flagged")
    if not isinstance(flagged, bool):
        raise BadRequest('Send {"flagged": true} or {"flagged": false}')
    attempt = service.attempt_for(current_user, attempt_id)
    service.set_flag(current_user, attempt, position, flagged)
    return jsonify({"position": position, "flagged": flagged})


@bp.get("/attempts/<int:attempt_id>/result")
def result(attempt_id: int) -> Response:
    attempt = service.attempt_for(current_user, attempt_id)
    row = results.released_result(attempt)
    review = service.spec_of(attempt.assessment_version).results.review
    return jsonify(results_queries.result_json(row, with_items=review))


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int) -> Response:
    attempt = service.attempt_for(current_user, attempt_id)
    submitted_now = service.submit(current_user, attempt)
    return jsonify({**sitting.payload(attempt, with_items=False), "submitted_now": submitted_now})
