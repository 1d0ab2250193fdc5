"""The candidate's area: their assessments, and the sitting itself.

Every page works without JavaScript: each button is a form post that saves the
answer first. With JavaScript the same page also autosaves through the API and
counts down the server's remaining time.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from accredit import clock
from accredit.banks.pools import items_drawn
from accredit.cohort import service as cohort
from accredit.delivery import service, sitting
from accredit.delivery.answers import InvalidAnswer
from accredit.delivery.timing import AttemptState, time_allowed
from accredit.errors import DomainError
from accredit.extensions import db
from accredit.models import User
from accredit.models.delivery import Attempt, AttemptItem, Enrolment
from accredit.policy import CANDIDATE_AREA, guard_blueprint
from accredit.results import queries as results_queries
from accredit.results import service as results
from accredit.web.boundary import rollback
from accredit.web.inputs import BadRequest, checked_seq, form_number

bp = Blueprint("candidate", __name__, url_prefix="/candidate")
guard_blueprint(bp, CANDIDATE_AREA)


def _attempt(attempt_id: int) -> Attempt:
    return service.attempt_for(current_user, attempt_id)


@bp.route("/")
def home() -> str:
    enrolments = db.session.scalars(
        db.select(Enrolment).filter_by(candidate_id=current_user.id).order_by(Enrolment.id)
    ).all()
    cards = [_card(enrolment) for enrolment in enrolments]
    return render_template("candidate/home.html", cards=cards)


def _card(enrolment: Enrolment) -> dict[str, Any]:
    """Describe an enrolment's state for the home page, from stored times alone."""
    version = service.current_version(enrolment.assessment)
    attempts = list(enrolment.attempts)
    latest = attempts[-1] if attempts else None
    timing = sitting.clock_of(latest) if latest else None
    if latest is None:
        status = "not_started"
    elif timing and timing.state in (AttemptState.OPEN, AttemptState.GRACE):
        status = "in_progress"
    else:
        status = "submitted"
    released = bool(latest and latest.submitted_at and _released(latest))
    return {"enrolment": enrolment, "title": version.title, "mode": version.mode,
            "status": status, "attempt": latest, "clock": timing, "released": released}  # fmt: skip


def _released(attempt: Attempt) -> bool:
    try:
        results.released_result(attempt)
    except results.NotReleased:
        return False
    return True


@bp.route("/assessments/<key>")
def start_page(key: str) -> str:
    enrolment = service.enrolment_for(current_user, key)
    version = service.current_version(enrolment.assessment)
    spec = service.spec_of(version)
    at = clock.now()
    opened = service.open_attempt(enrolment)
    if opened is not None and service.finished(opened, at):
        opened = None
    refusal = None if opened else service.start_refusal(enrolment, spec, at)
    try:
        service.ensure_practice_allowed(
            current_user.id, version.mode, version.framework_version_id, at
        )
    except service.PracticeLocked as error:
        # Neither starting nor continuing: the accreditation attempt comes first.
        opened, refusal = None, error.message
    items = sum(items_drawn(rule) for section in spec.sections for rule in section.draws)
    adjustment = service.adjustment_of(enrolment)
    return render_template(
        "candidate/start.html", enrolment=enrolment, spec=spec, items=items, opened=opened,
        refusal=refusal, adjustment=adjustment,
        allowed=time_allowed(spec.time_limit_minutes, adjustment),
        window=service.window_of(enrolment, spec),
        used=len([a for a in enrolment.attempts if service.finished(a, at)]),
    )  # fmt: skip


@bp.route("/assessments/<key>/start", methods=["POST"])
def start(key: str) -> Response:
    attempt, _created = service.start_attempt(current_user, key)
    return redirect(url_for("candidate.item", attempt_id=attempt.id, position=1))


def _closed_redirect(attempt: Attempt) -> Response | None:
    """Send the candidate to the end page once the attempt no longer takes answers.

    Decided from the stored times: a page never closes an attempt itself.
    """
    if sitting.clock_of(attempt).state is not AttemptState.OPEN:
        return redirect(url_for("candidate.done", attempt_id=attempt.id))
    return None


@bp.route("/attempts/<int:attempt_id>/items/<int:position>", methods=["GET"])
def item(attempt_id: int, position: int) -> Response | str:
    attempt = _attempt(attempt_id)
    return _closed_redirect(attempt) or _render_item(attempt, position)


def _render_item(
    attempt: Attempt, position: int, *, error: str | None = None, notice: str | None = None,
    status: int = 200, answer: Any = None,
) -> Any:  # fmt: skip
    everything = sitting.positions(attempt)
    if not 1 <= position <= len(everything):
        abort(404)
    current = everything[position - 1]
    if current.revealed and not error:
        return redirect(url_for("candidate.feedback", attempt_id=attempt.id, position=position))
    spec = service.spec_of(attempt.assessment_version)
    html = render_template(
        "candidate/item.html", attempt=attempt, spec=spec, positions=everything, current=current,
        clock=sitting.clock_of(attempt), error=error, notice=notice,
        answer=answer if error else current.answer,
    )  # fmt: skip
    return html, status


def form_answer(item_type: str, form: MultiDict[str, str], options: list[str]) -> Any:
    """Read an answer from a posted sitting form, in the API's shape."""
    if item_type == "multiple":
        return form.getlist("answer")
    if item_type == "ordering":
        positions = {option: form.get(f"position-{option}", "") for option in options}
        if not any(positions.values()):
            return None
        if set(positions.values()) != {str(number) for number in range(1, len(options) + 1)}:
            # A gap, a repeat or a stray value ("²"): refused, as the API refuses it.
            return ["incomplete"]
        return sorted(options, key=lambda option: int(positions[option]))
    return form.get("answer", "")


def ordering_as_posted(form: MultiDict[str, str], options: list[str]) -> list[str | None]:
    """Return the posted positions as far as they go, to show again beside an error."""
    shown: list[str | None] = [None] * len(options)
    for option in options:
        number = form_number(form.get(f"position-{option}"))
        if number is not None and 1 <= number <= len(options) and shown[number - 1] is None:
            shown[number - 1] = option
    return shown


@bp.route("/attempts/<int:attempt_id>/items/<int:position>", methods=["POST"])
def save_item(attempt_id: int, position: int) -> Any:
    attempt = _attempt(attempt_id)
    slot = next((slot for slot in attempt.items if slot.position == position), None)
    if slot is None:
        abort(404)
    answer = form_answer(slot.item_type, request.form, list(slot.option_order))
    try:
        # Bounded as the API bounds it; the page sends its stored seq + 1.
        seq = checked_seq(form_number(request.form.get("seq", "1")))
    except BadRequest:
        abort(400)
    try:
        saved = service.save_answer(current_user, attempt.id, position, answer, seq)
        service.set_flag(current_user, attempt, position, request.form.get("flagged") == "yes")
    except InvalidAnswer as error:
        if slot.item_type == "ordering":
            answer = ordering_as_posted(request.form, list(slot.option_order))
        return _render_item(attempt, position, error=error.message, status=422, answer=answer)
    except (service.DeadlinePassed, service.AttemptClosed):
        return redirect(url_for("candidate.done", attempt_id=attempt.id))
    if sitting.clock_of(attempt).state is AttemptState.GRACE:
        # Saved inside the grace period: the time is up, so this was the last answer,
        # and the attempt closes now, at its deadline.
        service.submit(current_user, attempt)
        return redirect(url_for("candidate.done", attempt_id=attempt.id))
    if not saved.stored:
        notice = (
            "This page was out of date, so your answer was not changed. Check it and save again."
        )
        return _render_item(attempt, position, notice=notice, status=409)
    target = _next_url(attempt, slot)
    if target == url_for("candidate.feedback", attempt_id=attempt.id, position=position):
        # Practice feedback follows each answer: showing it fixes the answer.
        service.reveal(current_user, attempt, position)
    return redirect(target)


def _next_url(attempt: Attempt, slot: AttemptItem) -> str:
    go = request.form.get("go", "next")
    spec = service.spec_of(attempt.assessment_version)
    if spec.mode == "practice" and spec.feedback == "after_each_item" and go == "next":
        return url_for("candidate.feedback", attempt_id=attempt.id, position=slot.position)
    if go == "previous":
        return url_for("candidate.item", attempt_id=attempt.id, position=max(1, slot.position - 1))
    number = form_number(go)  # ASCII digits only: "²".isdigit() is true
    if number is not None and 1 <= number <= len(attempt.items):
        return url_for("candidate.item", attempt_id=attempt.id, position=number)
    if go == "review" or slot.position >= len(attempt.items):
        return url_for("candidate.review", attempt_id=attempt.id)
    return url_for("candidate.item", attempt_id=attempt.id, position=slot.position + 1)


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/feedback", methods=["POST"])
def reveal_feedback(attempt_id: int, position: int) -> Response:
    """Practice only: show whether the answer was right, which fixes the answer."""
    attempt = _attempt(attempt_id)
    closed = _closed_redirect(attempt)
    if closed:
        return closed
    service.reveal(current_user, attempt, position)
    return redirect(url_for("candidate.feedback", attempt_id=attempt.id, position=position))


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/feedback")
def feedback(attempt_id: int, position: int) -> Any:
    """Practice only: whether the answer was right, with the rationale, once revealed."""
    attempt = _attempt(attempt_id)
    spec = service.spec_of(attempt.assessment_version)
    if spec.mode != "practice" or spec.feedback != "after_each_item":
        abort(404)
    everything = sitting.positions(attempt)
    if not 1 <= position <= len(everything):
        abort(404)
    current = everything[position - 1]
    if not current.revealed:
        return redirect(url_for("candidate.item", attempt_id=attempt.id, position=position))
    given = results_queries.practice_feedback(attempt, position)
    return render_template(
        "candidate/feedback.html", attempt=attempt, current=current, content=given.content,
        score=given.score, last=position >= len(everything),
    )  # fmt: skip


@bp.route("/attempts/<int:attempt_id>/review")
def review(attempt_id: int) -> Response | str:
    attempt = _attempt(attempt_id)
    closed = _closed_redirect(attempt)
    if closed:
        return closed
    everything = sitting.positions(attempt)
    return render_template(
        "candidate/review.html", attempt=attempt, positions=everything,
        unanswered=[p for p in everything if not p.answered],
        flagged=[p for p in everything if p.flagged], clock=sitting.clock_of(attempt),
    )  # fmt: skip


@bp.route("/attempts/<int:attempt_id>/submit", methods=["GET", "POST"])
def submit(attempt_id: int) -> Response | str:
    attempt = _attempt(attempt_id)
    if request.method == "POST":
        # Past the deadline, submitting closes the attempt as expired at its deadline.
        service.submit(current_user, attempt)
        return redirect(url_for("candidate.done", attempt_id=attempt.id))
    closed = _closed_redirect(attempt)
    if closed:
        return closed
    everything = sitting.positions(attempt)
    return render_template(
        "candidate/submit.html", attempt=attempt,
        unanswered=[p for p in everything if not p.answered],
        flagged=[p for p in everything if p.flagged], clock=sitting.clock_of(attempt),
    )  # fmt: skip


@bp.route("/attempts/<int:attempt_id>/done")
def done(attempt_id: int) -> Response | str:
    attempt = _attempt(attempt_id)
    timing = sitting.clock_of(attempt)
    if timing.state is AttemptState.OPEN:
        return redirect(url_for("candidate.item", attempt_id=attempt.id, position=1))
    spec = service.spec_of(attempt.assessment_version)
    review_items = results_queries.practice_review(attempt) if spec.mode == "practice" else []
    return render_template(
        "candidate/done.html", attempt=attempt, spec=spec, review_items=review_items,
        clock=timing, time_up=attempt.submission != "candidate",
    )  # fmt: skip


@bp.route("/attempts/<int:attempt_id>/result")
def result(attempt_id: int) -> Response | str:
    attempt = _attempt(attempt_id)
    if sitting.clock_of(attempt).state is AttemptState.OPEN:
        return redirect(url_for("candidate.item", attempt_id=attempt.id, position=1))
    spec = service.spec_of(attempt.assessment_version)
    try:
        row = results.released_result(attempt)
    except results.NotReleased:
        return render_template("candidate/awaiting.html", attempt=attempt, spec=spec)
    review = results_queries.review_items(row, attempt) if spec.results.review else []
    return render_template(
        "candidate/result.html", attempt=attempt, spec=spec, result=row, review=review,
        written=results_queries.written_marks(row),
        amendments=results_queries.amendments_after_release(row),
    )  # fmt: skip


@bp.route("/history")
def history() -> str:
    person = db.session.get_one(User, current_user.id)
    return render_template(
        "candidate/history.html", person=current_user,
        history=results_queries.history(person), notes=cohort.notes_for(person),
        views=cohort.views_of(person),
    )  # fmt: skip


@bp.errorhandler(service.StartRefused)
@bp.errorhandler(service.NotEnrolled)
@bp.errorhandler(service.PracticeLocked)
def refused(error: DomainError) -> tuple[str, int]:
    rollback()
    return render_template("candidate/refused.html", message=error.message), error.status
