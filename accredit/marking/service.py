"""Marking and moderation as services: allocate, mark, agree, escalate, moderate, release.

Services flush only; the request (or command) commits. Every step is an audit
event naming who did it and why. The rules themselves (agreement, states,
transitions, the sample) are in ``accredit.marking.rules``; this module gathers
the facts they need from the database and records what follows from them.

A script is one written answer of a submitted attempt, known by its
``attempt_items`` id. A blank answer is agreed at 0 when the attempt closes and
never goes to a marker.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError

from accredit import audit
from accredit.analysis import service as analysis
from accredit.banks.schema import MarkingRules
from accredit.catalogue.queries import assessments as current_assessments
from accredit.catalogue.queries import spec_of
from accredit.errors import Conflict, DomainError, NotFound
from accredit.extensions import db
from accredit.marking import rules
from accredit.marking.rules import Decision, IllegalTransition, Round, ScriptState, Step
from accredit.models import (
    Assessment,
    AssessmentVersion,
    ItemVersion,
    Role,
    User,
)
from accredit.models.delivery import Attempt, AttemptItem, Response
from accredit.models.marking import (
    AgreedMark,
    Allocation,
    CriterionMark,
    Mark,
    ModerationDecision,
    ModerationSample,
)
from accredit.models.results import Result
from accredit.results import queries as results_queries
from accredit.results import service as results


class NotAllocated(DomainError):
    code = "not_allocated"
    status = 403


class LeadOnly(DomainError):
    code = "lead_assessor_only"
    status = 403


class NotReady(Conflict):
    code = "not_ready"


class InvalidDecision(DomainError):
    code = "invalid_decision"
    status = 422


# Facts ------------------------------------------------------------------------


@dataclass
class ScriptFacts:
    """Everything recorded about one script, and what follows from it."""

    slot: AttemptItem
    attempt: Attempt
    version: ItemVersion
    answer: Any
    marks: list[Mark] = field(default_factory=list)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    agreed: AgreedMark | None = None
    result: Result | None = None
    decision: ModerationDecision | None = None
    sampled: bool = False

    @property
    def id(self) -> int:
        return self.slot.id

    @property
    def content(self) -> dict[str, Any]:
        return self.version.content

    @property
    def rubric(self) -> list[rules.Criterion]:
        return rubric_of(self.content)

    @property
    def maximum(self) -> float:
        return float(sum(criterion["marks"] for criterion in self.content["rubric"]))

    @property
    def candidate_number(self) -> str:
        return candidate_number(self.attempt.candidate_id)

    def mark_in(self, round_: Round) -> Mark | None:
        return next((mark for mark in self.marks if mark.round == round_.value), None)

    @property
    def both_marked(self) -> bool:
        return self.mark_in(Round.FIRST) is not None and self.mark_in(Round.SECOND) is not None

    def as_rules(self) -> rules.Script:
        referred = bool(
            self.result is not None and referral_reasons(self.result, self.sampled, written=True)
        )
        return rules.Script(
            marks=[
                rules.Mark(
                    Round(mark.round), mark.marker_id,
                    {c.criterion: c.marks for c in mark.criteria}, mark.comment, mark.reason or "",
                )
                for mark in self.marks
            ],
            agreed_mark=self.agreed.mark if self.agreed else None,
            needs_moderation=referred,
            decision=Decision(self.decision.decision) if self.decision else None,
            released=bool(self.result is not None and self.result.released_at is not None),
        )  # fmt: skip

    @property
    def state(self) -> ScriptState:
        return rules.script_state(self.as_rules())


def candidate_number(user_id: int) -> str:
    """The candidate's number, keyed by a key derived from the audit key (never stored)."""
    key = hmac.new(audit.signing_key(), b"accredit candidate numbers", hashlib.sha256).digest()
    return rules.candidate_number(user_id, key)


def rubric_of(content: dict[str, Any]) -> list[rules.Criterion]:
    return [
        rules.Criterion(
            criterion["id"], float(criterion["marks"]),
            tuple(float(level["marks"]) for level in criterion.get("levels") or ()),
        )
        for criterion in content["rubric"]
    ]  # fmt: skip


def marking_rules(attempt: Attempt) -> MarkingRules:
    return spec_of(attempt.assessment_version).marking


def agreement_rule(settings: MarkingRules, content: dict[str, Any]) -> rules.AgreementRule:
    """The assessment's agreement rule, with the item's Angoff standard as its boundary."""
    boundaries: tuple[float, ...] = ()
    ratings = content.get("angoff") or []
    if settings.boundary == "angoff" and ratings:
        maximum = sum(criterion["marks"] for criterion in content["rubric"])
        boundaries = (round(sum(ratings) / len(ratings) * maximum, 6),)
    return rules.AgreementRule(
        tolerance_fraction=settings.tolerance_percent / 100,
        resolve=settings.agreed_mark,
        boundaries=boundaries,
    )


def _current_allocations() -> Select[Allocation]:
    replaced = select(Allocation.replaces_id).where(Allocation.replaces_id.is_not(None))
    return select(Allocation).where(Allocation.id.not_in(replaced))


def _written_slots() -> Select[AttemptItem, Attempt, ItemVersion]:
    return (
        select(AttemptItem, Attempt, ItemVersion)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .where(
            AttemptItem.item_type == "written",
            AttemptItem.pretest.is_(False),
            Attempt.submitted_at.is_not(None),
        )
    )


def _for_assessment(query: Any, assessment_key: str | None) -> Any:
    if not assessment_key:
        return query
    return (
        query.join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(Assessment, Assessment.id == AssessmentVersion.assessment_id)
        .where(Assessment.key == assessment_key)
    )


def gather(
    *, script_ids: Iterable[int] | None = None, attempt_ids: Iterable[int] | None = None,
    assessment_key: str | None = None, unsettled: bool = False,
) -> list[ScriptFacts]:  # fmt: skip
    """Load the facts of the chosen scripts in a handful of queries.

    ``unsettled`` keeps only scripts with no agreed mark yet.
    """
    query = _for_assessment(_written_slots(), assessment_key)
    if unsettled:
        query = query.where(
            ~select(AgreedMark.id).where(AgreedMark.script_id == AttemptItem.id).exists()
        )
    if script_ids is not None:
        query = query.where(AttemptItem.id.in_(list(script_ids)))
    if attempt_ids is not None:
        query = query.where(AttemptItem.attempt_id.in_(list(attempt_ids)))
    facts = {
        slot.id: ScriptFacts(slot, attempt, version, None)
        for slot, attempt, version in db.session.execute(query.order_by(AttemptItem.id))
    }
    if not facts:
        return []
    ids = list(facts)
    attempts = {fact.attempt.id for fact in facts.values()}
    answers = {
        (attempt_id, position): answer
        for attempt_id, position, answer in db.session.execute(
            select(Response.attempt_id, Response.position, Response.answer)
            .join(
                AttemptItem,
                (AttemptItem.attempt_id == Response.attempt_id)
                & (AttemptItem.position == Response.position),
            )
            .where(Response.attempt_id.in_(attempts), AttemptItem.item_type == "written")
        )
    }
    for fact in facts.values():
        fact.answer = answers.get((fact.attempt.id, fact.slot.position))
    for mark in db.session.scalars(select(Mark).where(Mark.script_id.in_(ids)).order_by(Mark.id)):
        facts[mark.script_id].marks.append(mark)
    for allocation in db.session.scalars(
        _current_allocations().where(Allocation.script_id.in_(ids))
    ):
        facts[allocation.script_id].allocations[allocation.round] = allocation
    for agreed in db.session.scalars(select(AgreedMark).where(AgreedMark.script_id.in_(ids))):
        facts[agreed.script_id].agreed = agreed
    by_attempt: dict[int, list[ScriptFacts]] = defaultdict(list)
    for fact in facts.values():
        by_attempt[fact.attempt.id].append(fact)
    rows = db.session.execute(
        select(Result, ModerationDecision, ModerationSample.result_id)
        .outerjoin(ModerationDecision, _decision_of_this_revision())
        .outerjoin(ModerationSample, ModerationSample.result_id == Result.id)
        .where(Result.attempt_id.in_(attempts))
    )
    for result, decision, sampled in rows:
        for fact in by_attempt[result.attempt_id]:
            fact.result, fact.decision, fact.sampled = result, decision, sampled is not None
    return list(facts.values())


def _decision_of_this_revision() -> Any:
    """Join a result to the decision on its current revision, if there is one."""
    return (ModerationDecision.result_id == Result.id) & (
        ModerationDecision.revision == Result.revision
    )


def script(script_id: int) -> ScriptFacts:
    found = gather(script_ids=[script_id])
    if not found:
        raise NotFound("No such script")
    return found[0]


def _lock(table: Any, row_id: int) -> None:
    """Hold a row until the transaction ends, so two requests on one script (or result)
    take turns and the second sees what the first recorded.

    PostgreSQL locks the row for update. SQLite has no row locks: a write that
    changes nothing takes its database write lock, which does the same.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(table.id).where(table.id == row_id).with_for_update(key_share=True)
        )
    else:
        db.session.execute(
            update(table).where(table.id == row_id).values(id=table.id),
            execution_options={"synchronize_session": False},
        )


def is_blank(answer: Any) -> bool:
    return answer is None or (isinstance(answer, str) and not answer.strip())


# Allocation -----------------------------------------------------------------------


def _ensure_lead(actor: User | None) -> None:
    if actor is not None and not (actor.has_role(Role.ASSESSOR) and actor.lead_assessor):
        raise LeadOnly("Only a lead assessor can do this")


def _conflicted(marker: User, candidate: User) -> bool:
    """A marker never marks their own script or a colleague's from the same organisation."""
    return marker.id == candidate.id or (
        marker.organisation_id is not None and marker.organisation_id == candidate.organisation_id
    )


def _assessors(*, leads: bool = False) -> list[User]:
    """Active assessors. Lead assessors moderate, so only reallocation gives them scripts."""
    query = select(User).where(User.role == Role.ASSESSOR.value, User.active)
    if not leads:
        query = query.where(User.lead_assessor.is_(False))
    return list(db.session.scalars(query.order_by(User.name, User.id)))


def _load() -> Counter[int]:
    """How many scripts each marker holds, across every round."""
    counts = db.session.execute(
        _current_allocations()
        .with_only_columns(Allocation.marker_id, func.count())
        .group_by(Allocation.marker_id)
    ).all()
    return Counter(dict(counts))


def _eligible(fact: ScriptFacts, assessors: Sequence[User], load: Counter[int]) -> dict[int, int]:
    candidate = db.session.get(User, fact.attempt.candidate_id)
    assert candidate is not None
    involved = {mark.marker_id for mark in fact.marks} | {
        allocation.marker_id for allocation in fact.allocations.values()
    }
    return {
        marker.id: load[marker.id]
        for marker in assessors
        if marker.id not in involved and not _conflicted(marker, candidate)
    }


def holders(fact: ScriptFacts) -> dict[str, str]:
    """Who holds each marking of a script, by name: for the lead assessor's eyes."""
    ids = {allocation.marker_id for allocation in fact.allocations.values()}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
    return {round_: names[a.marker_id] for round_, a in fact.allocations.items()}


def assessors_for(_fact: ScriptFacts) -> list[User]:
    """Every active assessor, for the lead's reallocation list.

    The list is not filtered by conflicts of interest, since leaving someone out
    would tell the lead where the candidate works; ``reallocate`` refuses a
    conflicted choice with a message that does not say why.
    """
    return _assessors(leads=True)


def _rounds_wanted(fact: ScriptFacts) -> list[Round]:
    if fact.agreed is not None or is_blank(fact.answer):
        return []
    wanted = [r for r in (Round.FIRST, Round.SECOND) if r.value not in fact.allocations]
    if (
        fact.both_marked
        and Round.THIRD.value not in fact.allocations
        and marking_rules(fact.attempt).discrepancy == "third_marker"
    ):
        wanted.append(Round.THIRD)
    return wanted


def _allocate(fact: ScriptFacts, assessors: Sequence[User], load: Counter[int]) -> int:
    """Give the script the markers it still needs; return how many allocations were made."""
    made = 0
    for round_ in _rounds_wanted(fact):
        chosen = rules.choose_markers(fact.id, _eligible(fact, assessors, load), 1)
        if not chosen:
            continue
        allocation = Allocation(script_id=fact.id, round=round_.value, marker_id=chosen[0])
        try:
            with db.session.begin_nested():
                db.session.add(allocation)
                db.session.flush()
                audit.record(
                    "marking.allocated", actor=None, subject_type="script", subject_id=fact.id,
                    details={"round": round_.value, "marker_id": chosen[0], "automatic": True},
                )  # fmt: skip
        except IntegrityError:
            # Another request allocated this round first: theirs stands.
            continue
        fact.allocations[round_.value] = allocation
        load[chosen[0]] += 1
        made += 1
    return made


def open_scripts(attempt: Attempt) -> None:
    """When an attempt closes: agree blank written answers at 0, and allocate the rest."""
    facts = gather(attempt_ids=[attempt.id])
    if not facts:
        return
    assessors, load = _assessors(), _load()
    for fact in facts:
        if is_blank(fact.answer) and fact.agreed is None:
            fact.agreed = AgreedMark(
                script_id=fact.id, mark=0.0, method="blank", why="No answer was given"
            )
            db.session.add(fact.agreed)
            audit.record(
                "marking.agreed", actor=None, subject_type="script", subject_id=fact.id,
                details={"mark": 0, "method": "blank", "why": "No answer was given"},
            )  # fmt: skip
        else:
            _allocate(fact, assessors, load)
    db.session.flush()
    if all(fact.agreed is not None for fact in facts):
        results.rescore(attempt, action="result.marked", actor=None)


def allocate(assessment_key: str | None = None) -> int:
    """Allocate every script that still needs a marker; return how many allocations were made.

    Idempotent: a script that has its markers is left alone.
    """
    assessors, load = _assessors(), _load()
    made = 0
    for fact in gather(assessment_key=assessment_key, unsettled=True):
        if fact.result is None:
            continue
        if is_blank(fact.answer) and fact.agreed is None:
            open_scripts(fact.attempt)
            continue
        made += _allocate(fact, assessors, load)
    db.session.flush()
    return made


def reallocate(
    script_id: int, round_name: str, marker_id: int, *, reason: str, actor: User
) -> None:
    """A lead assessor gives a round of a script to another marker, with a reason."""
    _ensure_lead(actor)
    script(script_id)
    _lock(AttemptItem, script_id)
    reason = reason.strip()
    if not reason:
        raise InvalidDecision("Give the reason for reallocating this script")
    fact = script(script_id)
    try:
        round_ = Round(round_name)
    except ValueError:
        raise InvalidDecision("Choose the first, second or third marking") from None
    if round_ is Round.MODERATOR:
        raise InvalidDecision("Choose the first, second or third marking")
    step = Step.RESOLVE if round_ is Round.THIRD else Step.MARK_FIRST
    rules.ensure_allowed(fact.as_rules(), step)
    if fact.mark_in(round_) is not None:
        raise IllegalTransition("This marking is already done and cannot be reallocated")
    candidate = _candidate(fact.attempt)
    if _conflicted(actor, candidate):
        raise LeadOnly("You cannot reallocate this script (a conflict of interest)")
    current = fact.allocations.get(round_.value)
    marker = db.session.get(User, marker_id)
    if marker is None or not marker.active or not marker.has_role(Role.ASSESSOR):
        raise InvalidDecision("Choose an active assessor")
    others = {m.marker_id for m in fact.marks} | {
        a.marker_id for r, a in fact.allocations.items() if r != round_.value
    }
    if marker.id in others or _conflicted(marker, candidate):
        # The reason is not given: it could say where the candidate works.
        raise InvalidDecision("That assessor cannot mark this script: choose another")
    if current is not None and current.marker_id == marker.id:
        raise InvalidDecision("That assessor already holds this marking")
    db.session.add(
        Allocation(
            script_id=fact.id, round=round_.value, marker_id=marker.id,
            allocated_by_id=actor.id, reason=reason,
            replaces_id=current.id if current is not None else None,
        )
    )  # fmt: skip
    db.session.flush()
    audit.record(
        "marking.reallocated", actor=actor, subject_type="script", subject_id=fact.id,
        details={
            "round": round_.value, "marker_id": marker.id, "reason": reason,
            "from_marker_id": current.marker_id if current is not None else None,
        },
    )  # fmt: skip


# Marking ---------------------------------------------------------------------------


def round_for(fact: ScriptFacts, marker: User) -> Round | None:
    """The round this marker may mark the script in now, or None."""
    if fact.agreed is not None or fact.state is ScriptState.VOID:
        return None
    for round_ in (Round.FIRST, Round.SECOND, Round.THIRD):
        allocation = fact.allocations.get(round_.value)
        if allocation and allocation.marker_id == marker.id and fact.mark_in(round_) is None:
            return round_
    involved = {a.marker_id for a in fact.allocations.values()} | {m.marker_id for m in fact.marks}
    if (
        marker.lead_assessor
        and fact.state is ScriptState.IN_DISCREPANCY
        and fact.mark_in(Round.THIRD) is None
        and marker.id not in involved
        and not _conflicted(marker, _candidate(fact.attempt))
    ):
        return Round.MODERATOR
    return None


def _candidate(attempt: Attempt) -> User:
    candidate = db.session.get(User, attempt.candidate_id)
    assert candidate is not None
    return candidate


def may_see(fact: ScriptFacts, person: User) -> bool:
    """Only the script's markers, lead assessors and administrators (to look) see it."""
    if person.has_role(Role.ADMIN):
        return True
    if not person.has_role(Role.ASSESSOR):
        return False
    if person.lead_assessor:
        return True
    involved = {a.marker_id for a in fact.allocations.values()} | {m.marker_id for m in fact.marks}
    return person.id in involved


def viewable(script_id: int, person: User) -> ScriptFacts:
    fact = script(script_id)
    if not may_see(fact, person):
        raise NotFound("No such script")
    return fact


@dataclass(frozen=True)
class Marked:
    mark: Mark
    agreed: AgreedMark | None
    escalated: str | None  # why the marks did not agree
    escalated_to: str | None = None  # "a third marker" or "the lead assessor"


def mark_script(
    script_id: int, marker: User, criteria: dict[str, Any], *, comment: str = "", reason: str = ""
) -> Marked:
    """Record a marker's marks for a script, then agree or escalate once both are in."""
    viewable(script_id, marker)
    # Take turns on the script, then read it afresh: a mark that landed meanwhile counts.
    _lock(AttemptItem, script_id)
    fact = script(script_id)
    round_ = round_for(fact, marker)
    if round_ is None:
        state = fact.state.value.replace("_", " ")
        raise NotAllocated(f"This script is not yours to mark now (it is {state})")
    rules.ensure_may_mark(fact.as_rules(), marker.id, round_)
    total = rules.checked_marks(criteria, fact.rubric)
    comment, reason = comment.strip(), reason.strip()
    final = round_ in (Round.THIRD, Round.MODERATOR)
    if final:
        rules.final_mark(rules.Mark(round_, marker.id, criteria, comment, reason))
    mark = Mark(
        script_id=fact.id, round=round_.value, marker_id=marker.id, total=total,
        comment=comment, reason=reason or None,
    )  # fmt: skip
    db.session.add(mark)
    db.session.flush()
    for criterion, value in criteria.items():
        db.session.add(CriterionMark(mark_id=mark.id, criterion=criterion, marks=float(value)))
    db.session.flush()
    fact.marks.append(mark)
    audit.record(
        "marking.marked", actor=marker, subject_type="script", subject_id=fact.id,
        details={
            "round": round_.value, "total": total, "criteria": criteria,
            "reason": reason or None,
        },
    )  # fmt: skip
    agreed, escalated = _settle(fact, marker, mark if final else None)
    to = None
    if escalated is not None:
        third = marking_rules(fact.attempt).discrepancy == "third_marker"
        to = "a third marker" if third else "the lead assessor"
    return Marked(mark, agreed, escalated, to)


def _settle(
    fact: ScriptFacts, actor: User, final: Mark | None
) -> tuple[AgreedMark | None, str | None]:
    """Agree the script's mark if its marks allow; escalate it if they disagree."""
    first, second = fact.mark_in(Round.FIRST), fact.mark_in(Round.SECOND)
    if final is not None:
        agreed = AgreedMark(
            script_id=fact.id, mark=final.total, method=final.round,
            first_mark_id=first.id if first else None, second_mark_id=second.id if second else None,
            final_mark_id=final.id, why=final.reason or "",
        )  # fmt: skip
    elif first is not None and second is not None:
        settings = marking_rules(fact.attempt)
        outcome = rules.agree(
            first.total, second.total, fact.maximum, agreement_rule(settings, fact.content)
        )
        if not outcome.agreed:
            to = "a third marker" if settings.discrepancy == "third_marker" else "the lead assessor"
            audit.record(
                "marking.escalated", actor=None, subject_type="script", subject_id=fact.id,
                details={
                    "why": outcome.why, "to": to, "first": first.total, "second": second.total,
                },
            )  # fmt: skip
            if settings.discrepancy == "third_marker":
                _allocate(fact, _assessors(), _load())
            return None, outcome.why
        assert outcome.mark is not None
        agreed = AgreedMark(
            script_id=fact.id, mark=outcome.mark, method=settings.agreed_mark,
            first_mark_id=first.id, second_mark_id=second.id, why=outcome.why,
        )  # fmt: skip
    else:
        return None, None
    db.session.add(agreed)
    db.session.flush()
    fact.agreed = agreed
    audit.record(
        "marking.agreed", actor=actor if final is not None else None, subject_type="script",
        subject_id=fact.id,
        details={"mark": agreed.mark, "method": agreed.method, "why": agreed.why},
    )  # fmt: skip
    _after_agreement(fact.attempt)
    return agreed, None


def _after_agreement(attempt: Attempt) -> None:
    """Once every written answer of an attempt is agreed, its result takes the marks."""
    # Two of its answers agreed at once must not both think the other still waits.
    _lock(Attempt, attempt.id)
    waiting = db.session.scalar(
        select(func.count())
        .select_from(AttemptItem)
        .outerjoin(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(
            AttemptItem.attempt_id == attempt.id,
            AttemptItem.item_type == "written",
            AttemptItem.pretest.is_(False),
            AgreedMark.id.is_(None),
        )
    )
    if not waiting:
        results.rescore(attempt, action="result.marked", actor=None)


# Moderation ------------------------------------------------------------------------


def sem_of(result: Result) -> float:
    """The SEM the result records at its cut, or Lord's binomial SEM where none is recorded."""
    return results_queries.result_sem(result)


def referral_reasons(result: Result, sampled: bool, *, written: bool) -> list[str]:
    """Why a scored result goes to moderation before release; empty if it need not."""
    if result.status != "scored":
        return []
    reasons = []
    if rules.within_sem(result.raw, result.cut, sem_of(result)):
        reasons.append(f"within 1 SEM ({sem_of(result):.2f} marks) of the cut")
    if result.passed is False and written:
        reasons.append("not passed, with a written answer")
    if sampled:
        reasons.append("drawn in the moderation sample")
    return reasons


@dataclass(frozen=True)
class ResultFacts:
    result: Result
    attempt: Attempt
    decision: ModerationDecision | None  # on the result's current revision
    sampled: bool
    written: bool  # the form has a scored written item

    @property
    def reasons(self) -> list[str]:
        return referral_reasons(self.result, self.sampled, written=self.written)

    @property
    def stage(self) -> str:
        """awaiting_marks, in_moderation, agreed, ratified, withheld or released."""
        if self.result.released_at is not None:
            return "released"
        if self.decision is not None:
            return "withheld" if self.decision.decision == "withhold" else "ratified"
        if self.result.status == "pending":
            return "awaiting_marks"
        return "in_moderation" if self.reasons else "agreed"

    @property
    def candidate_number(self) -> str:
        return candidate_number(self.attempt.candidate_id)


def _has_written() -> Any:
    return (
        select(AttemptItem.id)
        .where(
            AttemptItem.attempt_id == Attempt.id,
            AttemptItem.item_type == "written",
            AttemptItem.pretest.is_(False),
        )
        .exists()
    )


def moderated_assessments() -> list[tuple[str, str]]:
    """The key and title of every assessment whose results are released after moderation."""
    return [
        (assessment.key, spec_of(version).title)
        for assessment, version in current_assessments()
        if spec_of(version).results.release == "after_moderation"
    ]


def result_facts(
    assessment_key: str | None = None, *, result_ids: Iterable[int] | None = None
) -> list[ResultFacts]:
    """Results of after-moderation assessments (or the chosen ones), with their moderation facts."""
    query = (
        select(Result, Attempt, ModerationDecision, ModerationSample.result_id, _has_written())
        .join(Attempt, Attempt.id == Result.attempt_id)
        .outerjoin(ModerationDecision, _decision_of_this_revision())
        .outerjoin(ModerationSample, ModerationSample.result_id == Result.id)
        .order_by(Result.id)
    )
    query = _for_assessment(query, assessment_key)
    if result_ids is not None:
        query = query.where(Result.id.in_(list(result_ids)))
    return [
        ResultFacts(result, attempt, decision, sampled is not None, bool(written))
        for result, attempt, decision, sampled, written in db.session.execute(query)
        if result_ids is not None
        or spec_of(attempt.assessment_version).results.release == "after_moderation"
    ]


def result_of(result_id: int) -> ResultFacts:
    found = result_facts(result_ids=[result_id])
    if not found:
        raise NotFound("No such result")
    return found[0]


def moderate(
    result_id: int, decision: str, *, reason: str, score: float | None, actor: User
) -> ModerationDecision:
    """The moderator ratifies, amends (with a reason and a score) or withholds a result."""
    _ensure_lead(actor)
    _lock(Result, result_id)
    facts = result_of(result_id)
    try:
        chosen = Decision(decision)
    except ValueError:
        raise InvalidDecision("Choose ratify, amend or withhold") from None
    if facts.result.released_at is not None or facts.decision is not None:
        raise IllegalTransition("This result has already been moderated")
    marked_it = db.session.scalar(
        select(func.count())
        .select_from(Mark)
        .join(AttemptItem, AttemptItem.id == Mark.script_id)
        .where(AttemptItem.attempt_id == facts.attempt.id, Mark.marker_id == actor.id)
    )
    if marked_it or _conflicted(actor, _candidate(facts.attempt)):
        raise LeadOnly("You cannot moderate this result (a conflict of interest): another "
                       "lead assessor must")  # fmt: skip
    if facts.result.status != "scored":
        raise IllegalTransition("A result is moderated once its written answers are marked")
    reason = reason.strip()
    if chosen is not Decision.RATIFY and not reason:
        raise InvalidDecision("Give the reason for amending or withholding a result")
    if chosen is Decision.AMEND:
        score = _checked_score(facts, score)
    elif score is not None:
        raise InvalidDecision("A score is given only when amending a result")
    # An amendment's decision holds for the revision the amendment makes.
    revision = facts.result.revision + (1 if chosen is Decision.AMEND else 0)
    row = ModerationDecision(
        result_id=facts.result.id, decision=chosen.value, reason=reason, score=score,
        revision=revision, moderator_id=actor.id,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record(
        "moderation.decided", actor=actor, subject_type="attempt", subject_id=facts.attempt.id,
        details={
            "decision": chosen.value, "reason": reason, "score": score,
            "referred": facts.reasons, "revision": revision,
        },
    )  # fmt: skip
    if chosen is Decision.AMEND:
        results.rescore(
            facts.attempt, action="result.amended", actor=actor,
            details={"reason": reason, "score": score},
        )  # fmt: skip
    return row


def _checked_score(facts: ResultFacts, score: float | None) -> float:
    if score is None or isinstance(score, bool) or not isinstance(score, int | float):
        raise InvalidDecision("Give the amended score, in marks")
    attempt = facts.attempt
    marks = results.written_marks(attempt)
    computed = results.compute(attempt)
    low, high = results.written_range(computed, marks)
    if not low - 1e-9 <= score <= high + 1e-9:
        raise InvalidDecision(
            f"An amended score moves only the written marks: from {low:g} to {high:g}"
        )
    if abs(score - facts.result.raw) < 1e-9:
        raise InvalidDecision("The amended score is the score as it stands: ratify it instead")
    return float(score)


def draw_sample(assessment_key: str, *, actor: User | None) -> tuple[set[int], int]:
    """Draw the moderation sample from the results not otherwise referred; ratify the rest.

    The sample is at least the assessment's share of those results and no fewer
    than its minimum, chosen by a seeded hash so anyone can check the draw. The
    results not drawn stand as agreed: each gets a ratification naming the draw.
    Returns the ids drawn and how many were ratified as they stand.
    """
    _ensure_lead(actor)
    facts = [f for f in result_facts(assessment_key) if f.stage == "agreed" and not f.sampled]
    if not facts:
        raise NotReady("There are no agreed results waiting for the sample to be drawn")
    settings = spec_of(facts[0].attempt.assessment_version).marking
    previous = db.session.scalar(
        select(func.count(func.distinct(ModerationSample.seed))).where(
            ModerationSample.seed.like(f"{assessment_key}:%")
        )
    )
    seed = f"{assessment_key}:draw-{(previous or 0) + 1}"
    drawn = rules.moderation_sample(
        [f.result.id for f in facts], seed,
        fraction=settings.sample_percent / 100, minimum=settings.sample_minimum,
    )  # fmt: skip
    for fact in facts:
        if fact.result.id in drawn:
            db.session.add(
                ModerationSample(
                    result_id=fact.result.id, seed=seed, drawn_by_id=actor.id if actor else None
                )
            )
        else:
            # Nobody moderated this result: it stands as agreed, and the draw says so.
            why = f"Not drawn in the moderation sample ({seed}): the agreed marks stand"
            db.session.add(
                ModerationDecision(
                    result_id=fact.result.id, decision="ratify", revision=fact.result.revision,
                    reason=why, moderator_id=None,
                )
            )  # fmt: skip
            audit.record(
                "moderation.decided", actor=actor, subject_type="attempt",
                subject_id=fact.attempt.id,
                details={
                    "decision": "ratify", "reason": why, "score": None, "referred": [],
                    "revision": fact.result.revision, "moderated": False,
                },
            )  # fmt: skip
    db.session.flush()
    audit.record(
        "moderation.sample_drawn", actor=actor, subject_type="assessment",
        subject_id=assessment_key,
        details={
            "seed": seed, "pool": sorted(f.result.id for f in facts), "drawn": sorted(drawn),
            "ratified_as_they_stand": len(facts) - len(drawn),
        },
    )  # fmt: skip
    return drawn, len(facts) - len(drawn)


@dataclass(frozen=True)
class Released:
    released: int
    withheld: int


def release(assessment_key: str, *, actor: User | None, reason: str) -> Released:
    """Release an after-moderation assessment's results, once every one is ratified or withheld
    and the item analysis is signed off."""
    _ensure_lead(actor)
    facts = result_facts(assessment_key)
    waiting = Counter(
        f.stage for f in facts if f.stage in ("awaiting_marks", "in_moderation", "agreed")
    )
    if waiting:
        described = ", ".join(
            f"{count} {stage.replace('_', ' ')}" for stage, count in waiting.items()
        )
        raise NotReady(f"Results are released once every one is ratified or withheld: {described}")
    analysis.ensure_signed_off(assessment_key)
    released = withheld = 0
    for fact in facts:
        if fact.stage == "ratified":
            released += results.release(fact.result, actor=actor, reason=reason)
        elif fact.stage == "withheld":
            withheld += 1
    return Released(released, withheld)


# Views of the work -----------------------------------------------------------------


def queue(marker: User) -> list[tuple[ScriptFacts, Round]]:
    """The scripts this marker may mark now, in a stable pseudo-random order."""
    held = db.session.scalars(
        _current_allocations()
        .with_only_columns(Allocation.script_id)
        .where(Allocation.marker_id == marker.id)
    ).all()
    facts = gather(script_ids=held)
    if marker.lead_assessor:
        facts += [f for f in gather_in_discrepancy() if f.id not in set(held)]
    work = [(fact, round_) for fact in facts if (round_ := round_for(fact, marker)) is not None]
    return sorted(work, key=lambda pair: order_key(pair[0], marker))


def gather_in_discrepancy() -> list[ScriptFacts]:
    """Scripts whose first and second marks are in but no mark is agreed."""
    both = (
        select(Mark.script_id)
        .where(Mark.round.in_(("first", "second")))
        .group_by(Mark.script_id)
        .having(func.count() == 2)
    )
    unagreed = both.where(
        ~select(AgreedMark.id).where(AgreedMark.script_id == Mark.script_id).exists()
    )
    return gather(script_ids=db.session.scalars(unagreed).all())


def order_key(fact: ScriptFacts, marker: User | None = None) -> str:
    """Each marker's own stable order, so two markers of a script rarely meet on it at once."""
    salt = fact.attempt.assessment_version.assessment.key
    return rules.script_order(fact.id, f"{salt}:{marker.id if marker else ''}")


def state_seen_by(fact: ScriptFacts, viewer: User) -> ScriptState:
    """A script's state as this viewer may know it.

    Until both blind marks are in, a marker learns nothing of the other marker, not
    even whether they have marked: the state says only whether the viewer has.
    """
    if fact.both_marked or viewer.lead_assessor or viewer.has_role(Role.ADMIN):
        return fact.state
    mine = any(mark.marker_id == viewer.id for mark in fact.marks)
    return ScriptState.AWAITING_SECOND if mine else ScriptState.AWAITING_FIRST


def my_state_counts(marker: User) -> dict[str, int]:
    """How many of the scripts a marker holds or has marked are in each state, as they see it."""
    held = select(Allocation.script_id).where(Allocation.marker_id == marker.id)
    marked = select(Mark.script_id).where(Mark.marker_id == marker.id)
    facts = gather(script_ids=db.session.scalars(held.union(marked)).all())
    counts = Counter(state_seen_by(fact, marker).value for fact in facts)
    return {state.value: counts.get(state.value, 0) for state in ScriptState}


def state_counts(assessment_key: str | None = None) -> dict[str, int]:
    """How many scripts are in each state, with every state listed."""
    facts = gather(assessment_key=assessment_key)
    counts = Counter(fact.state.value for fact in facts)
    unallocated = sum(
        1
        for fact in facts
        if _rounds_wanted(fact)
        and fact.state in (ScriptState.AWAITING_FIRST, ScriptState.AWAITING_SECOND)
    )
    return {**{state.value: counts.get(state.value, 0) for state in ScriptState},
            "unallocated": unallocated}  # fmt: skip


# A marker is flagged only once their marks have been compared on this many scripts.
FLAG_AFTER = 3


@dataclass(frozen=True)
class MarkerQuality:
    marker: User
    scripts: int
    compared: int
    mean_difference: float | None  # in marks
    mean_difference_percent: float | None  # of each item's maximum
    agreement_rate: float | None
    changed_by_moderator: int
    flagged: bool


def _amended_attempts(attempt_ids: set[int]) -> set[int]:
    if not attempt_ids:
        return set()
    return set(
        db.session.scalars(
            select(Result.attempt_id)
            .join(ModerationDecision, ModerationDecision.result_id == Result.id)
            .where(Result.attempt_id.in_(attempt_ids), ModerationDecision.decision == "amend")
        )
    )


def marker_quality(assessment_key: str | None = None) -> list[MarkerQuality]:
    """Per marker: scripts marked, mean signed difference from the other marker (in marks,
    and as a share of each item's maximum, which is what the flag compares with the
    tolerance), agreement within tolerance, and how often a final mark or an amendment
    changed their mark."""
    facts = gather(assessment_key=assessment_key)
    amended = _amended_attempts({fact.attempt.id for fact in facts})
    marked: Counter[int] = Counter()
    differences: dict[int, list[float]] = defaultdict(list)
    shares: dict[int, list[float]] = defaultdict(list)
    agreements: dict[int, list[bool]] = defaultdict(list)
    changed: Counter[int] = Counter()
    tolerance: dict[int, float] = {}
    for fact in facts:
        for mark in fact.marks:
            if mark.round in ("first", "second", "third"):
                marked[mark.marker_id] += 1
        first, second = fact.mark_in(Round.FIRST), fact.mark_in(Round.SECOND)
        if first is None or second is None:
            continue
        rule = agreement_rule(marking_rules(fact.attempt), fact.content)
        agreed = rules.agree(first.total, second.total, fact.maximum, rule).agreed
        for mine, other in ((first, second), (second, first)):
            differences[mine.marker_id].append(mine.total - other.total)
            shares[mine.marker_id].append((mine.total - other.total) / fact.maximum)
            agreements[mine.marker_id].append(agreed)
            tolerance[mine.marker_id] = rule.tolerance_fraction
            overruled = fact.agreed is not None and fact.agreed.method in ("third", "moderator")
            if (
                overruled and fact.agreed and abs(fact.agreed.mark - mine.total) > 1e-9
            ) or fact.attempt.id in amended:
                changed[mine.marker_id] += 1
    people = {
        user.id: user for user in db.session.scalars(select(User).where(User.id.in_(list(marked))))
    }
    rows = []
    for marker_id in sorted(marked, key=lambda m: people[m].name):
        diffs = differences.get(marker_id, [])
        mean = sum(diffs) / len(diffs) if diffs else None
        share = sum(shares[marker_id]) / len(diffs) if diffs else None
        rate = (
            sum(agreements[marker_id]) / len(agreements[marker_id])
            if agreements.get(marker_id) else None
        )  # fmt: skip
        flagged = (
            share is not None
            and len(diffs) >= FLAG_AFTER
            and abs(share) > tolerance.get(marker_id, 0.0) + 1e-9
        )
        rows.append(
            MarkerQuality(
                people[marker_id], marked[marker_id], len(diffs), mean,
                None if share is None else 100 * share, rate, changed[marker_id], flagged,
            )
        )  # fmt: skip
    return rows
