"""Command-line tools: ``flask --app accredit ...``. Each command commits once, at the end."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from accredit import audit
from accredit import demo as demo_history
from accredit import worker as tasks
from accredit.accounts import service as accounts
from accredit.analysis import keys as key_decisions
from accredit.analysis import service as analysis
from accredit.banks import format_summary, load_tree, summarise, write_json_schemas
from accredit.catalogue.importer import import_tree, record_failure, unexpected_error
from accredit.cohort import service as cohort
from accredit.delivery import service as delivery
from accredit.errors import DomainError
from accredit.exports import formats as export_formats
from accredit.exports import service as exports
from accredit.exports import tokens
from accredit.extensions import db
from accredit.jobs import service as jobs
from accredit.jobs.queue import huey
from accredit.marking import service as marking
from accredit.models import Assessment, Enrolment, Organisation, Result, Role, User
from accredit.results import service as results
from accredit.timefmt import UK, uk_time

F = TypeVar("F", bound=Callable[..., Any])
ISO_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

banks_cli = AppGroup("banks", help="Validate and import question banks.")
orgs_cli = AppGroup("orgs", help="Manage organisations.")
users_cli = AppGroup("users", help="Manage user accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")
attempts_cli = AppGroup("attempts", help="Look after attempts.")
results_cli = AppGroup("results", help="Recompute and release results.")
marking_cli = AppGroup("marking", help="Allocate written answers to markers and follow marking.")
analysis_cli = AppGroup("analysis", help="Item analysis of an assessment's sittings.")
keys_cli = AppGroup("keys", help="Decide an item's key: keep, rekey, several keys, credit, void.")
jobs_cli = AppGroup("jobs", help="Run the background worker; look at jobs.")
exports_cli = AppGroup("exports", help="Make, check and hand over exports for regulators.")
teams_cli = AppGroup("teams", help="Teams within an organisation, for the leader's cohort view.")


def transaction(command: F) -> F:
    """Commit what the command did, or roll back and print the domain error as one line."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        return result

    return run  # type: ignore[return-value]


BANKS_PATH = click.Path(file_okay=False, path_type=Path)


@banks_cli.command("validate")
@click.argument("path", type=BANKS_PATH, default=Path("question_banks"))
def banks_validate(path: Path) -> None:
    """Check every file under PATH; print a summary, or every problem and exit 1."""
    result = load_tree(path)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        for error in result.errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"{len(result.errors)} errors, {len(result.warnings)} warnings", err=True)
        sys.exit(1)
    click.echo(format_summary(summarise(result)))


@banks_cli.command("import")
@click.argument("path", type=BANKS_PATH, default=Path("question_banks"))
def banks_import(path: Path) -> None:
    """Validate PATH and import it in one transaction; import nothing if anything is wrong."""
    try:
        report = import_tree(path)
        db.session.commit()  # a failed run is recorded too, so admins can see why
    except Exception as exc:  # whatever stopped it, the failure is recorded
        db.session.rollback()
        try:
            run = record_failure(path, [unexpected_error(exc)])
            db.session.commit()
        except Exception as unrecorded:  # the database itself may be unreachable
            db.session.rollback()
            message = f"{unexpected_error(exc)}; the failure could not be recorded: {unrecorded}"
            raise click.ClickException(message) from None
        click.echo(f"error: {run.errors[0]}", err=True)
        click.echo(f"Nothing imported (run {run.id})", err=True)
        sys.exit(1)
    if report.run is None:
        click.echo(f"Nothing has changed in {path} since the last import; no run recorded:")
    elif not report.run.succeeded:
        for error in report.run.errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"Nothing imported: {len(report.run.errors)} errors", err=True)
        sys.exit(1)
    else:
        click.echo(f"Imported {path} (run {report.run.id}):")
    for line in report.lines():
        click.echo(f"  {line}")


@banks_cli.command("schema")
@click.argument("directory", type=BANKS_PATH, default=Path("docs/schemas"))
def banks_schema(directory: Path) -> None:
    """Write the JSON Schemas of the bank files into DIRECTORY, for editors."""
    for written in write_json_schemas(directory):
        click.echo(f"Wrote {written}")


@orgs_cli.command("add")
@click.argument("code")
@click.argument("name")
@transaction
def orgs_add(code: str, name: str) -> None:
    """Add an organisation, such as a local authority."""
    organisation = accounts.add_organisation(code, name)
    click.echo(f"Added organisation {organisation.code}: {organisation.name}")


@users_cli.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option(
    "--org", "organisation_code", help="Organisation code (required for candidates and leaders)."
)
@click.option("--name", default="", help="The person's name.")
@click.option("--swe", "swe_registration_number", help="Social Work England registration number.")
@click.option("--lead", is_flag=True, help="An assessor who is a lead assessor.")
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input."
)
@transaction
def users_add(
    email: str,
    role: str,
    organisation_code: str | None,
    name: str,
    swe_registration_number: str | None,
    lead: bool,
    password_stdin: bool,
) -> None:
    """Add a user account, reading the password from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    user = accounts.add_user(
        email,
        role=role,
        password=password,
        name=name,
        organisation_code=organisation_code,
        swe_registration_number=swe_registration_number,
        lead_assessor=lead,
    )
    click.echo(f"Added {'lead assessor' if lead else user.role} {user.email}")


@users_cli.command("lead")
@click.argument("email")
@click.option("--off", is_flag=True, help="Make them an ordinary assessor again.")
@transaction
def users_lead(email: str, off: bool) -> None:
    """Make an assessor a lead assessor (who moderates, reallocates and releases), or not."""
    user = db.session.scalar(select(User).filter_by(email=email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account for {email}")
    accounts.set_lead_assessor(user, not off, actor=None)
    click.echo(f"{user.email} is {'an ordinary' if off else 'a lead'} assessor.")


@users_cli.command("list")
def users_list() -> None:
    """List every account."""
    people = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    click.echo(f"{'EMAIL':40} {'ROLE':10} {'ORG':10} {'ACTIVE':6} NAME")
    for person in people:
        code = person.organisation.code if person.organisation else "-"
        active = "yes" if person.active else "no"
        click.echo(f"{person.email:40} {person.role:10} {code:10} {active:6} {person.name}")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain under its key and check every checkpoint; exit 1 naming the seq."""
    checked, problem = audit.verify()
    if problem is not None:
        click.echo(f"Audit chain broken after {checked} good events: {problem}", err=True)
        sys.exit(1)
    click.echo(f"Audit chain intact: {checked} events verified.")
    path = audit.checkpoint_path()
    if path.exists():
        click.echo(f"Every checkpoint in {path} is still in the chain.")
    else:
        click.echo(f"No checkpoints in {path} yet: run `audit checkpoint` to detect truncation.")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Record the chain's head outside the database, so a truncated chain is caught."""
    _checkpoint()


def _checkpoint(*, quiet: bool = False, fatal: bool = True) -> None:
    """Write an audit checkpoint; ``quiet`` says nothing when there was nothing to write.

    A problem exits 1 when ``fatal``; otherwise it is reported and the caller goes on.
    """
    done = audit.checkpoint()
    if done.problem is not None:
        click.echo(f"No audit checkpoint written: {done.problem}", err=True)
        if fatal:
            sys.exit(1)
        return
    if done.written and done.newest is not None:
        path = audit.checkpoint_path()
        click.echo(f"Audit checkpoint at seq {done.newest.seq} written to {path}.")
    elif quiet:
        return
    elif done.newest is None:
        click.echo("Nothing to checkpoint: the audit trail is empty.")
    else:
        click.echo(f"Audit checkpoint unchanged: seq {done.newest.seq} is already recorded.")


def _aware(value: datetime | None) -> datetime | None:
    """Read a window time: ISO 8601; without a zone it is UK local time."""
    if value is None:
        return None
    return value.replace(tzinfo=UK) if value.tzinfo is None else value


@click.command("enrol")
@click.argument("email")
@click.argument("assessment_id")
@click.option("--extra-percent", type=int, help="Extra time as a percentage of the time limit.")
@click.option("--extra-minutes", type=int, help="Extra time in minutes.")
@click.option("--reason", help="Why extra time is given (required with it).")
@click.option(
    "--opens",
    type=click.DateTime(ISO_FORMATS),
    help="Window opens (UK time unless a zone is given).",
)
@click.option(
    "--closes",
    type=click.DateTime(ISO_FORMATS),
    help="Window closes (UK time unless a zone is given).",
)
@transaction
def enrol(
    email: str,
    assessment_id: str,
    extra_percent: int | None,
    extra_minutes: int | None,
    reason: str | None,
    opens: datetime | None,
    closes: datetime | None,
) -> None:
    """Enrol a candidate on an assessment, with an optional window and extra time.

    An existing enrolment keeps its window and extra time: only the options given change it.
    """
    candidate = db.session.scalar(select(User).filter_by(email=accounts.normalise_email(email)))
    if candidate is None:
        raise DomainError(f"No account for {email}")
    opens_at, closes_at = _aware(opens), _aware(closes)
    try:
        enrolment = delivery.enrolment_for(candidate, assessment_id)
    except delivery.NotEnrolled:
        delivery.check_adjustment(
            extra_percent, extra_minutes, reason, opens_at=opens_at, closes_at=closes_at
        )
        enrolment = delivery.enrol(
            candidate, assessment_id, actor=None, opens_at=opens_at, closes_at=closes_at
        )
        if extra_percent or extra_minutes:
            delivery.set_adjustment(
                enrolment, percent=extra_percent, minutes=extra_minutes, reason=reason, actor=None
            )
        extra = delivery.adjustment_of(enrolment).describe()
        click.echo(f"Enrolled {candidate.email} on {assessment_id} (extra time: {extra})")
        return
    if (extra_percent, extra_minutes, reason, opens_at, closes_at) == (None,) * 5:
        extra = delivery.adjustment_of(enrolment).describe()
        click.echo(
            f"{candidate.email} is already enrolled on {assessment_id} (extra time: {extra}); "
            "nothing changed"
        )
        return
    new_extra = extra_percent is not None or extra_minutes is not None
    moved = delivery.set_adjustment(
        enrolment,
        percent=extra_percent if new_extra else enrolment.extra_time_percent,
        minutes=extra_minutes if new_extra else enrolment.extra_time_minutes,
        reason=reason if reason is not None else enrolment.adjustment_reason,
        window=(opens_at or enrolment.opens_at, closes_at or enrolment.closes_at),
        actor=None,
    )
    extra = delivery.adjustment_of(enrolment).describe()
    click.echo(f"Changed {candidate.email}'s enrolment on {assessment_id} (extra time: {extra})")
    if moved is not None and moved.deadline_at is not None:
        click.echo(f"The open attempt's deadline moved to {uk_time(moved.deadline_at)} (UK time)")


@attempts_cli.command("sweep")
@click.option(
    "--every", type=click.IntRange(min=5), default=None, metavar="SECONDS",
    help="Keep sweeping, every SECONDS, until stopped: for a machine without cron.",
)  # fmt: skip
def attempts_sweep(every: int | None) -> None:
    """Finalise every attempt whose time and grace have run out, then checkpoint the audit trail.

    Safe to run from cron, and idempotent. With ``--every`` a failed pass (the
    database restarting, say) is reported and the next pass tries again.
    """
    if every is None:
        _sweep_once(repeating=False)
        return
    while True:
        try:
            _sweep_once(repeating=True)
        except Exception as error:  # a worker that stops closes nothing: report, go on
            db.session.rollback()
            click.echo(f"This sweep failed and will be tried again: {error}", err=True)
        db.session.remove()
        time.sleep(every)


def _sweep_once(*, repeating: bool) -> None:
    try:
        counts = delivery.sweep()
        db.session.commit()  # first, so the checkpoint covers what the sweep recorded
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    if not repeating or counts["finalised"]:
        click.echo(
            f"Checked {counts['checked']} overdue attempts, finalised {counts['finalised']}; "
            f"{counts['open']} attempts still open."
        )
    # Written answers whose allocation could not be made at submission get their markers.
    allocated = marking.allocate()
    db.session.commit()
    if allocated:
        click.echo(f"Made {allocated} marking allocations.")
    _checkpoint(quiet=repeating, fatal=not repeating)


@results_cli.command("recompute")
@click.option("--assessment", "assessment_key", help="Only this assessment's attempts.")
@click.option("--apply", is_flag=True, help="Store the changes (audited). Without it, only report.")
@transaction
def results_recompute(assessment_key: str | None, apply: bool) -> None:
    """Recompute results from stored responses; report any that would change."""
    # Close attempts whose time has run out first, so every finished attempt is compared.
    delivery.sweep()
    checked, changes = results.recompute(assessment_key, apply=apply)
    for change in changes:
        click.echo(change.describe())
    verb = "changed" if apply else "would change"
    click.echo(f"Checked {checked} results: {len(changes)} {verb}.")


@results_cli.command("release")
@click.option(
    "--assessment", "assessment_key", required=True, help="Release this assessment's results."
)
@click.option(
    "--reason", default="Released by an administrator", help="Recorded in the audit trail."
)
@transaction
def results_release(assessment_key: str, reason: str) -> None:
    """Release every scored, unreleased result of an assessment to its candidates.

    An assessment released after moderation releases only once every result is
    ratified or withheld, as on the lead assessor's moderation page.
    """
    if db.session.scalar(select(Assessment).filter_by(key=assessment_key)) is None:
        raise click.ClickException(f"No assessment {assessment_key}")
    # Each result by its own attempt's rules: a version released after moderation
    # is released only once every one of its results is ratified or withheld.
    moderated = marking.result_facts(assessment_key)
    done = marking.release(assessment_key, actor=None, reason=reason) if moderated else None
    skip = {fact.result.id for fact in moderated}
    released = pending = 0
    for attempt in results.submitted_attempts(assessment_key):
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
        if row is None or row.id in skip:
            continue
        if row.status != "scored":
            pending += 1
            continue
        released += results.release(row, actor=None, reason=reason)
    released += done.released if done else 0
    withheld = done.withheld if done else 0
    click.echo(f"Released {released} results; {pending} still await marking; {withheld} withheld.")


@marking_cli.command("status")
@click.option("--assessment", "assessment_key", help="Only this assessment's scripts.")
def marking_status(assessment_key: str | None) -> None:
    """Print how many written answers are in each marking state, and results in moderation."""
    counts = marking.state_counts(assessment_key)
    click.echo("Scripts (written answers):")
    for state, count in counts.items():
        click.echo(f"  {state.replace('_', ' '):18} {count}")
    stages = Counter(fact.stage for fact in marking.result_facts(assessment_key))
    click.echo("Results released after moderation:")
    for stage in ("awaiting_marks", "in_moderation", "agreed", "ratified", "withheld", "released"):
        click.echo(f"  {stage.replace('_', ' '):18} {stages.get(stage, 0)}")


@marking_cli.command("allocate")
@click.option("--assessment", "assessment_key", help="Only this assessment's scripts.")
@transaction
def marking_allocate(assessment_key: str | None) -> None:
    """Give every written answer that lacks a marker its markers (safe to run again)."""
    made = marking.allocate(assessment_key)
    left = marking.state_counts(assessment_key)["unallocated"]
    click.echo(f"Made {made} allocations; {left} scripts still lack a marker.")


@analysis_cli.command("run")
@click.option("--assessment", "assessment_key", required=True, help="The assessment to analyse.")
@click.option("--json", "as_json", is_flag=True, help="Print every item's statistics as JSON.")
@click.option(
    "--all-attempts", is_flag=True, help="Count re-sits too (first attempts only by default)."
)
def analysis_run(assessment_key: str, as_json: bool, all_attempts: bool) -> None:
    """Print the test statistics and the flagged items (or everything, as JSON).

    The analysis is kept, as the worker keeps it, so the pages show it too.
    """
    first_only = not all_attempts
    try:
        total = len(analysis.attempts_to_analyse(assessment_key, first_attempts_only=first_only))
        with click.progressbar(
            length=total, label="Reading the responses", file=sys.stderr,
            hidden=as_json or total == 0,
        ) as bar:  # fmt: skip
            read = 0

            def progress(done: int, _total: int) -> None:
                nonlocal read
                bar.update(done - read)
                read = done

            kept = analysis.keep(assessment_key, actor=None, first_attempts_only=first_only,
                                 progress=progress)  # fmt: skip
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    done = analysis.AssessmentAnalysis.from_json(kept.statistics)
    if as_json:
        click.echo(json.dumps(done.as_json(), indent=2, default=str))
        return
    test = done.analysis.assessment
    which = "first attempts" if done.first_attempts_only else "attempts"
    click.echo(f"{done.title}: {done.attempts} {which}, {len(done.analysis.items)} items")
    figures = [
        ("mean", test.mean, "%"), ("median", test.median, "%"), ("SD", test.sd, "%"),
        ("skewness", test.skewness, ""), ("kurtosis", test.kurtosis, ""),
        (test.coefficient, test.reliability, ""), ("SEM", test.sem, "%"),
        ("error ratio", test.error_ratio, "%"),
        ("within 1 SEM of the cut", test.within_one_sem, ""),
    ]  # fmt: skip
    for name, value, unit in figures:
        shown = "-" if value is None else f"{value:.2f}{unit}"
        click.echo(f"  {name:24} {shown}")
    for test_flags in done.flags.tests:
        for flag in test_flags.flags:
            click.echo(f"  test: {flag.message}")
    flagged = done.flags.flagged_items
    if done.too_few:
        click.echo(
            f"{len(done.too_few)} items seen by fewer than {done.min_candidates} candidates "
            "are not flagged: too few to judge."
        )
    click.echo(f"{len(flagged)} items flagged:")
    for item_flags in flagged:
        for flag in (*item_flags.hard, *item_flags.soft):
            click.echo(f"  {item_flags.item:12} {flag.severity:4} {flag.code:24} {flag.message}")


@analysis_cli.command("sign-off")
@click.option("--assessment", "assessment_key", required=True, help="The assessment.")
@click.option("--note", default="", help="What the review found; recorded with the sign-off.")
@transaction
def analysis_sign_off(assessment_key: str, note: str) -> None:
    """Sign off the assessment's item analysis, so its results may be released after moderation."""
    row = analysis.sign_off(assessment_key, actor=None, note=note)
    click.echo(f"Signed off the item analysis of {assessment_key} over {row.attempts} attempts.")


@keys_cli.command("decide")
@click.option("--assessment", "assessment_key", required=True, help="The assessment.")
@click.option("--item", "item_key", required=True, help="The item's id.")
@click.option(
    "--decision", required=True, type=click.Choice(["void", "rekey", "credit", "keys", "keep"])
)
@click.option(
    "--key", "keys", multiple=True,
    help="rekey: the new key; keys: each accepted key (repeat). Lists as a,b.",
)  # fmt: skip
@click.option("--reason", required=True, help="Why: recorded with the decision and each result.")
@click.option("--dry-run", is_flag=True, help="Show what would change, and change nothing.")
@transaction
def keys_decide(
    assessment_key: str, item_key: str, decision: str, keys: tuple[str, ...], reason: str,
    dry_run: bool,
) -> None:  # fmt: skip
    """Show whose results a key decision changes (and flips), then commit it unless --dry-run."""
    key: Any = None
    if decision == "rekey":
        key = keys[0] if len(keys) == 1 else list(keys) or None
    elif decision == "keys":
        key = list(keys)
    proposal = key_decisions.propose(assessment_key, item_key, decision, key=key, reason=reason)
    preview = key_decisions.dry_run(proposal)
    _print_dry_run(preview)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    made, _preview, job = key_decisions.commit(proposal, actor=None)
    db.session.commit()
    with click.progressbar(length=preview.affected, label="Rescoring") as bar:
        tasks.run_rescore(job.id, progress=bar.update)
    click.echo(
        f"Recorded decision {made.version} on {item_key} and rescored "
        f"{key_decisions.changed_by(made.id)} results."
    )


def _print_dry_run(preview: key_decisions.DryRun) -> None:
    click.echo(
        f"{preview.affected} results have {preview.proposal.item.key} on their form; "
        f"{len(preview.changes)} would change: {preview.pass_to_fail} pass to fail, "
        f"{preview.fail_to_pass} fail to pass."
    )
    outcome = {True: "pass", False: "fail", None: "pending"}
    for change in preview.changes:
        flip = f"  {change.flip.replace('_', ' ').upper()}" if change.flip else ""
        click.echo(
            f"  attempt {change.attempt_id:<6} score {change.old_raw:g}/{change.old_maximum:g}"
            f" -> {change.new_raw:g}/{change.new_maximum:g}, cut {change.old_cut:.2f} -> "
            f"{change.new_cut:.2f}, {outcome[change.old_passed]} -> "
            f"{outcome[change.new_passed]}{' (released)' if change.released else ''}{flip}"
        )


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running tasks.")
def jobs_worker(workers: int) -> None:
    """Run the background worker until stopped: rescoring after key decisions, and more."""
    from flask import current_app

    tasks.use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Worker running with {workers} threads (Ctrl-C to stop).")
    # Poll at least once a second, so a page waiting on a job sees it start promptly.
    huey.create_consumer(
        workers=workers, worker_type="thread", initial_delay=0.1, backoff=1.15, max_delay=1.0
    ).run()


@jobs_cli.command("status")
@click.argument("job_id", type=int)
def jobs_status(job_id: int) -> None:
    """Print a job's state and progress."""
    try:
        job = jobs.get(job_id)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    total = "?" if job.total is None else job.total
    click.echo(f"Job {job.id} ({job.kind}): {job.state}, {job.done} of {total}. {job.message}")


def _export_command(kind: str, help_text: str) -> None:
    @exports_cli.command(kind, help=help_text)
    @click.option(
        "--out",
        "out",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to write the ZIP.",
    )
    @click.option("--assessment", default=None, help="Only this assessment (its id).")
    @click.option("--organisation", default=None, help="Only this organisation (its code).")
    @click.option("--from", "window_from", default=None, help="Submitted on or after (YYYY-MM-DD).")
    @click.option("--to", "window_to", default=None, help="Submitted on or before (YYYY-MM-DD).")
    @click.option(
        "--status",
        type=click.Choice(exports.STATUSES),
        default="ratified",
        show_default=True,
        help="ratified: ratified and amended results; all: provisional ones too.",
    )
    @transaction
    def command(out: Path, **raw: Any) -> None:
        export = exports.generate(kind, exports.Filters.parse(raw), actor=None)
        db.session.flush()
        shutil.copyfile(exports.export_dir() / export.file_name, out)
        click.echo(f"Wrote {out}: export {export.id}, {export.rows} rows, "
                   f"SHA-256 {export.sha256}")  # fmt: skip


for _kind, _help in (
    ("results", "One row per finalised accreditation attempt (and per absence)."),
    ("profiles", "One row per finalised attempt and competency statement."),
    ("marking", "Each written answer's marks by round, and its agreed mark."),
    ("items", "Item statistics of one assessment (give --assessment)."),
    ("research", "Responses per item, pseudonymised, with small counts suppressed."),
):
    _export_command(_kind, _help)


@exports_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def exports_verify(file: Path) -> None:
    """Check an export ZIP against its datapackage.json: hashes, sizes, rows and types."""
    problems = export_formats.verify(file)
    if problems:
        for problem in problems:
            click.echo(f"FAILED: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"{file}: every file matches its datapackage.json (hash, size, rows, types).")


@exports_cli.command("token")
@click.option("--email", required=True, help="The regulator who will hold the token.")
@click.option("--name", required=True, help='What the token is for, such as "weekly load".')
@transaction
def exports_token(email: str, name: str) -> None:
    """Issue an export API token to a regulator. It is printed once and never stored."""
    holder = db.session.scalar(select(User).filter_by(email=email.strip().lower()))
    if holder is None:
        raise click.ClickException(f"No account {email}")
    row, token = tokens.issue(holder, name, actor=None)
    click.echo(f"Token {row.id} for {holder.email} ({name}). Keep it safe; it is shown once:")
    click.echo(token)


@exports_cli.command("revoke-token")
@click.argument("token_id", type=int)
@click.option("--reason", default="", help="Why; recorded.")
@transaction
def exports_revoke_token(token_id: int, reason: str) -> None:
    """Revoke an export API token."""
    tokens.revoke(token_id, actor=None, reason=reason)
    click.echo(f"Token {token_id} revoked.")


@teams_cli.command("add")
@click.option("--org", "organisation_code", required=True, help="The organisation's code.")
@click.argument("name")
@transaction
def teams_add(organisation_code: str, name: str) -> None:
    """Add a team to an organisation."""
    team = cohort.add_team(cohort.organisation_by_code(organisation_code), name, actor=None)
    click.echo(f"Added team {team.name} to {organisation_code}.")


@teams_cli.command("assign")
@click.argument("email")
@click.argument("team", required=False)
@click.option("--none", "no_team", is_flag=True, help="Take the candidate out of any team.")
@transaction
def teams_assign(email: str, team: str | None, no_team: bool) -> None:
    """Put a candidate in a team of their organisation (TEAM is its name), or in none."""
    person = db.session.scalar(select(User).filter_by(email=email.strip().lower()))
    if person is None:
        raise click.ClickException(f"No account {email}")
    if person.organisation is None:
        raise click.ClickException(f"{email} belongs to no organisation")
    if (team is None) == (not no_team):
        raise click.ClickException("Give a team's name, or --none")
    found = None if no_team else cohort.team_named(person.organisation, team or "")
    cohort.assign(person, found, actor=None)
    click.echo(f"{email} is now in {found.name if found else 'no team'}.")


DEMO_ORGANISATIONS = [
    ("NHC", "Northhaven City Council"),
    ("WDC", "Westdale County Council"),
]

# Demonstration accounts only: the README lists them, and production never runs `demo`.
# Alex Morgan is the lead assessor, who moderates. Ravi Shah works for Northhaven, so never
# marks a Northhaven candidate's script; Sol, Kim and Jules do.
DEMO_LEAD_ASSESSOR = "assessor@example.org"
DEMO_ACCOUNTS = [
    ("candidate@example.org", Role.CANDIDATE, "NHC", "Sam Okafor", "brisk-harbour-lantern"),
    ("candidate2@example.org", Role.CANDIDATE, "WDC", "Priya Nair", "velvet-river-almanac"),
    ("assessor@example.org", Role.ASSESSOR, None, "Alex Morgan", "amber-meadow-compass"),
    ("assessor2@example.org", Role.ASSESSOR, None, "Sol Brennan", "copper-field-sonnet"),
    ("assessor3@example.org", Role.ASSESSOR, None, "Kim Osei", "linen-harbour-thistle"),
    ("assessor4@example.org", Role.ASSESSOR, "NHC", "Ravi Shah", "ochre-valley-lattice"),
    ("assessor5@example.org", Role.ASSESSOR, None, "Jules Carter", "tidal-quarry-meadow"),
    ("candidate3@example.org", Role.CANDIDATE, "NHC", "Dee Mensah", "maple-signal-horizon"),
    ("leader@example.org", Role.LEADER, "NHC", "Jo Whitfield", "quiet-orchard-beacon"),
    ("regulator@example.org", Role.REGULATOR, None, "Chris Adeyemi", "silver-canal-ledger"),
    ("admin@example.org", Role.ADMIN, None, "Robin Hale", "granite-willow-signal"),
]


@click.command("demo")
@click.option(
    "--without-history", is_flag=True,
    help="Skip staging Northhaven's past sittings (for a quick start, or tests of sittings).",
)  # fmt: skip
@transaction
def demo(without_history: bool) -> None:
    """Create demo organisations and one account per role (idempotent); print the credentials.

    With the banks imported, it also enrols the demo candidates and stages Northhaven's
    past sittings, released, for the leader's cohort view.
    """
    for code, name in DEMO_ORGANISATIONS:
        if db.session.scalar(select(Organisation).filter_by(code=code)) is None:
            accounts.add_organisation(code, name)
    click.echo("Demo accounts (sign in at /login):")
    for email, role, organisation_code, name, password in DEMO_ACCOUNTS:
        existing = db.session.scalar(select(User).filter_by(email=email))
        if existing is None:
            accounts.add_user(
                email,
                role=role.value,
                password=password,
                name=name,
                organisation_code=organisation_code,
                lead_assessor=email == DEMO_LEAD_ASSESSOR,
                swe_registration_number=DEMO_REGISTRATIONS.get(email),
            )
        elif email == DEMO_LEAD_ASSESSOR and not existing.lead_assessor:
            accounts.set_lead_assessor(existing, True, actor=None)
        note = "" if existing is None else " (already existed)"
        label = "Lead assessor" if email == DEMO_LEAD_ASSESSOR else role.label
        click.echo(f"  {label:16} {email:26} {password}{note}")
    _demo_enrolments()
    if not without_history:
        demo_history.stage(DEMO_LEAD_ASSESSOR, click.echo)


# Social Work England registration numbers of the demo candidates (made up, in SWE's format).
DEMO_REGISTRATIONS = {
    "candidate@example.org": "SW104211",
    "candidate2@example.org": "SW118034",
    "candidate3@example.org": "SW097652",
}

# Each demo candidate is enrolled on these tests when the banks have been imported.
DEMO_ENROLMENTS = [
    ("candidate@example.org", "kssp-accreditation"),
    ("candidate@example.org", "kssp-practice"),
    ("candidate2@example.org", "ksss-practice"),
    ("candidate3@example.org", "kssl-accreditation"),
    ("candidate3@example.org", "kssl-practice"),
]


def _demo_enrolments() -> None:
    for email, key in DEMO_ENROLMENTS:
        candidate = db.session.scalar(select(User).filter_by(email=email))
        assessment = db.session.scalar(select(Assessment).filter_by(key=key, status="active"))
        if candidate is None or assessment is None:
            continue
        already = db.session.scalar(
            select(Enrolment).filter_by(candidate_id=candidate.id, assessment_id=assessment.id)
        )
        if already is None:
            delivery.enrol(candidate, key, actor=None)
            click.echo(f"  Enrolled {email} on {key}")


def init_app(app: Flask) -> None:
    commands = (
        banks_cli, orgs_cli, users_cli, audit_cli, attempts_cli, results_cli, marking_cli,
        analysis_cli, keys_cli, jobs_cli, exports_cli, teams_cli, enrol, demo,
    )  # fmt: skip
    for command in commands:
        app.cli.add_command(command)
