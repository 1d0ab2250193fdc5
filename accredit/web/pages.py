"""Pages outside any role: the front door, the accessibility statement, a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response

from accredit.extensions import db
from accredit.policy import public
from accredit.web.shell import home_endpoint

bp = Blueprint("pages", __name__)


@bp.route("/")
@public
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user.role)))
    return redirect(url_for("auth.login"))


@bp.route("/accessibility")
@public
def accessibility() -> str:
    return render_template("pages/accessibility.html")


@bp.route("/healthz")
@public
def health() -> tuple[Response, int]:
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"}), 200
