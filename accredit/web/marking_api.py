"""The JSON API for marking and moderation, for assessors.

Same conventions as the sitting API: the session cookie from /login, the
X-CSRFToken header on writes, errors as ``{"error": {"code", "message"}}``, the
contract in /api/v1/openapi.json. Every response is blind in the same way as
the pages: a candidate number, never a name, and another marker's marks only
once the first and second marks are both in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from accredit.marking import queries as views
from accredit.marking import service as marking
from accredit.policy import ASSESSOR_AREA, guard_blueprint
from accredit.web.api import json_body
from accredit.web.inputs import BadRequest

bp = Blueprint("marking_api", __name__, url_prefix="/api/v1")
guard_blueprint(bp, ASSESSOR_AREA)


@bp.route("/marking/queue")
def queue() -> Response:
    work = marking.queue(current_user)
    return jsonify(
        {
            "scripts": [
                {
                    "id": fact.id, "candidate_number": fact.candidate_number,
                    "assessment": fact.attempt.assessment_version.assessment.key,
                    "round": round_.value, "state": fact.state.value,
                }
                for fact, round_ in work
            ]
        }
    )  # fmt: skip


@bp.route("/marking/scripts/<int:script_id>")
def script(script_id: int) -> Response:
    fact = marking.viewable(script_id, current_user)
    return jsonify(views.script_view(fact, current_user).as_json())


@bp.route("/marking/scripts/<int:script_id>/marks", methods=["PUT"])
def put_marks(script_id: int) -> Response:
    body = json_body()
    criteria = body.get("criteria")
    if not isinstance(criteria, dict):
        raise BadRequest('Send "criteria": an object of a mark for each rubric criterion id')
    comment, reason = body.get("comment", ""), body.get("reason", "")
    if not isinstance(comment, str) or not isinstance(reason, str):
        raise BadRequest('"comment" and "reason" are strings')
    done = marking.mark_script(script_id, current_user, criteria, comment=comment, reason=reason)
    fact = marking.viewable(script_id, current_user)
    return jsonify(
        {
            "script": views.script_view(fact, current_user).as_json(),
            "agreed": done.agreed is not None,
            "escalated": done.escalated,
        }
    )


@bp.route("/moderation/results/<int:result_id>", methods=["POST"])
def moderate(result_id: int) -> Response:
    body = json_body()
    decision, reason, score = body.get("decision"), body.get("reason", ""), body.get("score")
    if not isinstance(decision, str):
        raise BadRequest('Send "decision": "ratify", "amend" or "withhold"')
    if not isinstance(reason, str):
        raise BadRequest('"reason" is a string')
    number: Any = score
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise BadRequest('"score" is a number of marks')
    marking.moderate(result_id, decision, reason=reason, score=number, actor=current_user)
    view = views.result_view(marking.result_of(result_id), current_user)
    return jsonify(view.as_json())
