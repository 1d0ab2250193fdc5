"""The regulator's area: exports only."""

from __future__ import annotations

from flask import Blueprint, render_template

from accredit.policy import REGULATOR_AREA, guard_blueprint

bp = Blueprint("regulator", __name__, url_prefix="/regulator")
guard_blueprint(bp, REGULATOR_AREA)


@bp.route("/")
def home() -> str:
    return render_template("regulator/home.html")
