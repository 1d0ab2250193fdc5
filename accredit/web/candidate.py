"""The candidate's area: their own assessments."""

from __future__ import annotations

from flask import Blueprint, render_template

from accredit.policy import CANDIDATE_AREA, guard_blueprint

bp = Blueprint("candidate", __name__, url_prefix="/candidate")
guard_blueprint(bp, CANDIDATE_AREA)


@bp.route("/")
def home() -> str:
    return render_template("candidate/home.html")
