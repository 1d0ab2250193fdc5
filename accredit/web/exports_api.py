"""The export API, for regulators' systems: a bearer token, never a session cookie.

``Authorization: Bearer acc_...`` on every request. A token opens these routes
only; anywhere else a request carrying one is refused with 401. Errors are
``{"error": {"code", "message"}}`` as elsewhere in the API. docs/exports.md
describes each route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g, jsonify, url_for
from werkzeug.wrappers import Response

from accredit import worker as tasks
from accredit.errors import NotFound
from accredit.exports import service as exports
from accredit.extensions import csrf
from accredit.jobs import service as jobs
from accredit.models.exports import Export
from accredit.policy import EXPORT_TOKEN_AREA, guard_blueprint
from accredit.web.api import json_body
from accredit.web.inputs import BadRequest
from accredit.web.regulator import _send

bp = Blueprint("exports_api", __name__, url_prefix="/api/v1/exports")
guard_blueprint(bp, EXPORT_TOKEN_AREA)
# No cookie is accepted here, only the token, so there is no session for a forged form to ride.
csrf.exempt(bp)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _described(export: Export) -> dict[str, Any]:
    return {
        "id": export.id, "kind": export.kind, "schema_version": export.schema_version,
        "filters": export.filters, "rows": export.rows, "bytes": export.bytes,
        "sha256": export.sha256, "created_at": _iso(export.created_at),
        "download": url_for("exports_api.download", export_id=export.id),
    }  # fmt: skip


@bp.route("")
def index() -> Response:
    return jsonify({"exports": [_described(export) for export in exports.history()]})


@bp.route("", methods=["POST"])
def create() -> tuple[Response, int, dict[str, str]]:
    """Ask for an export: ``{"kind": "results", "filters": {...}}``. 202, with the job to poll."""
    body = json_body()
    kind, raw = body.get("kind"), body.get("filters", {})
    raw = {} if raw is None else raw
    if not isinstance(kind, str) or not isinstance(raw, dict):
        raise BadRequest('Send {"kind": "results", "filters": {...}}')
    filters = exports.Filters.parse(raw)
    exports.check_request(str(kind), filters)
    job = jobs.create("export", {"kind": kind, "filters": filters.as_json()},
                      actor=g.token_holder)  # fmt: skip
    jobs.after_commit(tasks.enqueue_export, job)
    where = url_for("exports_api.job", job_id=job.id)
    return jsonify({"job": job.id, "state": job.state, "status": where}), 202, {"Location": where}


@bp.route("/jobs/<int:job_id>")
def job(job_id: int) -> Response:
    found = jobs.get(job_id)
    if found.kind != "export":
        raise NotFound("No such export job")
    export = exports.made_by(job_id)
    return jsonify({"job": found.id, "state": found.state, "message": found.message,
                    "export": _described(export) if export else None})  # fmt: skip


@bp.route("/<int:export_id>")
def show(export_id: int) -> Response:
    return jsonify(_described(exports.get(export_id)))


@bp.route("/<int:export_id>/download")
def download(export_id: int) -> Response:
    return _send(exports.get(export_id))
