"""The administrator's area: banks, users and organisations."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from accredit.extensions import db
from accredit.models import Organisation, User
from accredit.policy import ADMIN_AREA, guard_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_blueprint(bp, ADMIN_AREA)


@bp.route("/")
def home() -> str:
    by_role = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("admin/home.html", by_role=by_role, organisations=organisations)


@bp.route("/users")
def users() -> str:
    people = db.session.scalars(
        select(User).order_by(User.role, User.email).options(db.joinedload(User.organisation))
    ).all()
    return render_template("admin/users.html", people=people)
