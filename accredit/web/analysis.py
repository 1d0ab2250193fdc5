"""Item analysis pages for lead assessors: the statistics, an item's detail, key decisions
with their dry run, and a CSV of the item statistics. Administrators may look too."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from accredit import worker as tasks
from accredit.analysis import keys
from accredit.analysis import service as analysis
from accredit.analysis.psychometrics import ItemStats
from accredit.errors import Conflict, NotFound
from accredit.jobs import service as jobs
from accredit.policy import LEAD_ASSESSOR_AREA, guard_blueprint

bp = Blueprint("analysis", __name__, url_prefix="/assessor/analysis")
guard_blueprint(bp, LEAD_ASSESSOR_AREA)

SORTS: dict[str, Any] = {
    "item": lambda s: s.item,
    "n": lambda s: s.n,
    "facility": lambda s: _number(s.facility),
    "point_biserial": lambda s: _number(s.point_biserial),
    "discrimination": lambda s: _number(s.discrimination_index),
    "efficiency": lambda s: _number(s.discriminative_efficiency),
}
CSV_COLUMNS = [
    "item", "type", "n", "facility", "sd", "point_biserial", "upper_facility", "lower_facility",
    "discrimination_index", "discriminative_efficiency", "omitted_rate", "hard_flags",
    "soft_flags",
]  # fmt: skip
# OWASP: a text cell starting with one of these could be read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def _number(value: float | None) -> float:
    return float("-inf") if value is None else value


class NotRunYet(Conflict):
    code = "analysis_not_run"


def _run(assessment_key: str) -> analysis.AssessmentAnalysis:
    """The analysis to show: kept, computed now for a small cohort, or the last one kept."""
    done = analysis.to_show(assessment_key).done
    if done is None:
        raise NotRunYet("The item analysis has not been run yet: run it from its page first")
    return done


def _running(assessment_key: str) -> Any:
    """The analysis job for this assessment that is queued or running, if any."""
    return jobs.latest_open("analysis", assessment=assessment_key)


@bp.route("/")
def index() -> str:
    from accredit.marking import service as marking

    keys_titles = [(key, title) for key, title in marking.moderated_assessments()]
    return render_template("analysis/index.html", assessments=keys_titles)


@bp.route("/<assessment_key>")
def assessment(assessment_key: str) -> str:
    shown = analysis.to_show(assessment_key)
    done = shown.done
    if done is None:
        return render_template(
            "analysis/not_run.html", assessment_key=assessment_key, shown=shown,
            running=_running(assessment_key),
        )  # fmt: skip
    sort = request.args.get("sort", "flags")
    items = list(done.analysis.items)
    if sort in SORTS:
        items.sort(key=SORTS[sort], reverse=request.args.get("order") == "desc")
    else:
        sort = "flags"
        items.sort(key=lambda s: (-len(done.flags.for_item(s.item).hard),
                                  -len(done.flags.for_item(s.item).soft), s.item))  # fmt: skip
    return render_template(
        "analysis/assessment.html", done=done, items=items, sort=sort,
        order=request.args.get("order", "asc"),
        unsigned=analysis.sign_off_stale_because(assessment_key),
        signed=analysis.latest_sign_off(assessment_key), shown=shown,
        running=_running(assessment_key),
    )  # fmt: skip


@bp.route("/<assessment_key>/run", methods=["POST"])
def run(assessment_key: str) -> Response:
    """Run the analysis on the worker and keep it; the job's page shows how far it has got."""
    running = _running(assessment_key)
    if running is not None:
        return redirect(url_for("analysis.job", job_id=running.id))
    analysis.attempts_to_analyse(assessment_key)  # an unknown assessment is a 404, not a job
    job = jobs.create("analysis", {"assessment": assessment_key, "first_attempts_only": True},
                      actor=current_user)  # fmt: skip
    jobs.after_commit(tasks.enqueue_analysis, job)
    return redirect(url_for("analysis.job", job_id=job.id))


def _item(done: analysis.AssessmentAnalysis, item_key: str) -> ItemStats:
    try:
        return done.analysis.item(item_key)
    except KeyError:
        raise NotFound(f"No item {item_key} in this analysis") from None


@bp.route("/<assessment_key>/items/<item_key>")
def item(assessment_key: str, item_key: str) -> str:
    done = _run(assessment_key)
    return render_template(
        "analysis/item.html", done=done, stats=_item(done, item_key),
        flags=done.flags.for_item(item_key), given={}, errors=[],
    )  # fmt: skip


def _proposal(assessment_key: str, item_key: str) -> keys.Proposal:
    decision = request.form.get("decision", "")
    raw = request.form.get("key", "").strip()
    key: Any = None
    if decision == "rekey":
        key = raw or None
    elif decision == "keys":
        key = [part.strip() for part in raw.split(";") if part.strip()]
    return keys.propose(
        assessment_key, item_key, decision, key=key, reason=request.form.get("reason", "")
    )


@bp.route("/<assessment_key>/items/<item_key>/dry-run", methods=["POST"])
def dry_run(assessment_key: str, item_key: str) -> Any:
    """Show what a decision would change. A POST, since it carries the form, but it writes
    nothing: the request rolls back like any other that records nothing."""
    try:
        proposal = _proposal(assessment_key, item_key)
    except keys.InvalidKeyDecision as error:
        done = _run(assessment_key)
        page = render_template(
            "analysis/item.html", done=done, stats=_item(done, item_key),
            flags=done.flags.for_item(item_key), given=request.form, errors=[error.message],
        )  # fmt: skip
        return page, 422
    return render_template(
        "analysis/dry_run.html", preview=keys.dry_run(proposal), assessment_key=assessment_key,
        form=request.form,
    )  # fmt: skip


@bp.route("/<assessment_key>/items/<item_key>/decide", methods=["POST"])
def decide(assessment_key: str, item_key: str) -> Response:
    proposal = _proposal(assessment_key, item_key)
    decision, preview, job = keys.commit(proposal, actor=current_user)
    jobs.after_commit(tasks.enqueue_rescore, job)
    flash(
        f"Decision recorded ({decision.decision}). Rescoring the {preview.affected} results "
        f"with this item: {len(preview.changes)} will change.",
        "success",
    )
    return redirect(url_for("analysis.job", job_id=job.id))


@bp.route("/jobs/<int:job_id>")
def job(job_id: int) -> str:
    return render_template("analysis/job.html", job=jobs.get(job_id))


def _cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet could take for a formula; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@bp.route("/<assessment_key>/items.csv")
def items_csv(assessment_key: str) -> Response:
    done = _run(assessment_key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for stats in done.analysis.items:
        flags = done.flags.for_item(stats.item)
        row = [
            stats.item, done.item_types.get(stats.item, ""), stats.n, stats.facility, stats.sd,
            stats.point_biserial, stats.upper_facility, stats.lower_facility,
            stats.discrimination_index, stats.discriminative_efficiency, stats.omitted_rate,
            " ".join(flag.code for flag in flags.hard), " ".join(flag.code for flag in flags.soft),
        ]  # fmt: skip
        writer.writerow(["" if value is None else _cell(value) for value in row])
    response = Response(out.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{assessment_key}-item-statistics.csv"'
    )
    return response
