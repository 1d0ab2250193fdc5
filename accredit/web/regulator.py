"""The regulator's area: ask for exports, follow them, download them again, and hold tokens
for the export API. Every file is the one recorded, byte for byte."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accredit import worker as tasks
from accredit.catalogue.queries import spec_of
from accredit.errors import DomainError, NotFound
from accredit.exports import service as exports
from accredit.exports import tables, tokens
from accredit.extensions import db
from accredit.jobs import service as jobs
from accredit.models import Assessment, AssessmentVersion, Organisation, User
from accredit.models.exports import EXPORT_KINDS
from accredit.policy import REGULATOR_AREA, guard_blueprint

bp = Blueprint("regulator", __name__, url_prefix="/regulator")
guard_blueprint(bp, REGULATOR_AREA)


def _choices() -> dict[str, Any]:
    assessments = [
        (assessment.key, spec_of(version).title)
        for assessment, version in db.session.execute(
            select(Assessment, AssessmentVersion)
            .join(AssessmentVersion, (AssessmentVersion.assessment_id == Assessment.id)
                  & (AssessmentVersion.version == Assessment.current_version))
            .where(AssessmentVersion.mode == "accreditation")
            .order_by(Assessment.key)
        )
    ]  # fmt: skip
    organisations = list(
        db.session.execute(select(Organisation.code, Organisation.name).order_by(Organisation.code))
    )
    return {"assessments": assessments, "organisations": organisations,
            "kinds": [(kind, tables.TITLES[kind]) for kind in EXPORT_KINDS]}  # fmt: skip


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


@bp.route("/")
def home() -> str:
    return _home({}, [])


def _home(given: dict[str, Any], errors: list[str]) -> str:
    made = exports.history()
    return render_template(
        "regulator/home.html", history=made, names=_names({e.created_by_id for e in made}),
        given=given, errors=errors, waiting=jobs.open_of_kind("export"), **_choices(),
    )  # fmt: skip


@bp.route("/exports", methods=["POST"])
def create() -> Any:
    """Queue an export; the worker writes it and the job's page says when it is ready."""
    given = request.form.to_dict()
    kind = given.get("kind", "")
    try:
        if kind not in EXPORT_KINDS:
            raise exports.InvalidExport("Choose which export to make")
        filters = exports.Filters.parse(given)
        exports.check_request(kind, filters)
    except DomainError as error:
        return _home(given, [error.message]), 422
    job = jobs.create("export", {"kind": kind, "filters": filters.as_json()}, actor=current_user)
    jobs.after_commit(tasks.enqueue_export, job)
    return redirect(url_for("regulator.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>")
def job(job_id: int) -> str:
    found = jobs.get(job_id)
    if found.kind != "export":
        raise NotFound("No such export job")
    return render_template("regulator/job.html", job=found, export=exports.made_by(job_id))


@bp.route("/exports/<int:export_id>")
def show(export_id: int) -> str:
    export = exports.get(export_id)
    return render_template(
        "regulator/export.html", export=export, names=_names({export.created_by_id}),
        tables=tables.CATALOGUE[export.kind],
    )  # fmt: skip


@bp.route("/exports/<int:export_id>/download")
def download(export_id: int) -> Response:
    export = exports.get(export_id)
    return _send(export)


def _send(export: Any) -> Response:
    response = send_file(
        exports.file_of(export), mimetype="application/zip", as_attachment=True,
        download_name=export.file_name, max_age=0,
    )  # fmt: skip
    response.headers["X-Content-SHA256"] = export.sha256
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens")
def tokens_page() -> str:
    return render_template("regulator/tokens.html", tokens=tokens.tokens_of(current_user),
                           issued=None, errors=[])  # fmt: skip


@bp.route("/tokens", methods=["POST"])
def issue_token() -> Any:
    holder = db.session.get_one(User, current_user.id)
    try:
        row, token = tokens.issue(holder, request.form.get("name", ""), actor=holder)
    except DomainError as error:
        page = render_template("regulator/tokens.html", tokens=tokens.tokens_of(holder),
                               issued=None, errors=[error.message])  # fmt: skip
        return page, 422
    page = render_template("regulator/tokens.html", tokens=tokens.tokens_of(holder),
                           issued=(row, token), errors=[])  # fmt: skip
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(token_id: int) -> Response:
    holder = db.session.get_one(User, current_user.id)
    tokens.revoke(token_id, actor=holder, reason=request.form.get("reason", ""))
    flash("The token was revoked. Anything using it is refused from now on.", "success")
    return redirect(url_for("regulator.tokens_page"))
