"""The assessor's area: marking and analysis, and results waiting to be released."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accredit.extensions import db
from accredit.models.delivery import Attempt
from accredit.models.results import Result
from accredit.policy import ASSESSOR_AREA, guard_blueprint
from accredit.results import service as results

bp = Blueprint("assessor", __name__, url_prefix="/assessor")
guard_blueprint(bp, ASSESSOR_AREA)


@bp.route("/")
def home() -> str:
    waiting = db.session.execute(
        select(Result, Attempt)
        .join(Attempt, Attempt.id == Result.attempt_id)
        .where(Result.released_at.is_(None))
        .order_by(Result.scored_at)
    ).all()
    return render_template("assessor/home.html", waiting=waiting)


@bp.route("/results/<int:result_id>/release", methods=["POST"])
def release(result_id: int) -> Response:
    row = db.session.get(Result, result_id)
    if row is None:
        abort(404)
    reason = request.form.get("reason", "").strip() or "Released after review"
    results.release(row, actor=current_user, reason=reason)
    flash(f"The result of attempt {row.attempt_id} has been released.", "success")
    return redirect(url_for("assessor.home"))
