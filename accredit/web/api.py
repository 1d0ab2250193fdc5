"""The JSON API the sitting page uses: start, read, save, flag and submit.

Authentication is the session cookie from /login; writes need the X-CSRFToken
header. Errors are ``{"error": {"code": ..., "message": ...}}``. The contract is
published at /api/v1/openapi.json.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from accredit.delivery import service, sitting
from accredit.errors import DomainError
from accredit.policy import CANDIDATE_AREA, guard_blueprint, public
from accredit.results import service as results
from accredit.results import views as results_view
from accredit.web.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
guard_blueprint(bp, CANDIDATE_AREA)

MAX_SEQ = 2**53  # the largest integer a browser keeps exactly


class BadRequest(DomainError):
    code = "bad_request"
    status = 400


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object")
    return body


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
    attempt = service.attempt_for(current_user, attempt_id)
    service.finalise_if_expired(attempt)
    # The page's timer re-syncs with ?items=false: it needs the clock, not every question.
    with_items = request.args.get("items", "true") != "false"
    return jsonify(sitting.payload(attempt, with_items=with_items))


@bp.put("/attempts/<int:attempt_id>/responses/<int:position>")
def save(attempt_id: int, position: int) -> Response:
    body = _body()
    seq = body.get("seq")
    if "answer" not in body or not isinstance(seq, int) or isinstance(seq, bool):
        raise BadRequest('Send {"answer": ..., "seq": n} with a whole-number seq')
    if not 1 <= seq <= MAX_SEQ:
        raise BadRequest(f"seq must be from 1 to {MAX_SEQ}")
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
    flagged = _body().get("flagged")
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
    return jsonify(results_view.result_json(row, with_items=review))


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int) -> Response:
    attempt = service.attempt_for(current_user, attempt_id)
    submitted_now = service.submit(current_user, attempt)
    return jsonify({**sitting.payload(attempt, with_items=False), "submitted_now": submitted_now})
