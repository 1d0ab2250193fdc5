"""The administrator's area: banks, items, blueprints, imports, users and organisations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from accredit.accounts import service as accounts
from accredit.catalogue import queries
from accredit.catalogue.presentation import candidate_view
from accredit.extensions import db
from accredit.models import ImportRun, Organisation, User
from accredit.models.banks import ITEM_STATUSES, ITEM_TYPES
from accredit.policy import ADMIN_AREA, guard_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_blueprint(bp, ADMIN_AREA)


@bp.route("/")
def home() -> str:
    by_role = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template(
        "admin/home.html",
        by_role=by_role,
        organisations=organisations,
        banks=queries.bank_rows(),
        last_import=queries.last_import(),
    )


@bp.route("/banks")
def banks() -> str:
    return render_template(
        "admin/banks.html",
        frameworks=queries.framework_versions(),
        banks=queries.bank_rows(),
        assessments=queries.assessments(),
        last_import=queries.last_import(),
    )


@bp.route("/items")
def items() -> str:
    chosen = queries.ItemFilter(
        bank=request.args.get("bank", ""),
        statement=request.args.get("statement", ""),
        type=request.args.get("type", "") if request.args.get("type") in ITEM_TYPES else "",
        status=request.args.get("status", "")
        if request.args.get("status") in ITEM_STATUSES
        else "",
        page=request.args.get("page", 1, type=int) or 1,
    )
    rows, total = queries.item_page(chosen)
    return render_template(
        "admin/items.html",
        rows=rows,
        total=total,
        chosen=chosen,
        page_size=queries.PAGE_SIZE,
        banks=queries.bank_rows(),
        statements=queries.statement_choices(),
        types=ITEM_TYPES,
        statuses=ITEM_STATUSES,
    )


@bp.route("/items/<key>")
def item(key: str) -> str:
    preview = queries.item_preview(key, request.args.get("version", type=int))
    if preview is None:
        abort(404)
    view = candidate_view(preview.version, item_type=preview.item.type, scenario=preview.scenario)
    return render_template("admin/item.html", preview=preview, view=view)


@bp.route("/assessments/<key>")
def assessment(key: str) -> str:
    blueprint = queries.blueprint(key)
    if blueprint is None:
        abort(404)
    return render_template("admin/assessment.html", blueprint=blueprint)


@bp.route("/imports")
def imports() -> str:
    runs = db.session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(50)).all()
    return render_template("admin/imports.html", runs=runs)


@bp.route("/imports/<int:run_id>")
def import_run(run_id: int) -> str:
    run = db.session.get(ImportRun, run_id)
    if run is None:
        abort(404)
    return render_template("admin/import_run.html", run=run)


@bp.route("/users")
def users() -> str:
    people = db.session.scalars(
        select(User).order_by(User.role, User.email).options(db.joinedload(User.organisation))
    ).all()
    return render_template("admin/users.html", people=people)


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
def end_sessions(user_id: int) -> Response:
    """Sign an account out everywhere: every cookie issued to it so far is refused."""
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    accounts.end_sessions(person, actor=current_user._get_current_object())
    flash(f"{person.email} has been signed out everywhere.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/lead", methods=["POST"])
def set_lead(user_id: int) -> Response:
    """Make an assessor a lead assessor, or an ordinary assessor again (audited)."""
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    lead = request.form.get("lead") == "yes"
    accounts.set_lead_assessor(person, lead, actor=current_user._get_current_object())
    kind = "a lead assessor" if lead else "an ordinary assessor"
    flash(f"{person.email} is now {kind}.", "success")
    return redirect(url_for("admin.users"))
