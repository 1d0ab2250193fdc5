"""Enrolments: an admin, or a practice leader for their own organisation, enrols candidates.

Extra time is an adjustment with a mandatory reason. Enrolling someone who is
already enrolled changes nothing: the page shows their enrolment and links to
it, so a window or an adjustment is only ever changed on purpose, and every
change is audited before and after. A change moves an open attempt's deadline
at once.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
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
from wtforms import Field, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import StopValidation, ValidationError

from accredit.catalogue import queries
from accredit.delivery import service
from accredit.errors import DomainError
from accredit.extensions import db
from accredit.models import Assessment, User
from accredit.models.delivery import Enrolment
from accredit.policy import LEADER_AREA, can_view_candidate, candidates_visible_to, guard_blueprint
from accredit.timefmt import UK
from accredit.web.boundary import rollback

bp = Blueprint("enrolments", __name__, url_prefix="/enrolments")
guard_blueprint(bp, LEADER_AREA)

PARTS = ("day", "month", "year", "hour", "minute")
_MISSING = {"day": "a day", "month": "a month", "year": "a year",
            "hour": "an hour", "minute": "a minute"}  # fmt: skip
EXTRA_LIMITS = {"percent": (1, 300), "minutes": (1, 600)}


def _number(text: str, most: int) -> bool:
    return text.isdecimal() and len(text) <= most


def _control(character: str) -> bool:
    return character not in "\n\r\t" and unicodedata.category(character) in ("Cc", "Cs")


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


class MomentField(Field):
    """A UK local date and time in GOV.UK's date input: day, month, year, then hour and minute.

    Leaving every part blank means no time at all. Its error messages follow the
    GOV.UK date input pattern and say which parts are wrong, so the page can
    highlight only those.
    """

    def __init__(self, label: str, subject: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.subject = subject
        self.parts = dict.fromkeys(PARTS, "")
        self.wrong_parts: tuple[str, ...] = ()

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors: list[str] = []
        self.raw_data: list[str] | None = None
        self.object_data = None if data is unset_value else data
        self.data: datetime | None = self.object_data
        if self.data is not None:
            local = self.data.astimezone(UK)
            self.parts = {"day": str(local.day), "month": str(local.month),
                          "year": str(local.year), "hour": f"{local.hour:02d}",
                          "minute": f"{local.minute:02d}"}  # fmt: skip
        if formdata is not None:
            self.parts = {part: formdata.get(f"{self.name}-{part}", "").strip() for part in PARTS}
            self.raw_data = list(self.parts.values())
            self.data = None

    def pre_validate(self, form: Any) -> None:
        if self.raw_data is None or not any(self.parts.values()):
            return
        self.data = self._parse()

    def _refuse(self, message: str, *parts: str) -> StopValidation:
        self.wrong_parts = parts
        return StopValidation(message)

    def _parse(self) -> datetime:
        missing = [part for part in PARTS if not self.parts[part]]
        if missing:
            words = [_MISSING[part] for part in missing if part in ("day", "month", "year")]
            if "hour" in missing and "minute" in missing:
                words.append("a time")
            else:
                words += [_MISSING[part] for part in missing if part in ("hour", "minute")]
            raise self._refuse(f"{self.subject} must include {_listing(words)}", *missing)
        day, month, year, hour, minute = (self.parts[part] for part in PARTS)
        if not (_number(day, 2) and _number(month, 2) and year.isdecimal()):
            raise self._refuse(f"{self.subject} must be a real date", "day", "month", "year")
        if len(year) != 4:
            raise self._refuse(
                f"{self.subject} must include a year with 4 numbers, like 2027", "year"
            )
        if not (_number(hour, 2) and _number(minute, 2) and int(hour) < 24 and int(minute) < 60):
            raise self._refuse(
                f"{self.subject} must be a real time on the 24-hour clock, like 09 30",
                "hour", "minute",
            )  # fmt: skip
        try:
            local = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=UK)
            return local.astimezone(UTC)
        except ValueError:
            raise self._refuse(
                f"{self.subject} must be a real date", "day", "month", "year"
            ) from None

    @property
    def error_href(self) -> str:
        return f"#{self.id}-{(self.wrong_parts or PARTS)[0]}"


class AdjustmentForm(FlaskForm):
    opens = MomentField(
        "Window opens (optional)", subject="Window opens",
        description="UK time, on the 24-hour clock: for example 4 1 2027 09 00. "
        "Leave blank to use the assessment's window.",
    )  # fmt: skip
    closes = MomentField(
        "Window closes (optional)", subject="Window closes",
        description="No attempt can run past this time.",
    )  # fmt: skip
    extra_kind = RadioField(
        "Extra time",
        choices=[SelectChoice("none", "None"),
                 SelectChoice("percent", "A percentage of the time limit"),
                 SelectChoice("minutes", "A number of minutes")],
        default="none", widget=GovRadioInput(), validate_choice=False,
    )  # fmt: skip
    # One amount for either kind: GOV.UK's conditional reveal would put aria-expanded on
    # a radio button, which ARIA does not allow.
    extra_amount = StringField(
        "Amount of extra time", widget=GovTextInput(),
        description="As a percentage, for example 25, or in minutes, for example 15, "
        "as chosen above.",
    )  # fmt: skip
    reason = TextAreaField(
        "Reason for the adjustment", widget=GovTextArea(),
        description="Required with extra time. It is recorded in the audit trail.",
    )  # fmt: skip
    submit = SubmitField("Save enrolment", widget=GovSubmitInput())

    def validate_extra_kind(self, field: RadioField) -> None:
        if field.data not in ("none", *EXTRA_LIMITS):
            raise ValidationError("Select whether the candidate has extra time")

    def validate_extra_amount(self, field: StringField) -> None:
        """Check the amount against the kind of extra time chosen; with none, it is ignored."""
        kind = self.extra_kind.data
        if kind not in EXTRA_LIMITS:
            return
        noun = "percentage" if kind == "percent" else "number of minutes"
        text = (field.data or "").strip()
        if not text:
            raise ValidationError(f"Enter the {noun} of extra time")
        if not text.isdecimal():
            example = "25" if kind == "percent" else "15"
            raise ValidationError(
                f"The {noun} of extra time must be a whole number, like {example}"
            )
        low, high = EXTRA_LIMITS[kind]
        if len(text) > 4 or not low <= int(text) <= high:
            raise ValidationError(f"The {noun} of extra time must be between {low} and {high}")

    def validate_reason(self, field: TextAreaField) -> None:
        text = (field.data or "").strip()
        if self.extra_kind.data in EXTRA_LIMITS and not text:
            raise ValidationError("Give the reason for the extra time")
        if len(text) > 2000:
            raise ValidationError("The reason must be 2,000 characters or fewer")
        if any(_control(character) for character in text):
            raise ValidationError("The reason must only include letters, numbers and punctuation")

    def validate_closes(self, field: MomentField) -> None:
        opens = self.opens.data
        if opens is not None and field.data is not None and field.data <= opens:
            field.wrong_parts = PARTS
            raise ValidationError("Window closes must be after the window opens")

    def adjustment(self) -> dict[str, Any]:
        kind = self.extra_kind.data
        return {
            "percent": int(self.extra_amount.data) if kind == "percent" else None,
            "minutes": int(self.extra_amount.data) if kind == "minutes" else None,
            "reason": self.reason.data,
        }

    def window(self) -> tuple[datetime | None, datetime | None]:
        return self.opens.data, self.closes.data

    def error_list(self) -> list[dict[str, str]]:
        """Every error at once, in page order, each linked to its field (GOV.UK error summary)."""
        found = [
            {"text": field.errors[0], "href": getattr(field, "error_href", f"#{field.id}")}
            for field in self
            if field.errors
        ]
        for message in self.form_errors:
            found.append({"text": message, "href": "#enrolment-form"})
        return found


class EnrolForm(AdjustmentForm):
    candidate = SelectField("Candidate", widget=GovSelect(), validate_choice=False)
    assessment = SelectField("Assessment", widget=GovSelect(), validate_choice=False)

    def validate_candidate(self, field: SelectField) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Select a candidate from the list")

    def validate_assessment(self, field: SelectField) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Select an assessment from the list")

    def __iter__(self) -> Any:
        """Page order: who and what first, then the terms."""
        first = [self.candidate, self.assessment]
        return iter(first + [field for field in super().__iter__() if field not in first])


def _visible_enrolments() -> list[Enrolment]:
    candidates = candidates_visible_to(current_user).with_only_columns(User.id)
    return list(
        db.session.scalars(
            select(Enrolment).where(Enrolment.candidate_id.in_(candidates)).order_by(Enrolment.id)
        )
    )


def _existing(candidate_id: int, assessment_key: str) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment)
        .join(Assessment, Assessment.id == Enrolment.assessment_id)
        .where(Enrolment.candidate_id == candidate_id, Assessment.key == assessment_key)
    )


@bp.route("/")
def index() -> str:
    return render_template("enrolments/index.html", enrolments=_visible_enrolments())


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    form = EnrolForm()
    people = db.session.scalars(candidates_visible_to(current_user)).all()
    form.candidate.choices = [SelectChoice(str(p.id), f"{p.name} ({p.email})") for p in people]
    titles = {
        assessment.key: version.title
        for assessment, version in queries.assessments()
        if assessment.status == "active"
    }
    form.assessment.choices = [SelectChoice(key, title) for key, title in titles.items()]
    existing = None
    if form.is_submitted():
        form.validate()  # every check, so the page shows every problem at once
        existing = _refuse_existing(form, titles)
    if form.is_submitted() and not form.errors:
        candidate = db.session.get(User, int(form.candidate.data or 0))
        if candidate is None or not can_view_candidate(current_user, candidate):
            abort(404)
        try:
            enrolment = service.enrol(
                candidate, form.assessment.data or "", actor=current_user,
                opens_at=form.opens.data, closes_at=form.closes.data,
            )  # fmt: skip
            service.set_adjustment(enrolment, actor=current_user, **form.adjustment())
        except DomainError as error:
            rollback()  # a refused enrolment leaves nothing behind, not even half of one
            form.form_errors.append(error.message)
        else:
            flash(f"{candidate.name} is enrolled on {titles[enrolment.assessment.key]}.", "success")
            return redirect(url_for("enrolments.edit", enrolment_id=enrolment.id))
    return render_template(
        "enrolments/new.html", form=form, existing=existing,
        existing_title=titles[existing.assessment.key] if existing else None,
    )  # fmt: skip


def _refuse_existing(form: EnrolForm, titles: dict[str, str]) -> Enrolment | None:
    """Find an enrolment already there for the chosen candidate and assessment; say so."""
    if form.candidate.errors or form.assessment.errors:
        return None
    existing = _existing(int(form.candidate.data), form.assessment.data)
    if existing is not None:
        form.assessment.errors = [
            *form.assessment.errors,
            f"{existing.candidate.name} is already enrolled on {titles[form.assessment.data]}. "
            "Change their enrolment instead",
        ]
    return existing


@bp.route("/<int:enrolment_id>", methods=["GET", "POST"])
def edit(enrolment_id: int) -> Response | str:
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None or not can_view_candidate(current_user, enrolment.candidate):
        abort(404)
    form = AdjustmentForm(**_terms(enrolment))
    if form.validate_on_submit():
        try:
            moved = service.set_adjustment(
                enrolment, actor=current_user, window=form.window(), **form.adjustment()
            )
        except DomainError as error:
            rollback()
            form.form_errors.append(error.message)
        else:
            flash(_saved_message(moved), "success")
            return redirect(url_for("enrolments.edit", enrolment_id=enrolment.id))
    attempt = service.open_attempt(enrolment)
    return render_template(
        "enrolments/edit.html", form=form, enrolment=enrolment, attempt=attempt,
        title=service.current_version(enrolment.assessment).title,
    )  # fmt: skip


def _saved_message(moved: Any) -> str:
    if moved is None or moved.deadline_at is None:
        return "The enrolment has been saved."
    ends = moved.deadline_at.astimezone(UK).strftime("%H:%M on %-d %B %Y")
    return f"The enrolment has been saved. The open attempt's deadline has moved to {ends}."


def _terms(enrolment: Enrolment) -> dict[str, Any]:
    """The enrolment's current terms, to fill the form before a change."""
    kind = "none"
    if enrolment.extra_time_percent:
        kind = "percent"
    elif enrolment.extra_time_minutes:
        kind = "minutes"
    return {
        "opens": enrolment.opens_at, "closes": enrolment.closes_at, "extra_kind": kind,
        "extra_amount": str(enrolment.extra_time_percent or enrolment.extra_time_minutes or ""),
        "reason": enrolment.adjustment_reason or "",
    }  # fmt: skip
