"""The practice leader's area: the candidates of their own organisation."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from accredit.extensions import db
from accredit.models import User
from accredit.policy import LEADER_AREA, can_view_candidate, candidates_visible_to, guard_blueprint
from accredit.results import queries as results_queries

bp = Blueprint("leader", __name__, url_prefix="/leader")
guard_blueprint(bp, LEADER_AREA)


@bp.route("/")
def home() -> str:
    candidates = db.session.scalars(candidates_visible_to(current_user)).all()
    return render_template(
        "leader/home.html", organisation=current_user.organisation, candidates=candidates
    )


@bp.route("/candidates/<int:user_id>")
def candidate(user_id: int) -> str:
    person = db.session.get(User, user_id)
    # Someone else's candidate is reported as missing, so ids reveal nothing.
    if person is None or not can_view_candidate(current_user, person):
        abort(404)
    return render_template(
        "leader/candidate.html", person=person, history=results_queries.history(person)
    )
