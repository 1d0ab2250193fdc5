"""The assessor's area: the marking queue, blind marking, discrepancies, moderation and
marker quality. Views are thin: the marking service decides, the views show and ask."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from accredit.analysis import service as analysis
from accredit.marking import queries as views
from accredit.marking import service as marking
from accredit.marking.rules import InvalidMarks
from accredit.models import Role, User
from accredit.policy import ASSESSOR_AREA, guard_blueprint, lead_assessor_only

bp = Blueprint("assessor", __name__, url_prefix="/assessor")
guard_blueprint(bp, ASSESSOR_AREA)

STATE_LABELS = {
    "awaiting_first": "Awaiting first marks",
    "awaiting_second": "Awaiting second marks",
    "in_discrepancy": "In discrepancy",
    "agreed": "Agreed",
    "in_moderation": "In moderation",
    "ratified": "Ratified",
    "released": "Released",
    "withheld": "Withheld",
    "void": "Void",
    "unallocated": "Without a marker",
}
STAGE_LABELS = {
    "awaiting_marks": "Awaiting marks",
    "in_moderation": "In moderation",
    "agreed": "Agreed, not yet sampled",
    "ratified": "Ratified",
    "withheld": "Withheld",
    "released": "Released",
}


@bp.app_context_processor
def labels() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "stage_labels": STAGE_LABELS}


def _lead() -> User:
    """The lead assessor acting. The policy admits only leads, and administrators, who may
    look but not act: the marking service refuses their actions."""
    return current_user  # type: ignore[no-any-return]


@bp.route("/")
def home() -> str:
    work = marking.queue(current_user)
    rows = [(views.script_view(fact, current_user), round_) for fact, round_ in work]
    everything = bool(current_user.lead_assessor) or current_user.has_role(Role.ADMIN)
    counts = marking.state_counts() if everything else marking.my_state_counts(current_user)
    return render_template(
        "assessor/home.html", rows=rows, counts=counts, everything=everything,
        is_lead=bool(current_user.lead_assessor),
    )  # fmt: skip


@bp.route("/next")
def next_script() -> Response:
    work = marking.queue(current_user)
    if not work:
        flash("There are no more scripts for you to mark.", "success")
        return redirect(url_for("assessor.home"))
    return redirect(url_for("assessor.script", script_id=work[0][0].id))


@bp.route("/scripts/<int:script_id>")
def script(script_id: int) -> Any:
    fact = marking.viewable(script_id, current_user)
    return _script_page(fact)


def _script_page(
    fact: marking.ScriptFacts, *, errors: list[str] | None = None,
    given: dict[str, Any] | None = None, status: int = 200,
) -> Any:  # fmt: skip
    view = views.script_view(fact, current_user)
    markers = marking.assessors_for(fact) if current_user.lead_assessor else []
    page = render_template(
        "assessor/script.html", view=view, errors=errors or [], given=given or {},
        is_lead=bool(current_user.lead_assessor), markers=markers,
        holders=marking.holders(fact) if current_user.lead_assessor else {},
    )  # fmt: skip
    return (page, status) if status != 200 else page


def _criteria_from_form(rubric: list[dict[str, Any]]) -> dict[str, Any]:
    given: dict[str, Any] = {}
    for criterion in rubric:
        raw = request.form.get(f"criterion-{criterion['id']}")
        if raw is None or raw == "":
            continue
        try:
            given[criterion["id"]] = float(raw)
        except ValueError:
            given[criterion["id"]] = raw
    return given


@bp.route("/scripts/<int:script_id>/marks", methods=["POST"])
def save_marks(script_id: int) -> Any:
    fact = marking.viewable(script_id, current_user)
    rubric = fact.content["rubric"]
    criteria = _criteria_from_form(rubric)
    comment = request.form.get("comment", "")
    reason = request.form.get("reason", "")
    try:
        done = marking.mark_script(
            script_id, current_user, criteria, comment=comment, reason=reason
        )
    except (InvalidMarks, marking.InvalidDecision) as error:
        given = {"criteria": criteria, "comment": comment, "reason": reason}
        return _script_page(fact, errors=error.message.split("; "), given=given, status=422)
    if done.agreed is not None:
        flash(f"Marks saved. The agreed mark is {done.agreed.mark:g}.", "success")
    elif done.escalated:
        flash(f"Marks saved. The two marks do not agree ({done.escalated}), "
              f"so the script goes to {done.escalated_to}.", "success")  # fmt: skip
    else:
        flash("Marks saved.", "success")
    if request.form.get("then") == "stay":
        return redirect(url_for("assessor.script", script_id=script_id))
    return redirect(url_for("assessor.next_script"))


@bp.route("/scripts/<int:script_id>/reallocate", methods=["POST"])
@lead_assessor_only
def reallocate(script_id: int) -> Response:
    lead = _lead()
    try:
        marker_id = int(request.form.get("marker", ""))
    except ValueError:
        marker_id = 0
    marking.reallocate(
        script_id, request.form.get("round", ""), marker_id,
        reason=request.form.get("reason", ""), actor=lead,
    )  # fmt: skip
    flash("The script has been reallocated.", "success")
    return redirect(url_for("assessor.script", script_id=script_id))


@bp.route("/discrepancies")
@lead_assessor_only
def discrepancies() -> str:
    _lead()
    facts = sorted(marking.gather_in_discrepancy(), key=marking.order_key)
    rows = [views.script_view(fact, current_user) for fact in facts]
    return render_template("assessor/discrepancies.html", rows=rows)


@bp.route("/moderation")
@lead_assessor_only
def moderation() -> str:
    _lead()
    groups = [
        (key, title, marking.result_facts(key), analysis.sign_off_stale_because(key),
         analysis.latest_sign_off(key))
        for key, title in marking.moderated_assessments()
    ]  # fmt: skip
    return render_template("assessor/moderation.html", groups=groups)


@bp.route("/moderation/results/<int:result_id>")
@lead_assessor_only
def moderate_result(result_id: int) -> Any:
    lead = _lead()
    return _moderation_page(result_id, lead)


def _moderation_page(
    result_id: int, lead: User, *, errors: list[str] | None = None,
    given: dict[str, Any] | None = None, status: int = 200,
) -> Any:  # fmt: skip
    view = views.result_view(marking.result_of(result_id), lead)
    page = render_template(
        "assessor/moderate.html", view=view, errors=errors or [], given=given or {}
    )
    return (page, status) if status != 200 else page


@bp.route("/moderation/results/<int:result_id>", methods=["POST"])
@lead_assessor_only
def decide(result_id: int) -> Any:
    lead = _lead()
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "")
    raw_score = request.form.get("score", "").strip()
    score: Any = None
    if raw_score:
        try:
            score = float(raw_score)
        except ValueError:
            score = raw_score
    try:
        marking.moderate(result_id, decision, reason=reason, score=score, actor=lead)
    except marking.InvalidDecision as error:
        given = {"decision": decision, "reason": reason, "score": raw_score}
        return _moderation_page(result_id, lead, errors=[error.message], given=given, status=422)
    flash("Your decision has been recorded.", "success")
    return redirect(url_for("assessor.moderation"))


@bp.route("/moderation/<assessment_key>/sample", methods=["POST"])
@lead_assessor_only
def draw_sample(assessment_key: str) -> Response:
    lead = _lead()
    drawn, ratified = marking.draw_sample(assessment_key, actor=lead)
    flash(
        f"{len(drawn)} results drawn for moderation; {ratified} ratified as they stand.", "success"
    )
    return redirect(url_for("assessor.moderation"))


@bp.route("/moderation/<assessment_key>/sign-off", methods=["POST"])
@lead_assessor_only
def sign_off(assessment_key: str) -> Response:
    lead = _lead()
    row = analysis.sign_off(assessment_key, actor=lead, note=request.form.get("note", ""))
    flash(f"The item analysis over {row.attempts} attempts is signed off.", "success")
    return redirect(url_for("assessor.moderation"))


@bp.route("/moderation/<assessment_key>/release", methods=["POST"])
@lead_assessor_only
def release(assessment_key: str) -> Response:
    lead = _lead()
    reason = request.form.get("reason", "").strip() or "Released after moderation"
    done = marking.release(assessment_key, actor=lead, reason=reason)
    flash(f"{done.released} results released; {done.withheld} withheld.", "success")
    return redirect(url_for("assessor.moderation"))


@bp.route("/quality")
@lead_assessor_only
def quality() -> str:
    _lead()
    return render_template(
        "assessor/quality.html", rows=marking.marker_quality(), flag_after=marking.FLAG_AFTER
    )
