"""Key decisions: keep, rekey, accept several keys, credit everyone or void, with a dry run.

A decision is a new key version for an item within one assessment. Nothing is
edited: the bank's item versions and the stored responses stay as they were,
and scoring applies the latest decision (``results.service.adjustments_for``).
A dry run scores every affected attempt as the decision would, writing
nothing, and says whose outcome would flip. Committing records the decision and
rescores each affected result as a new, audited revision naming the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from accredit import audit, clock
from accredit.errors import DomainError, NotFound
from accredit.extensions import db
from accredit.jobs import service as jobs
from accredit.models import Assessment, AssessmentVersion, Item, ItemVersion, Role, User
from accredit.models.delivery import Attempt, AttemptItem
from accredit.models.jobs import Job
from accredit.models.results import KEY_DECISIONS, KeyDecision, Result, ResultRevision
from accredit.results import service as results
from accredit.scoring.attempt import Adjustment


class InvalidKeyDecision(DomainError):
    code = "invalid_key_decision"
    status = 422


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class Proposal:
    """A decision as asked for, checked against the item, not yet recorded."""

    assessment: Assessment
    item: Item
    decision: str
    key: Any
    reason: str

    @property
    def adjustment(self) -> Adjustment:
        keys = tuple(self.key) if self.decision == "keys" else ()
        return Adjustment(self.decision, self.key, keys)


@dataclass(frozen=True)
class Change:
    """One affected result: before and after the decision."""

    attempt_id: int
    result_id: int
    candidate_id: int
    old_raw: float
    new_raw: float
    old_maximum: float
    new_maximum: float
    old_cut: float
    new_cut: float
    old_passed: bool | None
    new_passed: bool | None
    released: bool

    @property
    def flip(self) -> str | None:
        if self.old_passed is True and self.new_passed is False:
            return "pass_to_fail"
        if self.old_passed is False and self.new_passed is True:
            return "fail_to_pass"
        return None

    @property
    def changed(self) -> bool:
        return any(
            not math.isclose(a, b, abs_tol=1e-9)
            for a, b in (
                (self.old_raw, self.new_raw), (self.old_maximum, self.new_maximum),
                (self.old_cut, self.new_cut),
            )
        ) or self.old_passed != self.new_passed  # fmt: skip


@dataclass(frozen=True)
class DryRun:
    proposal: Proposal
    affected: int  # results with the item on their form
    changes: tuple[Change, ...]  # those whose score, maximum, cut or outcome would change

    @property
    def pass_to_fail(self) -> int:
        return sum(change.flip == "pass_to_fail" for change in self.changes)

    @property
    def fail_to_pass(self) -> int:
        return sum(change.flip == "fail_to_pass" for change in self.changes)

    @property
    def flips_first(self) -> list[Change]:
        """The changes, those that flip an outcome first."""
        return sorted(self.changes, key=lambda change: (change.flip is None, change.attempt_id))


def _may_decide(actor: User | None) -> None:
    if actor is None:
        return  # the command line: an administrator on the server
    lead = actor.has_role(Role.ASSESSOR) and actor.lead_assessor
    if not (lead or actor.has_role(Role.ADMIN)):
        raise NotAllowed("Only a lead assessor or an administrator decides an item's key")


def propose(
    assessment_key: str, item_key: str, decision: str, *, key: Any = None, reason: str
) -> Proposal:
    """Check a decision against the item; raise InvalidKeyDecision naming what is wrong."""
    assessment = db.session.scalar(select(Assessment).filter_by(key=assessment_key))
    if assessment is None:
        raise NotFound(f"No assessment {assessment_key}")
    item = db.session.scalar(select(Item).filter_by(key=item_key))
    if item is None:
        raise NotFound(f"No item {item_key}")
    if decision not in KEY_DECISIONS:
        raise InvalidKeyDecision(f"A decision is one of {', '.join(KEY_DECISIONS)}")
    reason = reason.strip()
    if not reason:
        raise InvalidKeyDecision("Give the reason for the decision")
    content = _content(item)
    if decision == "rekey":
        key = _checked_key(content, key)
    elif decision == "keys":
        if not isinstance(key, list | tuple) or len(key) < 2:
            raise InvalidKeyDecision("Accepting several keys needs at least two keys")
        key = [_checked_key(content, one) for one in key]
    elif key is not None and key != [] and key != ():
        raise InvalidKeyDecision(f"A {decision} decision takes no key")
    else:
        key = None
    if content["type"] == "written" and decision in ("rekey", "keys"):
        raise InvalidKeyDecision("A written item has no key: void or credit it instead")
    return Proposal(assessment, item, decision, key, reason)


def _content(item: Item) -> dict[str, Any]:
    version = db.session.scalar(
        select(ItemVersion).filter_by(item_id=item.id, version=item.current_version)
    )
    assert version is not None
    return version.content


def _checked_key(content: dict[str, Any], key: Any) -> Any:
    """A key of the right shape for the item: an option id, a list, a number or answers."""
    kind = content["type"]
    options = [option["id"] for option in content.get("options", ())]
    if kind == "single":
        if key not in options:
            raise InvalidKeyDecision(f"The key must be one of the options {', '.join(options)}")
        return key
    if kind in ("multiple", "ordering"):
        if isinstance(key, str):
            key = [part.strip() for part in key.split(",") if part.strip()]
        if not isinstance(key, list) or not key or not set(key) <= set(options):
            raise InvalidKeyDecision(f"The key lists options from {', '.join(options)}")
        if kind == "ordering" and sorted(key) != sorted(options):
            raise InvalidKeyDecision("An ordering key lists every option once, in order")
        return key
    if kind == "numeric":
        try:
            return float(key)
        except (TypeError, ValueError):
            raise InvalidKeyDecision("A numeric item's key is a number") from None
    if kind == "text":
        answers = [key] if isinstance(key, str) else key
        if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
            raise InvalidKeyDecision("A text item's key is one or more accepted answers")
        return answers
    raise InvalidKeyDecision(f"A {kind} item has no key")


def dry_run(proposal: Proposal) -> DryRun:
    """Score every affected attempt as the decision would. Writes nothing."""
    extra = {proposal.item.id: proposal.adjustment}
    changes = []
    ids = _attempts_with(proposal.assessment.id, proposal.item.id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        candidates = dict(
            db.session.execute(
                select(Attempt.id, Attempt.candidate_id).where(Attempt.id.in_(chunk))
            ).all()
        )
        for attempt_id, (row, after) in results.compute_many(chunk, extra).items():
            if row is None:
                continue
            change = Change(
                attempt_id, row.id, candidates[attempt_id], row.raw, after.raw, row.maximum,
                after.maximum, row.cut, after.cut.marks, row.passed, after.passed,
                row.released_at is not None,
            )  # fmt: skip
            if change.changed:
                changes.append(change)
    return DryRun(proposal, len(ids), tuple(changes))


def commit(proposal: Proposal, *, actor: User | None) -> tuple[KeyDecision, DryRun, Job]:
    """Record the decision, and a job to rescore every result it affects.

    The rescoring runs in the background (``accredit.worker.run_rescore``),
    each result as a new, audited revision naming the decision. The dry run
    computed here is returned so the caller can say what is about to change.
    """
    _may_decide(actor)
    preview = dry_run(proposal)
    version = (
        db.session.scalar(
            select(func.max(KeyDecision.version)).where(
                KeyDecision.assessment_id == proposal.assessment.id,
                KeyDecision.item_id == proposal.item.id,
            )
        )
        or 0
    ) + 1
    decision = KeyDecision(
        assessment_id=proposal.assessment.id, item_id=proposal.item.id, version=version,
        decision=proposal.decision, key=proposal.key, reason=proposal.reason,
        decided_by_id=actor.id if actor else None, decided_at=clock.now(),
    )  # fmt: skip
    db.session.add(decision)
    db.session.flush()
    audit.record(
        "key.decided", actor=actor, subject_type="item", subject_id=proposal.item.key,
        details={
            "assessment": proposal.assessment.key, "decision": proposal.decision,
            "key": proposal.key, "reason": proposal.reason, "version": version,
            "affected": preview.affected, "changed": len(preview.changes),
            "pass_to_fail": preview.pass_to_fail, "fail_to_pass": preview.fail_to_pass,
        },
    )  # fmt: skip
    job = jobs.create(
        "rescore",
        {"decision_id": decision.id, "assessment": proposal.assessment.key,
         "item": proposal.item.key},
        actor=actor,
    )  # fmt: skip
    return decision, preview, job


def _decision(decision_id: int) -> KeyDecision:
    decision = db.session.get(KeyDecision, decision_id)
    if decision is None:
        raise NotFound("No such key decision")
    return decision


def affected_attempt_ids(decision_id: int) -> list[int]:
    """Attempts of the decision's assessment with its item on their form, in order."""
    decision = _decision(decision_id)
    return _attempts_with(decision.assessment_id, decision.item_id)


def _attempts_with(assessment_id: int, item_id: int) -> list[int]:
    """Scored attempts of the assessment with the item on their form, from the item's index."""
    return list(
        db.session.scalars(
            select(AttemptItem.attempt_id)
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .join(Result, Result.attempt_id == Attempt.id)
            .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
            .where(
                AttemptItem.item_id == item_id,
                AssessmentVersion.assessment_id == assessment_id,
            )
            .distinct()
            .order_by(AttemptItem.attempt_id)
        )
    )


def rescore_for(decision_id: int, attempt_ids: list[int]) -> int:
    """Rescore these attempts under the decision; return how many changed. Flushes only.

    Safe to repeat: an attempt already rescored has nothing left to change.
    """
    decision = _decision(decision_id)
    item = db.session.get_one(Item, decision.item_id)
    actor = db.session.get(User, decision.decided_by_id) if decision.decided_by_id else None
    return results.rescore_many(
        attempt_ids, action="result.rekeyed", actor=actor,
        details={
            "reason": decision.reason, "key_decision_id": decision.id,
            "decision": decision.decision, "item": item.key,
        },
    )  # fmt: skip


def changed_by(decision_id: int) -> int:
    """How many result revisions the decision has made so far."""
    return (
        db.session.scalar(
            select(func.count()).select_from(ResultRevision).filter_by(key_decision_id=decision_id)
        )
        or 0
    )
