"""Pages outside any role: the front door, the accessibility statement, a health check."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from accredit.extensions import db
from accredit.policy import public
from accredit.web.shell import home_endpoint

bp = Blueprint("pages", __name__)

# The accessibility statement's dates. Review it at least once a year, and after any
# change that could affect accessibility; update these when you do.
STATEMENT_PREPARED = date(2026, 12, 1)
STATEMENT_REVIEWED = date(2026, 12, 1)
SERVICE_TESTED = date(2026, 12, 1)


@bp.route("/")
@public
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user.role)))
    return redirect(url_for("auth.login"))


@bp.route("/accessibility")
@public
def accessibility() -> str:
    return render_template(
        "pages/accessibility.html", prepared=STATEMENT_PREPARED, reviewed=STATEMENT_REVIEWED,
        tested=SERVICE_TESTED, session_hours=current_app.config["ACCREDIT_SESSION_HOURS"],
    )  # fmt: skip


@bp.route("/healthz")
@public
def health() -> tuple[Response, int]:
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"}), 200
