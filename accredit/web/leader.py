"""The practice leader's area: their organisation's picture of practice knowledge, teams, and
each candidate's history, opened on the record, with development notes the candidate sees."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accredit.cohort import queries as cohort_queries
from accredit.cohort import service as cohort
from accredit.errors import DomainError
from accredit.exports.formats import neutralise
from accredit.extensions import db
from accredit.models import Organisation, Role, User
from accredit.models.cohort import Team
from accredit.policy import LEADER_AREA, can_view_candidate, guard_blueprint
from accredit.results import queries as results_queries

bp = Blueprint("leader", __name__, url_prefix="/leader")
guard_blueprint(bp, LEADER_AREA)


def _organisation() -> Organisation | None:
    """The leader's own organisation; an administrator chooses one with ?organisation=CODE."""
    if Role(current_user.role) is Role.ADMIN:
        code = request.args.get("organisation") or request.form.get("organisation")
        if code:
            return db.session.scalar(select(Organisation).where(Organisation.code == code))
        return db.session.scalar(select(Organisation).order_by(Organisation.code).limit(1))
    user = db.session.get_one(User, current_user.id)
    return user.organisation


def _view() -> cohort_queries.CohortView:
    team = request.args.get("team", "")
    return cohort_queries.cohort(
        _organisation(), framework=request.args.get("framework") or None,
        team=int(team) if team.isdigit() and len(team) < 10 else None,
    )  # fmt: skip


@bp.route("/")
def home() -> str:
    view = _view()
    return render_template(
        "leader/home.html", view=view, organisation=view.organisation,
        min_group=cohort_queries.MIN_GROUP, min_items=cohort_queries.MIN_ITEMS,
    )  # fmt: skip


def _uk_day(moment: datetime) -> str:
    """The day in the UK, as the page shows it, in ISO form for a spreadsheet."""
    return moment.astimezone(cohort_queries.UK).date().isoformat()


@bp.route("/cohort.csv")
def cohort_csv() -> Response:
    """The cohort view as a CSV, with the exports' rule against formulas in cells."""
    view = _view()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    keys = [key for key, _title in view.statements]
    writer.writerow(["candidate", "team", "latest_result", *keys])
    for pid, name, team in view.people:
        at = view.latest_at.get(pid)
        cells = [view.cells.get((pid, key)) for key in keys]
        writer.writerow(
            [neutralise(name), neutralise(team or ""), _uk_day(at) if at else ""]
            + [f"{cell.label} ({cell.items} items)" if cell else "" for cell in cells]
        )
    writer.writerow([])
    writer.writerow(["share meeting each statement", "", "", *(
        "suppressed (fewer than 5)" if view.overall[key].suppressed
        else f"{view.overall[key].percent:.0f}%" for key in keys
    )])  # fmt: skip
    writer.writerow([])
    writer.writerow(["candidate", "team", "assessment", "status", "attempts", "resit_from"])
    for standing in view.standings:
        writer.writerow([
            neutralise(standing.name), neutralise(standing.team or ""),
            neutralise(standing.assessment), standing.label, standing.attempts,
            _uk_day(standing.resit_from) if standing.resit_from else
            ("no attempts left" if standing.no_attempts_left else
             "not in this window" if standing.window_closed else ""),
        ])  # fmt: skip
    response = Response(out.getvalue().encode("utf-8"), mimetype="text/csv")
    code = view.organisation.code if view.organisation else "cohort"
    response.headers["Content-Disposition"] = f'attachment; filename="{code}-cohort.csv"'
    return response


@bp.route("/teams")
def teams() -> str:
    organisation = _organisation()
    return _teams_page(organisation, [])


def _teams_page(organisation: Organisation | None, errors: list[str]) -> str:
    found = (
        list(db.session.scalars(
            select(Team).where(Team.organisation_id == organisation.id).order_by(Team.name)
        )) if organisation else []
    )  # fmt: skip
    people = (
        db.session.scalars(
            select(User).where(User.organisation_id == organisation.id,
                               User.role == Role.CANDIDATE.value).order_by(User.name)
        ).all() if organisation else []
    )  # fmt: skip
    return render_template("leader/teams.html", organisation=organisation, teams=found,
                           people=people, errors=errors)  # fmt: skip


@bp.route("/teams", methods=["POST"])
def add_team() -> Any:
    organisation = _organisation()
    if organisation is None:
        abort(404)
    try:
        team = cohort.add_team(organisation, request.form.get("name", ""), actor=current_user)
    except DomainError as error:
        return _teams_page(organisation, [error.message]), 422
    flash(f"Team {team.name} added.", "success")
    return redirect(url_for("leader.teams"))


@bp.route("/teams/assign", methods=["POST"])
def assign_team() -> Any:
    organisation = _organisation()
    if organisation is None:
        abort(404)
    raw_person, raw_team = request.form.get("candidate", ""), request.form.get("team", "")
    person = db.session.get(User, int(raw_person)) if raw_person.isdigit() else None
    if person is None or not can_view_candidate(current_user, person):
        return _teams_page(organisation, ["Choose one of your candidates"]), 422
    team = db.session.get(Team, int(raw_team)) if raw_team.isdigit() else None
    if raw_team and team is None:
        return _teams_page(organisation, ["Choose one of your teams"]), 422
    try:
        cohort.assign(person, team, actor=current_user)
    except DomainError as error:
        return _teams_page(organisation, [error.message]), 422
    flash(f"{person.name} is now in {team.name if team else 'no team'}.", "success")
    return redirect(url_for("leader.teams"))


def _candidate(user_id: int) -> User:
    person = db.session.get(User, user_id)
    # Someone else's candidate is reported as missing, so ids reveal nothing.
    if person is None or person.id == current_user.id:
        abort(404)
    if not can_view_candidate(current_user, person):
        abort(404)
    return person


@bp.route("/candidates/<int:user_id>")
def candidate(user_id: int) -> str:
    person = _candidate(user_id)
    viewer = db.session.get_one(User, current_user.id)
    if not cohort.is_open(person, viewer=viewer):
        return render_template("leader/open_history.html", person=person)
    return render_template(
        "leader/candidate.html", person=person, history=results_queries.history(person),
        notes=cohort.notes_for(person), statements=_statements_of(person), errors=[], given={},
    )  # fmt: skip


def _statements_of(person: User) -> list[tuple[str, str]]:
    """The statements of the candidate's released results, for a note to be about."""
    seen: dict[str, str] = {}
    for row in results_queries.history(person).released:
        if row.result is not None:
            for entry in row.result.profile:
                seen.setdefault(entry["statement"], entry.get("title", entry["statement"]))
    return sorted(seen.items())


@bp.route("/candidates/<int:user_id>/results/<int:attempt_id>")
def result(user_id: int, attempt_id: int) -> str:
    """A released result, for the leader: outcome, score, pass mark and profile. No item,
    answer or key: those are for assessors, and the candidate's own review."""
    person = _candidate(user_id)
    viewer = db.session.get_one(User, current_user.id)
    if not cohort.is_open(person, viewer=viewer):
        return render_template("leader/open_history.html", person=person)
    found = next(
        (row for row in results_queries.history(person).rows
         if row.attempt.id == attempt_id and row.released),
        None,
    )  # fmt: skip
    if found is None:
        abort(404)
    return render_template("leader/result.html", person=person, row=found)


@bp.route("/candidates/<int:user_id>/open", methods=["POST"])
def open_history(user_id: int) -> Response:
    """Open a candidate's history: recorded, and shown to the candidate."""
    person = _candidate(user_id)
    cohort.open_history(person, viewer=db.session.get_one(User, current_user.id))
    return redirect(url_for("leader.candidate", user_id=person.id), code=303)


@bp.route("/candidates/<int:user_id>/notes", methods=["POST"])
def add_note(user_id: int) -> Any:
    person = _candidate(user_id)
    viewer = db.session.get_one(User, current_user.id)
    if not cohort.is_open(person, viewer=viewer):
        return redirect(url_for("leader.candidate", user_id=person.id), code=303)
    try:
        cohort.add_note(person, request.form.get("statement", ""), request.form.get("note", ""),
                        actor=viewer)  # fmt: skip
    except DomainError as error:
        page = render_template(
            "leader/candidate.html", person=person, history=results_queries.history(person),
            notes=cohort.notes_for(person), statements=_statements_of(person),
            errors=[error.message], given=request.form,
        )  # fmt: skip
        return page, 422
    flash("Note added. The candidate sees it on their history page.", "success")
    return redirect(url_for("leader.candidate", user_id=person.id), code=303)
