"""The assessor's area: marking and analysis."""

from __future__ import annotations

from flask import Blueprint, render_template

from accredit.policy import ASSESSOR_AREA, guard_blueprint

bp = Blueprint("assessor", __name__, url_prefix="/assessor")
guard_blueprint(bp, ASSESSOR_AREA)


@bp.route("/")
def home() -> str:
    return render_template("assessor/home.html")
