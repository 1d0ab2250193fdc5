"""Enrolments: an admin, or a practice leader for their own organisation, enrols candidates.

Extra time is an adjustment with a mandatory reason; setting it is audited and
moves an open attempt's deadline at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from accredit.catalogue import queries
from accredit.delivery import service
from accredit.errors import DomainError
from accredit.extensions import db
from accredit.models import User
from accredit.models.delivery import Enrolment
from accredit.policy import LEADER_AREA, can_view_candidate, candidates_visible_to, guard_blueprint
from accredit.timefmt import UK

bp = Blueprint("enrolments", __name__, url_prefix="/enrolments")
guard_blueprint(bp, LEADER_AREA)

TIME_FORMAT = "%d/%m/%Y %H:%M"


def _uk_moment(form: FlaskForm, field: StringField) -> None:
    if field.data and field.data.strip():
        try:
            datetime.strptime(field.data.strip(), TIME_FORMAT)  # noqa: DTZ007 (UK time, set below)
        except ValueError as error:
            raise ValidationError(
                f"Enter {field.label.text.lower()} like 27/03/2027 09:00"
            ) from error


def parse_uk(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=UK)


class AdjustmentForm(FlaskForm):
    opens = StringField(
        "Window opens (optional)", widget=GovTextInput(), validators=[Optional(), _uk_moment],
        description="UK time, for example 04/01/2027 09:00. Leave blank to use the assessment's.",
    )  # fmt: skip
    closes = StringField(
        "Window closes (optional)", widget=GovTextInput(), validators=[Optional(), _uk_moment],
        description="No attempt can run past this time.",
    )  # fmt: skip
    extra_kind = RadioField(
        "Extra time",
        choices=[SelectChoice("none", "None"),
                 SelectChoice("percent", "A percentage of the time limit"),
                 SelectChoice("minutes", "A number of minutes")],
        default="none", widget=GovRadioInput(),
    )  # fmt: skip
    extra_amount = IntegerField(
        "Amount of extra time", widget=GovTextInput(), validators=[Optional(), NumberRange(1, 600)],
        description="For example 25 (per cent) or 15 (minutes).",
    )  # fmt: skip
    reason = TextAreaField(
        "Reason for the adjustment", widget=GovTextArea(), validators=[Length(max=2000)],
        description="Required with extra time. It is recorded in the audit trail.",
    )  # fmt: skip
    submit = SubmitField("Save enrolment", widget=GovSubmitInput())

    def adjustment(self) -> dict[str, Any]:
        amount = self.extra_amount.data
        return {
            "percent": amount if self.extra_kind.data == "percent" else None,
            "minutes": amount if self.extra_kind.data == "minutes" else None,
            "reason": self.reason.data,
        }


class EnrolForm(AdjustmentForm):
    candidate = SelectField("Candidate", widget=GovSelect(), validators=[InputRequired()])
    assessment = SelectField("Assessment", widget=GovSelect(), validators=[InputRequired()])


def _visible_enrolments() -> list[Enrolment]:
    candidates = candidates_visible_to(current_user).with_only_columns(User.id)
    return list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.candidate_id.in_(candidates)).order_by(Enrolment.id)
        )
    )


@bp.route("/")
def index() -> str:
    return render_template("enrolments/index.html", enrolments=_visible_enrolments())


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    form = EnrolForm()
    people = db.session.scalars(candidates_visible_to(current_user)).all()
    form.candidate.choices = [SelectChoice(str(p.id), f"{p.name} ({p.email})") for p in people]
    form.assessment.choices = [
        SelectChoice(assessment.key, version.title)
        for assessment, version in queries.assessments()
        if assessment.status == "active"
    ]
    if form.validate_on_submit():
        candidate = db.session.get(User, int(form.candidate.data or 0))
        if candidate is None or not can_view_candidate(current_user, candidate):
            abort(404)
        try:
            enrolment = _save(form, candidate, form.assessment.data or "")
        except DomainError as error:
            form.reason.errors = [error.message]
        else:
            flash(f"{candidate.name} is enrolled.", "success")
            return redirect(url_for("enrolments.edit", enrolment_id=enrolment.id))
    return render_template("enrolments/new.html", form=form)


def _save(form: AdjustmentForm, candidate: User, assessment_key: str) -> Enrolment:
    service.check_adjustment(**form.adjustment())  # refuse before enrolling, not half-way
    enrolment = service.enrol(
        candidate, assessment_key, actor=current_user,
        opens_at=parse_uk(form.opens.data), closes_at=parse_uk(form.closes.data),
    )  # fmt: skip
    service.set_adjustment(enrolment, actor=current_user, **form.adjustment())
    return enrolment


@bp.route("/<int:enrolment_id>", methods=["GET", "POST"])
def edit(enrolment_id: int) -> Response | str:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or not can_view_candidate(current_user, enrolment.candidate):
        abort(404)
    form = AdjustmentForm(obj=None)
    if not form.is_submitted():
        _fill(form, enrolment)
    if form.validate_on_submit():
        try:
            _save(form, enrolment.candidate, enrolment.assessment.key)
        except DomainError as error:
            form.reason.errors = [error.message]
        else:
            flash("The enrolment has been saved. An open attempt's deadline has moved.", "success")
            return redirect(url_for("enrolments.edit", enrolment_id=enrolment.id))
    attempt = service.open_attempt(enrolment)
    return render_template(
        "enrolments/edit.html", form=form, enrolment=enrolment, attempt=attempt,
        title=service.current_version(enrolment.assessment).title,
    )  # fmt: skip


def _fill(form: AdjustmentForm, enrolment: Enrolment) -> None:
    form.opens.data = (
        enrolment.opens_at.astimezone(UK).strftime(TIME_FORMAT) if enrolment.opens_at else ""
    )
    form.closes.data = (
        enrolment.closes_at.astimezone(UK).strftime(TIME_FORMAT) if enrolment.closes_at else ""
    )
    if enrolment.extra_time_percent:
        form.extra_kind.data, form.extra_amount.data = "percent", enrolment.extra_time_percent
    elif enrolment.extra_time_minutes:
        form.extra_kind.data, form.extra_amount.data = "minutes", enrolment.extra_time_minutes
    form.reason.data = enrolment.adjustment_reason or ""
