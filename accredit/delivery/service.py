"""The sitting's operations: enrol, start, save, flag, submit, finalise. Services flush only.

Every write checks ownership, the attempt's state and its deadline on the
server, whatever the browser says. Saving an answer is one read and one
upsert that writes only while the attempt is open; submitting and expiry go
through one step, ``finish``, which closes the attempt with a conditional update
and scores it, so each happens exactly once however many requests race, and an
acknowledged answer is always in the score. Reads never close an attempt: the
sweep and the write paths do.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from flask import current_app
from sqlalchemy import Integer, Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from accredit import audit, clock
from accredit.banks import Assessment as AssessmentSpec
from accredit.catalogue.queries import bank_facts, current_item_versions
from accredit.catalogue.queries import spec_of as spec_of
from accredit.delivery.answers import answer_rules, normalise_answer
from accredit.delivery.assembly import ItemOptions, assemble, form_id
from accredit.delivery.timing import (
    Adjustment,
    AttemptState,
    accepts_answers,
    attempt_state,
    deadline,
    window_state,
)
from accredit.errors import Conflict, DomainError, NotFound
from accredit.extensions import db
from accredit.marking import service as marking
from accredit.models import (
    Assessment,
    AssessmentVersion,
    FrameworkVersion,
    Item,
    ItemVersion,
    Role,
    Scenario,
    ScenarioVersion,
    User,
)
from accredit.models.delivery import Attempt, AttemptItem, Enrolment, Response
from accredit.results import service as results
from accredit.timefmt import uk_time

logger = logging.getLogger(__name__)


class NotEnrolled(NotFound):
    code = "not_enrolled"


class StartRefused(DomainError):
    code = "start_refused"
    status = 409


class DeadlinePassed(Conflict):
    code = "deadline_passed"


class AttemptClosed(Conflict):
    code = "attempt_submitted"


class InvalidSeq(DomainError):
    code = "bad_request"
    status = 400


# The largest integer a browser keeps exactly.
MAX_SEQ = 2**53
# How far one save may move a position's seq past the stored one. A browser adds 1
# per change, so this is never reached honestly; it keeps any stored seq far below
# MAX_SEQ, so no seq can ever leave a question with no newer seq to save.
MAX_SEQ_STEP = 1_000_000


class AnswerLocked(Conflict):
    code = "answer_locked"


class InvalidEnrolment(DomainError):
    code = "invalid_enrolment"


class PracticeLocked(DomainError):
    code = "practice_locked"
    status = 409


def grace() -> timedelta:
    return timedelta(seconds=current_app.config["ACCREDIT_SUBMIT_GRACE_SECONDS"])


def state_of(attempt: Attempt, at: datetime | None = None) -> AttemptState:
    return attempt_state(at or clock.now(), attempt.deadline_at, attempt.submitted_at, grace())


def current_version(assessment: Assessment) -> AssessmentVersion:
    return db.session.scalars(
        select(AssessmentVersion).filter_by(
            assessment_id=assessment.id, version=assessment.current_version
        )
    ).one()


# Enrolment and adjustments.


def adjustment_of(enrolment: Enrolment) -> Adjustment:
    return Adjustment(enrolment.extra_time_percent, enrolment.extra_time_minutes)


def window_of(
    enrolment: Enrolment, spec: AssessmentSpec
) -> tuple[datetime | None, datetime | None]:
    """Return the enrolment's own window, or else the assessment's."""
    opens = enrolment.opens_at or (spec.window.opens if spec.window else None)
    closes = enrolment.closes_at or (spec.window.closes if spec.window else None)
    return opens, closes


def enrol(
    candidate: User,
    assessment_key: str,
    *,
    actor: User | None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Enrolment:
    """Enrol a candidate. An existing enrolment is refused, never overwritten.

    Its window and extra time were set on purpose: change them with
    ``set_adjustment``, which records each change before and after.
    """
    if candidate.role != Role.CANDIDATE:
        raise InvalidEnrolment(f"{candidate.email} is not a candidate")
    assessment = db.session.scalar(select(Assessment).filter_by(key=assessment_key))
    if assessment is None or assessment.status != "active":
        raise NotFound(f"No active assessment {assessment_key}")
    check_adjustment(None, None, None, opens_at=opens_at, closes_at=closes_at)
    existing = db.session.scalar(
        select(Enrolment).filter_by(candidate_id=candidate.id, assessment_id=assessment.id)
    )
    if existing is not None:
        raise Conflict(
            f"{candidate.email} is already enrolled on {assessment_key}: change that enrolment"
        )
    enrolment = Enrolment(
        candidate=candidate, assessment=assessment, enrolled_by_id=actor.id if actor else None,
        opens_at=opens_at, closes_at=closes_at,
    )  # fmt: skip
    db.session.add(enrolment)
    db.session.flush()
    audit.record(
        "enrolment.added", actor=actor, subject_type="enrolment", subject_id=enrolment.id,
        details={"candidate": candidate.email, "assessment": assessment_key,
                 "opens_at": opens_at, "closes_at": closes_at},
    )  # fmt: skip
    return enrolment


def check_adjustment(
    percent: int | None,
    minutes: int | None,
    reason: str | None,
    *,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> str | None:
    """Refuse an impossible adjustment before anything is written; return the tidied reason."""
    reason = (reason or "").strip() or None
    if percent and minutes:
        raise InvalidEnrolment("Give extra time as a percentage or in minutes, not both")
    if (percent or minutes) and not reason:
        raise InvalidEnrolment("Give the reason for the extra time")
    if percent is not None and not 1 <= percent <= 300:
        raise InvalidEnrolment("Extra time must be from 1% to 300%")
    if minutes is not None and not 1 <= minutes <= 600:
        raise InvalidEnrolment("Extra time must be from 1 to 600 minutes")
    if opens_at and closes_at and opens_at >= closes_at:
        raise InvalidEnrolment("The window must close after it opens")
    return reason


def set_adjustment(
    enrolment: Enrolment,
    *,
    percent: int | None,
    minutes: int | None,
    reason: str | None,
    actor: User | None,
    window: tuple[datetime | None, datetime | None] | None = None,
) -> Attempt | None:
    """Set (or clear) extra time with its reason and, if given, the window (opens, closes).

    Each change is audited before and after; saving what is already there records
    nothing. An open attempt's deadline moves at once: return that attempt if its
    deadline moved, or None if no deadline did.
    """
    opens_at, closes_at = window or (enrolment.opens_at, enrolment.closes_at)
    reason = check_adjustment(
        percent=percent, minutes=minutes, reason=reason, opens_at=opens_at, closes_at=closes_at
    )
    before = {
        "extra_time": adjustment_of(enrolment).describe(), "reason": enrolment.adjustment_reason,
        "opens_at": enrolment.opens_at, "closes_at": enrolment.closes_at,
    }  # fmt: skip
    enrolment.extra_time_percent, enrolment.extra_time_minutes = percent or None, minutes or None
    enrolment.adjustment_reason = reason if (percent or minutes) else None
    enrolment.opens_at, enrolment.closes_at = opens_at, closes_at
    after = {
        "extra_time": adjustment_of(enrolment).describe(), "reason": enrolment.adjustment_reason,
        "opens_at": enrolment.opens_at, "closes_at": enrolment.closes_at,
    }  # fmt: skip
    if after == before:
        return None
    open_before = open_attempt(enrolment)
    deadline_before = open_before.deadline_at if open_before else None
    moved = _move_open_deadline(enrolment)
    audit.record(
        "enrolment.adjusted", actor=actor, subject_type="enrolment", subject_id=enrolment.id,
        details={"before": before["extra_time"], "after": after["extra_time"], "reason": reason,
                 "changed": {name: {"before": before[name], "after": after[name]}
                             for name in before if before[name] != after[name]},
                 "attempt": moved.id if moved else None,
                 "deadline_before": deadline_before if moved else None,
                 "deadline_at": moved.deadline_at if moved else None},
    )  # fmt: skip
    return moved


def _move_open_deadline(enrolment: Enrolment) -> Attempt | None:
    """Recompute an open attempt's deadline; return the attempt only if the deadline changed."""
    attempt = db.session.scalar(
        select(Attempt).filter_by(enrolment_id=enrolment.id, submitted_at=None)
    )
    if attempt is None:
        return None
    spec = spec_of(attempt.assessment_version)
    _opens, closes = window_of(enrolment, spec)
    before = attempt.deadline_at
    attempt.deadline_at = deadline(
        attempt.started_at, spec.time_limit_minutes, adjustment_of(enrolment), closes
    )
    db.session.flush()
    return attempt if attempt.deadline_at != before else None


# Starting.


def enrolment_for(candidate: User, assessment_key: str) -> Enrolment:
    enrolment = db.session.scalar(
        select(Enrolment)
        .join(Assessment, Assessment.id == Enrolment.assessment_id)
        .where(Enrolment.candidate_id == candidate.id, Assessment.key == assessment_key)
    )
    if enrolment is None:
        raise NotEnrolled("You are not enrolled on this assessment")
    return enrolment


def open_attempt(enrolment: Enrolment) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).filter_by(enrolment_id=enrolment.id, submitted_at=None)
    )


def finished(attempt: Attempt, at: datetime | None = None) -> bool:
    """Say whether an attempt is over: submitted, or past its deadline and grace."""
    return state_of(attempt, at) in (AttemptState.SUBMITTED, AttemptState.EXPIRED)


def start_refusal(enrolment: Enrolment, spec: AssessmentSpec, at: datetime) -> str | None:
    """Return why a new attempt may not start now, or None if it may.

    An attempt whose time has run out counts as used, whether or not the sweep
    has closed it yet.
    """
    opens, closes = window_of(enrolment, spec)
    where = window_state(at, opens, closes)
    if where == "not_open" and opens is not None:
        return f"This assessment opens on {uk_time(opens)}"
    if where == "closed":
        return "The window for this assessment has closed"
    ended = {
        attempt.id: attempt.submitted_at or attempt.deadline_at
        for attempt in enrolment.attempts
        if finished(attempt, at)
    }
    if spec.attempts.max_attempts is not None and len(ended) >= spec.attempts.max_attempts:
        return f"You have used all {spec.attempts.max_attempts} attempts at this assessment"
    if ended and spec.attempts.cool_off_days:
        last = max(moment for moment in ended.values() if moment is not None)
        allowed = last + timedelta(days=spec.attempts.cool_off_days)
        if at < allowed:
            return f"You can sit this assessment again from {uk_time(allowed)}"
    return None


def ensure_practice_allowed(
    candidate_id: int, mode: str, framework_version_id: int, at: datetime | None = None
) -> None:
    """Refuse practice while the candidate has an accreditation attempt of the framework open.

    Practice shows answers and rationales; a candidate part-way through an
    accreditation test must not be able to look anything up in it.
    """
    if mode != "practice":
        return
    at = at or clock.now()
    framework_id = (
        select(FrameworkVersion.framework_id)
        .where(FrameworkVersion.id == framework_version_id)
        .scalar_subquery()
    )
    sitting_now = db.session.scalar(
        select(Attempt.id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(FrameworkVersion, FrameworkVersion.id == AssessmentVersion.framework_version_id)
        .where(
            Attempt.candidate_id == candidate_id, Attempt.submitted_at.is_(None),
            AssessmentVersion.mode == "accreditation",
            FrameworkVersion.framework_id == framework_id,
            or_(Attempt.deadline_at.is_(None), Attempt.deadline_at > at - grace()),
        )
        .limit(1)
    )  # fmt: skip
    if sitting_now is not None:
        raise PracticeLocked(
            "You cannot use the practice test while you have an accreditation test of the same "
            "framework in progress. Finish that test first."
        )


def start_attempt(candidate: User, assessment_key: str) -> tuple[Attempt, bool]:
    """Start an attempt, or return the open one; say whether it is new."""
    at = clock.now()
    enrolment = enrolment_for(candidate, assessment_key)
    existing = open_attempt(enrolment)
    if existing is not None and not finished(existing, at):
        version = existing.assessment_version
        ensure_practice_allowed(candidate.id, version.mode, version.framework_version_id, at)
        return existing, False
    if existing is not None:
        # Its time ran out before the sweep reached it: close and score it first.
        finish(existing, "expired", at=at)
    version = current_version(enrolment.assessment)
    ensure_practice_allowed(candidate.id, version.mode, version.framework_version_id, at)
    spec = spec_of(version)
    refusal = start_refusal(enrolment, spec, at)
    if refusal:
        raise StartRefused(refusal)
    attempt = _new_attempt(enrolment, version, spec, at)
    try:
        # Written in a savepoint, so losing the race undoes only this attempt, not the
        # request. Everything is read before it, so on SQLite the write comes first.
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # Another request started this enrolment's attempt at the same moment:
        # the database let only one through, and that one is the candidate's.
        raced = open_attempt(enrolment)
        if raced is None:
            raise
        return raced, False
    audit.record(
        "attempt.started", actor=candidate, subject_type="attempt", subject_id=attempt.id,
        details={"assessment": assessment_key, "version": version.version, "seed": attempt.seed,
                 "number": attempt.number, "deadline_at": attempt.deadline_at,
                 "adjustment": adjustment_of(enrolment).describe()},
    )  # fmt: skip
    return attempt, True


def _new_attempt(
    enrolment: Enrolment, version: AssessmentVersion, spec: AssessmentSpec, at: datetime
) -> Attempt:
    seed = secrets.randbits(62)
    banks = {rule.bank for section in spec.sections for rule in section.draws}
    current: dict[str, tuple[Item, ItemVersion]] = {}

    def options_for(keys: list[str]) -> dict[str, ItemOptions]:
        # Only the drawn items' versions are loaded: their content carries the options.
        current.update(_current_versions(keys))
        return {
            key: ItemOptions(
                type=row.content["type"],
                options=tuple(option["id"] for option in row.content.get("options", [])),
                key_order=tuple(row.content["key"]) if row.content["type"] == "ordering" else (),
            )
            for key, (_item, row) in current.items()
        }

    slots = assemble(spec, bank_facts(banks, use=spec.mode), options_for, seed)
    _opens, closes = window_of(enrolment, spec)
    number = (
        db.session.scalar(
            select(func.max(Attempt.number)).where(Attempt.enrolment_id == enrolment.id)
        )
        or 0
    ) + 1
    # Ids, not relationships, so the new attempt stays out of the session until it is added.
    attempt = Attempt(
        enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id,
        assessment_version_id=version.id, number=number, seed=seed, started_at=at,
        deadline_at=deadline(at, spec.time_limit_minutes, adjustment_of(enrolment), closes),
    )  # fmt: skip
    scenario_versions = _current_scenario_versions({s.scenario for s in slots if s.scenario})
    for slot in slots:
        item, item_version = current[slot.item]
        attempt.items.append(
            AttemptItem(
                position=slot.position, section=slot.section, item_id=item.id,
                item_version_id=item_version.id,
                scenario_version_id=scenario_versions.get(slot.scenario) if slot.scenario else None,
                item_type=item.type, option_order=list(slot.option_order),
                answer_rules=answer_rules(item.type, item_version.content),
                pretest=slot.pretest or _unmarked_in_practice(spec, item_version),
            )
        )  # fmt: skip
    attempt.form_id = form_id((slot.position, slot.item_version_id) for slot in attempt.items)
    return attempt


def _unmarked_in_practice(spec: AssessmentSpec, version: ItemVersion) -> bool:
    """Say whether a practice form must leave this item unmarked, as a trial question.

    An item for both uses may be practised, but its mark (or feedback) against the
    candidate's answer would give away the key of an item accreditation tests draw.
    """
    return spec.mode == "practice" and version.for_accreditation


def _current_versions(keys: list[str]) -> dict[str, tuple[Item, ItemVersion]]:
    rows = db.session.execute(current_item_versions().where(Item.key.in_(keys))).all()
    return {row[0].key: (row[0], row[1]) for row in rows}


def _current_scenario_versions(keys: set[str]) -> dict[str, int]:
    rows = db.session.execute(
        select(Scenario.key, ScenarioVersion.id)
        .join(
            ScenarioVersion,
            (ScenarioVersion.scenario_id == Scenario.id)
            & (ScenarioVersion.version == Scenario.current_version),
        )
        .where(Scenario.key.in_(keys))
    ).all()
    return {row[0]: row[1] for row in rows}


# The sitting.


def attempt_for(candidate: User, attempt_id: int) -> Attempt:
    """Return the candidate's own attempt; anyone else's is reported as not found.

    A practice attempt is refused while an accreditation attempt of its framework is open.
    """
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.candidate_id != candidate.id:
        raise NotFound("No such attempt")
    version = attempt.assessment_version
    ensure_practice_allowed(candidate.id, version.mode, version.framework_version_id)
    return attempt


def _mark_submitted(attempt: Attempt, submitted_at: datetime | None, submission: str) -> bool:
    """Close an open attempt with one conditional update; True only for the call that closed it.

    On PostgreSQL the update waits for saves holding the attempt's row (``FOR SHARE``)
    to commit, so every save acknowledged before the close is in what is scored.
    """
    closed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=submitted_at, submission=submission)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attempt)
    return closed.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def finish(attempt: Attempt, submission: str, *, at: datetime, actor: User | None = None) -> bool:
    """Close an attempt and score it: the one step every ending goes through.

    ``submission`` is "candidate" (submitted at ``at``) or "expired" (closed at its
    deadline). True only for the call that closed it; later calls change nothing.
    """
    submitted_at = at if submission == "candidate" else attempt.deadline_at
    if not _mark_submitted(attempt, submitted_at, submission):
        return False
    if submission == "candidate":
        audit.record(
            "attempt.submitted", actor=actor, subject_type="attempt", subject_id=attempt.id,
            details={"submitted_at": at, "deadline_at": attempt.deadline_at},
        )  # fmt: skip
    else:
        audit.record(
            "attempt.expired", actor=None, subject_type="attempt", subject_id=attempt.id,
            details={"deadline_at": attempt.deadline_at, "finalised_at": at},
        )  # fmt: skip
    results.record(attempt)
    _open_scripts(attempt)
    return True


def _open_scripts(attempt: Attempt) -> None:
    """Send the attempt's written answers to their markers, never at the submission's expense.

    The allocation has its own savepoint: if it fails, the submission and its
    result stand, and ``marking allocate`` (which the sweep runs too) finishes
    the job later.
    """
    try:
        with db.session.begin_nested():
            marking.open_scripts(attempt)
    except SQLAlchemyError:
        logger.exception("allocating the written answers of attempt %s failed", attempt.id)


def finish_expired(attempt: Attempt, at: datetime | None = None) -> bool:
    """Close an attempt whose grace period has passed; True only for the call that closed it."""
    at = at or clock.now()
    if state_of(attempt, at) is not AttemptState.EXPIRED:
        return False
    return finish(attempt, "expired", at=at)


def sweep(at: datetime | None = None) -> dict[str, int]:
    """Finalise every attempt past its deadline and grace; safe to run any number of times."""
    at = at or clock.now()
    overdue = db.session.scalars(
        select(Attempt).where(
            Attempt.submitted_at.is_(None), Attempt.deadline_at.is_not(None),
            Attempt.deadline_at <= at - grace(),
        )
    ).all()  # fmt: skip
    finalised = sum(1 for attempt in overdue if finish_expired(attempt, at))
    still_open = db.session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.submitted_at.is_(None))
    )
    return {"checked": len(overdue), "finalised": finalised, "open": still_open or 0}


def refuse_unless_accepting(state: AttemptState) -> None:
    """Raise unless an attempt in this state takes answers. Writes nothing."""
    if state is AttemptState.EXPIRED:
        raise DeadlinePassed("The time for this assessment has run out")
    if not accepts_answers(state):
        raise AttemptClosed("This assessment has been submitted")


@dataclass(frozen=True)
class Saved:
    seq: int
    saved_at: datetime | None
    stored: bool


def save_answer(candidate: User, attempt_id: int, position: int, answer: Any, seq: int) -> Saved:
    """Store an answer if its seq is newer than the stored one; report what is stored.

    The write itself checks that the attempt is the candidate's and still open, in
    the same statement, so a save racing a submit either lands before the attempt
    is scored or is refused: an acknowledged answer is always scored. Both
    statements are built once and reused: a save is the hottest path there is.
    """
    at = clock.now()
    row = db.session.execute(
        _save_context(), {"attempt_id": attempt_id, "position": position}
    ).one_or_none()
    if row is None or row.candidate_id != candidate.id:
        raise NotFound("No such question in this attempt")
    refuse_unless_accepting(attempt_state(at, row.deadline_at, row.submitted_at, grace()))
    ensure_practice_allowed(candidate.id, row.mode, row.framework_version_id, at)
    if row.revealed_at is not None:
        raise AnswerLocked("You have seen the feedback for this question, so its answer is fixed")
    if not 1 <= seq <= MAX_SEQ:
        raise InvalidSeq(f"seq must be from 1 to {MAX_SEQ}")
    if seq > (row.seq or 0) + MAX_SEQ_STEP:
        raise InvalidSeq(f"seq must be no more than {MAX_SEQ_STEP:,} above the stored seq")
    value = normalise_answer(row.item_type, row.answer_rules, row.option_order, answer)
    return _upsert_answer(candidate.id, attempt_id, position, value, seq, at)


def _insert() -> Any:
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


@cache
def _save_context() -> Any:
    """What a save needs to know about its attempt and position, in one read."""
    position = bindparam("position", type_=Integer)
    return (
        select(Attempt.candidate_id, Attempt.deadline_at, Attempt.submitted_at,
               AssessmentVersion.mode, AssessmentVersion.framework_version_id,
               AttemptItem.item_type, AttemptItem.option_order, AttemptItem.answer_rules,
               Response.revealed_at, Response.seq)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(AttemptItem, (AttemptItem.attempt_id == Attempt.id)
              & (AttemptItem.position == position))
        .outerjoin(Response, (Response.attempt_id == Attempt.id)
                   & (Response.position == position))
        .where(Attempt.id == bindparam("attempt_id", type_=Integer))
    )  # fmt: skip


@cache
def _upsert_statement(dialect: str) -> Any:
    """INSERT … SELECT … WHERE the attempt is the candidate's and open, ON CONFLICT newer seq.

    On PostgreSQL the attempt's row is locked for share: closing the attempt waits
    for this save, and this save waits for a close under way (then finds the
    attempt closed). SQLite serialises every write.
    """
    table = cast(Table, Response.__table__)
    columns = table.c
    attempt_id = bindparam("attempt_id", type_=columns.attempt_id.type)
    still_open = select(Attempt.id).where(
        Attempt.id == attempt_id,
        Attempt.candidate_id == bindparam("candidate_id", type_=Integer),
        Attempt.submitted_at.is_(None),
        or_(Attempt.deadline_at.is_(None),
            Attempt.deadline_at > bindparam("open_after", type_=columns.saved_at.type)),
    )  # fmt: skip
    if dialect == "postgresql":
        still_open = still_open.with_for_update(read=True)
    source = select(
        attempt_id, bindparam("position", type_=columns.position.type),
        bindparam("answer", type_=columns.answer.type), bindparam("seq", type_=columns.seq.type),
        bindparam("saved_at", type_=columns.saved_at.type),
    ).where(Attempt.id.in_(still_open))  # fmt: skip
    # Against the table, not the mapped class: executed with parameters, an ORM insert
    # would be taken for a bulk insert of rows.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).from_select(
        ["attempt_id", "position", "answer", "seq", "saved_at"], source
    )
    return statement.on_conflict_do_update(
        index_elements=[columns.attempt_id, columns.position],
        set_={"answer": statement.excluded.answer, "seq": statement.excluded.seq,
              "saved_at": statement.excluded.saved_at},
        where=columns.seq < statement.excluded.seq,
    ).returning(columns.seq, columns.saved_at)  # fmt: skip


def _upsert_answer(
    candidate_id: int, attempt_id: int, position: int, value: Any, seq: int, at: datetime
) -> Saved:
    stored = db.session.execute(
        _upsert_statement(db.engine.dialect.name),
        {"attempt_id": attempt_id, "candidate_id": candidate_id, "position": position,
         "answer": value, "seq": seq, "saved_at": at, "open_after": at - grace()},
    ).one_or_none()  # fmt: skip
    if stored is not None:
        return Saved(stored[0], stored[1], True)
    times = db.session.execute(
        select(Attempt.deadline_at, Attempt.submitted_at).where(Attempt.id == attempt_id)
    ).one()
    refuse_unless_accepting(attempt_state(clock.now(), times[0], times[1], grace()))
    current = db.session.execute(
        select(Response.seq, Response.saved_at).filter_by(attempt_id=attempt_id, position=position)
    ).one()
    return Saved(current[0], current[1], False)


def set_flag(candidate: User, attempt: Attempt, position: int, flagged: bool) -> None:
    """Flag a position for review (or clear the flag); flags never touch the answer."""
    refuse_unless_accepting(state_of(attempt))
    if not any(item.position == position for item in attempt.items):
        raise NotFound("No such question in this attempt")
    statement = _insert()(Response).values(
        attempt_id=attempt.id, position=position, flagged=flagged, seq=0
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[Response.attempt_id, Response.position], set_={"flagged": flagged}
        )
    )


def submit(candidate: User, attempt: Attempt) -> bool:
    """Submit an attempt; True only for the call that submitted it. Later calls change nothing.

    Past the deadline the attempt closes as expired, at its deadline, whoever asks.
    """
    at = clock.now()
    state = state_of(attempt, at)
    if state is AttemptState.SUBMITTED:
        return False
    if state is not AttemptState.OPEN:
        finish(attempt, "expired", at=at)
        return False
    return finish(attempt, "candidate", at=at, actor=candidate)


def reveal(candidate: User, attempt: Attempt, position: int) -> None:
    """Record that practice feedback for a position was shown, fixing its answer."""
    if attempt.assessment_version.mode != "practice":
        raise NotFound("Feedback is given only in practice tests")
    refuse_unless_accepting(state_of(attempt))
    if not any(item.position == position for item in attempt.items):
        raise NotFound("No such question in this attempt")
    statement = _insert()(Response).values(
        attempt_id=attempt.id, position=position, seq=0, revealed_at=clock.now()
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[Response.attempt_id, Response.position],
            set_={
                "revealed_at": func.coalesce(Response.revealed_at, statement.excluded.revealed_at)
            },
        )
    )
