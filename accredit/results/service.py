"""Score attempts into stored results, release them, and recompute them. Services flush only.

A result is computed once, when its attempt is submitted or expires, by
``accredit.scoring.attempt.score_attempt``, from the attempt's frozen form (the
item versions and keys it used), its responses and any assessor marks, and
stored with one row per position (``ScoredPosition``). It then changes only
through an audited action, which adds a new revision of those rows.

Results build on delivery's models but never call delivery: delivery's one
``finish`` step closes an attempt and calls ``record``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import defer

from accredit import audit, clock
from accredit.catalogue.queries import spec_of
from accredit.errors import DomainError
from accredit.extensions import db
from accredit.models import (
    Assessment,
    AssessmentVersion,
    Item,
    ItemVersion,
    Statement,
    User,
)
from accredit.models.delivery import Attempt, AttemptItem, Response
from accredit.models.marking import AgreedMark, ModerationDecision
from accredit.models.results import KeyDecision, Result, ResultRevision, ScoredPosition
from accredit.scoring.attempt import Adjustment, AttemptResult, FormItem, Rules, score_attempt


class NotReleased(DomainError):
    code = "not_released"
    status = 403


class NotScored(DomainError):
    code = "not_scored"
    status = 409


def adjustments_for(assessment_id: int) -> dict[int, Adjustment]:
    """The latest key decision on each item of an assessment, as scoring applies it."""
    latest: dict[int, KeyDecision] = {}
    for decision in db.session.scalars(
        select(KeyDecision)
        .where(KeyDecision.assessment_id == assessment_id)
        .order_by(KeyDecision.version)
    ):
        latest[decision.item_id] = decision
    return {item_id: adjustment_of(decision) for item_id, decision in latest.items()}


def adjustment_of(decision: KeyDecision) -> Adjustment:
    keys = tuple(decision.key) if decision.decision == "keys" and decision.key else ()
    return Adjustment(decision.decision, decision.key, keys)


def form_of(
    attempt: Attempt, adjustments: Mapping[int, Adjustment] | None = None
) -> list[FormItem]:
    """Return the attempt's frozen form with each position's item content, key included.

    Each item's latest key decision for the assessment applies, unless
    ``adjustments`` (by item id) says otherwise, as a dry run does.
    """
    rows = db.session.execute(
        select(AttemptItem, ItemVersion, Item.key)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .join(Item, Item.id == AttemptItem.item_id)
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)
    ).all()
    if adjustments is None:
        adjustments = adjustments_for(attempt.assessment_version.assessment_id)
    return [
        FormItem(
            slot.position, key, version.version, version.content, slot.pretest,
            adjustments.get(slot.item_id),
        )
        for slot, version, key in rows
    ]  # fmt: skip


def responses_of(attempt: Attempt) -> dict[int, Any]:
    rows = db.session.execute(
        select(Response.position, Response.answer).where(Response.attempt_id == attempt.id)
    ).all()
    return {row[0]: row[1] for row in rows}


def written_marks(attempt: Attempt) -> dict[int, float]:
    """Return the agreed marks of the attempt's written answers, by position.

    Until a written answer's mark is agreed, its position stays pending and so
    does the result.
    """
    rows = db.session.execute(
        select(AttemptItem.position, AgreedMark.mark)
        .join(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == attempt.id)
    ).all()
    return dict(rows)


def amendment_of(attempt: Attempt) -> ModerationDecision | None:
    """The moderator's amendment of the attempt's result, if there is one."""
    return db.session.scalar(
        select(ModerationDecision)
        .join(Result, Result.id == ModerationDecision.result_id)
        .where(Result.attempt_id == attempt.id, ModerationDecision.decision == "amend")
    )


def amended_marks(result: AttemptResult, marks: dict[int, float], score: float) -> dict[int, float]:
    """Written marks that bring the result's raw score to a moderator's amended score.

    Objective items keep their marks; the written answers' total becomes the
    amended score less the objective marks, shared between written answers in
    proportion to their worth (with one written answer, it is simply its mark).
    """
    written = [item for item in result.items if item.position in marks and not item.pretest]
    worth = sum(item.max_marks for item in written)
    if not worth:
        return marks
    objective = result.raw - sum(item.marks for item in written)
    total = min(worth, max(0.0, score - objective))
    return {**marks, **{item.position: total * item.max_marks / worth for item in written}}


def written_range(result: AttemptResult, marks: dict[int, float]) -> tuple[float, float]:
    """The lowest and highest raw score an amendment of the written marks can give."""
    written = [item for item in result.items if item.position in marks and not item.pretest]
    objective = result.raw - sum(item.marks for item in written)
    return objective, objective + sum(item.max_marks for item in written)


def rules_of(version: AssessmentVersion) -> Rules:
    statements = {
        statement.key: statement.title
        for statement in db.session.scalars(
            select(Statement)
            .where(Statement.framework_version_id == version.framework_version_id)
            .order_by(Statement.number)
        )
    }
    return Rules.from_blueprint(version.content, statements)


def compute(attempt: Attempt, adjustments: Mapping[int, Adjustment] | None = None) -> AttemptResult:
    """Score an attempt from what is stored, without writing anything.

    The written answers take their agreed marks, unless a moderator amended the
    result, when they take the marks that give the amended score. Key decisions
    apply; ``adjustments`` replaces them, for a dry run.
    """
    form, responses = form_of(attempt, adjustments), responses_of(attempt)
    rules, marks = rules_of(attempt.assessment_version), written_marks(attempt)
    result = score_attempt(form, responses, rules, marks)
    amendment = amendment_of(attempt)
    if amendment is not None and amendment.score is not None:
        result = score_attempt(
            form, responses, rules, amended_marks(result, marks, amendment.score)
        )
    return result


def _apply(row: Result, result: AttemptResult) -> None:
    row.status = "pending" if result.pending else "scored"
    row.raw, row.maximum, row.percent = result.raw, result.maximum, result.percent
    row.cut, row.cut_percent = result.cut.marks, result.cut_percent
    row.cut_method, row.cut_description = result.cut.method, result.cut.description
    row.cut_details = dict(result.cut.details)
    row.passed = result.passed
    row.profile = [statement.as_json() for statement in result.profile]
    row.items = [item.as_json() for item in result.items]
    row.scoring_version = result.scoring_version
    row.scored_at = clock.now()


def _slots(attempt: Attempt) -> dict[int, AttemptItem]:
    return {
        slot.position: slot
        for slot in db.session.scalars(select(AttemptItem).filter_by(attempt_id=attempt.id))
    }


def _add_positions(
    row: Result, attempt: Attempt, result: AttemptResult,
    slots: dict[int, AttemptItem] | None = None,
) -> None:  # fmt: skip
    """Store the result's positions as rows of its current revision."""
    slots = slots if slots is not None else _slots(attempt)
    for item in result.items:
        slot = slots[item.position]
        db.session.add(
            ScoredPosition(
                result_id=row.id, revision=row.revision, attempt_id=attempt.id,
                position=item.position, item_id=slot.item_id,
                item_version_id=slot.item_version_id, key=item.key, answer=item.answer,
                marks=item.marks, max_marks=item.max_marks, pending=item.pending,
                pretest=item.pretest, void=item.void, scored_at=row.scored_at,
            )
        )  # fmt: skip


def scored_positions(row: Result) -> list[ScoredPosition]:
    """The current revision's scored positions of a result, in order."""
    return list(
        db.session.scalars(
            select(ScoredPosition)
            .filter_by(result_id=row.id, revision=row.revision)
            .order_by(ScoredPosition.position)
        )
    )


def _positions_summary(items: Any) -> list[list[Any]]:
    return [[item.position, round(item.marks, 6), item.pending, item.void] for item in items]


def stored_summary(row: Result, positions: list[list[Any]] | None = None) -> dict[str, Any]:
    """The stored result's comparable summary; ``positions`` if already loaded."""
    return {
        "raw": round(row.raw, 6), "maximum": round(row.maximum, 6),
        "pending": row.status == "pending", "cut": round(row.cut, 6),
        "cut_method": row.cut_method, "passed": row.passed, "profile": row.profile,
        "scoring_version": row.scoring_version,
        "positions": (
            positions if positions is not None
            else _positions_summary(scored_positions(row))
        ),
    }  # fmt: skip


def computed_summary(result: AttemptResult) -> dict[str, Any]:
    return {**result.summary(), "positions": _positions_summary(result.items)}


def record(attempt: Attempt) -> Result:
    """Score a submitted attempt and store its result; release it now if the blueprint says so."""
    existing = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    if existing is not None:
        return existing
    result = compute(attempt)
    row = Result(attempt_id=attempt.id, revision=1)
    _apply(row, result)
    spec = spec_of(attempt.assessment_version)
    if spec.results.release == "immediate" and not result.pending:
        row.released_at = row.scored_at
    db.session.add(row)
    db.session.flush()
    _add_positions(row, attempt, result)
    _add_revision(row, "scored")
    db.session.flush()
    audit.record(
        "result.scored", actor=None, subject_type="attempt", subject_id=attempt.id,
        details={**result.summary(), "released": row.released_at is not None},
    )  # fmt: skip
    return row


def release(row: Result, *, actor: User | None, reason: str = "") -> bool:
    """Release a scored result to its candidate; True if this call released it."""
    if row.status != "scored":
        raise NotScored("A result cannot be released while answers await marking")
    if row.released_at is not None:
        return False
    row.released_at, row.released_by_id = clock.now(), actor.id if actor else None
    audit.record(
        "result.released", actor=actor, subject_type="attempt", subject_id=row.attempt_id,
        details={"reason": reason, "passed": row.passed},
    )  # fmt: skip
    return True


def released_result(attempt: Attempt) -> Result:
    """Return the attempt's result if it has been released to the candidate. Writes nothing."""
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    if row is None or row.released_at is None:
        raise NotReleased("This result has not been released yet")
    return row


@dataclass(frozen=True)
class Change:
    attempt_id: int
    before: dict[str, Any] | None
    after: dict[str, Any]

    def describe(self) -> str:
        if self.before is None:
            return f"attempt {self.attempt_id}: no stored result; would store {self.after['raw']:g}"
        changed = [key for key in self.after if self.after[key] != self.before.get(key)]
        parts = [
            f"{key} {self.before.get(key)!r} -> {self.after[key]!r}"
            for key in changed
            if key not in ("profile", "positions")
        ]
        if "profile" in changed:
            parts.append("competency profile")
        if "positions" in changed:
            parts.append("marks of scored positions")
        return f"attempt {self.attempt_id}: " + "; ".join(parts)


def submitted_attempts(assessment_key: str | None = None) -> Iterator[Attempt]:
    query = select(Attempt).where(Attempt.submitted_at.is_not(None)).order_by(Attempt.id)
    if assessment_key:
        query = (
            query.join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
            .join(Assessment, Assessment.id == AssessmentVersion.assessment_id)
            .where(Assessment.key == assessment_key)
        )
    yield from db.session.scalars(query)


def recompute(
    assessment_key: str | None = None, *, apply: bool = False, actor: User | None = None
) -> tuple[int, list[Change]]:
    """Recompute every submitted attempt's result from stored facts; report, and apply if asked.

    Run the sweep first (the command line does) so the comparison covers every
    finished attempt; this function itself writes only with ``apply``.
    """
    checked, changes = 0, []
    for attempt in submitted_attempts(assessment_key):
        checked += 1
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
        result = compute(attempt)
        after = computed_summary(result)
        before = stored_summary(row) if row else None
        if before == after:
            continue
        changes.append(Change(attempt.id, before, after))
        if apply:
            _store_change(attempt, row, result, before, actor)
    return checked, changes


def rescore(
    attempt: Attempt, *, action: str, actor: User | None, details: dict[str, Any] | None = None
) -> Result:
    """Rescore one attempt after new facts (agreed marks, an amendment) as a new revision.

    Releases it now if its assessment releases results at once and nothing is
    pending. Returns the result, unchanged if nothing changed.
    """
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    if row is None:
        return record(attempt)
    result = compute(attempt)
    before = stored_summary(row)
    if computed_summary(result) != before:
        _store_change(attempt, row, result, before, actor, action=action, details=details)
    spec = spec_of(attempt.assessment_version)
    if spec.results.release == "immediate" and row.status == "scored":
        release(row, actor=actor, reason="Released when its written answers were marked")
    return row


CAUSES = {
    "result.recomputed": "recomputed", "result.marked": "marked",
    "result.amended": "amended", "result.rekeyed": "rekeyed",
}  # fmt: skip


def _add_revision(
    row: Result, cause: str, *, reason: str = "", decision_id: int | None = None,
    actor: User | None = None,
) -> None:  # fmt: skip
    db.session.add(
        ResultRevision(
            result_id=row.id, revision=row.revision, raw=row.raw, maximum=row.maximum,
            cut=row.cut, passed=row.passed, cause=cause, reason=reason,
            key_decision_id=decision_id, actor_id=actor.id if actor else None,
            at=row.scored_at,
        )
    )  # fmt: skip


def _store_change(
    attempt: Attempt, row: Result | None, result: AttemptResult,
    before: dict[str, Any] | None, actor: User | None,
    *, action: str = "result.recomputed", details: dict[str, Any] | None = None,
    slots: dict[int, AttemptItem] | None = None,
) -> None:  # fmt: skip
    if row is None:
        record(attempt)
        return
    _apply(row, result)
    row.revision += 1
    db.session.flush()
    _add_positions(row, attempt, result, slots)
    details = details or {}
    _add_revision(
        row, CAUSES.get(action, "recomputed"), reason=str(details.get("reason") or ""),
        decision_id=details.get("key_decision_id"), actor=actor,
    )  # fmt: skip
    audit.record(
        action, actor=actor, subject_type="attempt", subject_id=attempt.id,
        details={
            **(details or {}), "before": before, "after": computed_summary(result),
            "revision": row.revision,
        },
    )  # fmt: skip


@dataclass
class _Batch:
    """The stored facts of many attempts, loaded in a few queries, for rescoring them."""

    attempts: dict[int, Attempt]
    results: dict[int, Result]
    slots: dict[int, list[Any]]  # rows: attempt_id, position, item_id, item_version_id, pretest
    contents: dict[int, tuple[int, dict[str, Any]]]  # item version id -> (version, content)
    item_keys: dict[int, str]
    responses: dict[int, dict[int, Any]]
    written: dict[int, dict[int, float]]
    amendments: dict[int, float]
    positions: dict[int, list[list[Any]]]


def _load_batch(attempt_ids: list[int]) -> _Batch:
    attempts = {
        a.id: a for a in db.session.scalars(select(Attempt).where(Attempt.id.in_(attempt_ids)))
    }
    # Each result's items document is only ever replaced here, so it is not read (nor decoded).
    rows = {
        r.attempt_id: r
        for r in db.session.scalars(
            select(Result).where(Result.attempt_id.in_(attempt_ids)).options(defer(Result.items))
        )
    }
    # Only the columns scoring needs: no ORM objects, and none of each slot's JSON to decode.
    slots: dict[int, list[Any]] = {a: [] for a in attempts}
    for slot in db.session.execute(
        select(AttemptItem.attempt_id, AttemptItem.position, AttemptItem.item_id,
               AttemptItem.item_version_id, AttemptItem.pretest)
        .where(AttemptItem.attempt_id.in_(attempt_ids))
        .order_by(AttemptItem.attempt_id, AttemptItem.position)
    ):  # fmt: skip
        slots[slot.attempt_id].append(slot)
    version_ids = {slot.item_version_id for group in slots.values() for slot in group}
    contents = {
        vid: (number, content)
        for vid, number, content in db.session.execute(
            select(ItemVersion.id, ItemVersion.version, ItemVersion.content).where(
                ItemVersion.id.in_(version_ids)
            )
        )
    }
    item_ids = {slot.item_id for group in slots.values() for slot in group}
    item_keys = dict(
        db.session.execute(select(Item.id, Item.key).where(Item.id.in_(item_ids))).all()
    )
    responses: dict[int, dict[int, Any]] = defaultdict(dict)
    for attempt_id, position, answer in db.session.execute(
        select(Response.attempt_id, Response.position, Response.answer).where(
            Response.attempt_id.in_(attempt_ids)
        )
    ):
        responses[attempt_id][position] = answer
    written: dict[int, dict[int, float]] = defaultdict(dict)
    for attempt_id, position, mark in db.session.execute(
        select(AttemptItem.attempt_id, AttemptItem.position, AgreedMark.mark)
        .join(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(AttemptItem.attempt_id.in_(attempt_ids))
    ):
        written[attempt_id][position] = mark
    amendments = {
        attempt_id: score
        for attempt_id, score in db.session.execute(
            select(Result.attempt_id, ModerationDecision.score)
            .join(ModerationDecision, ModerationDecision.result_id == Result.id)
            .where(Result.attempt_id.in_(attempt_ids), ModerationDecision.decision == "amend")
            .order_by(ModerationDecision.id)
        )
        if score is not None
    }
    positions: dict[int, list[list[Any]]] = defaultdict(list)
    for result_id, position, marks, pending, void in db.session.execute(
        select(ScoredPosition.result_id, ScoredPosition.position, ScoredPosition.marks,
               ScoredPosition.pending, ScoredPosition.void)
        .join(Result, (Result.id == ScoredPosition.result_id)
              & (Result.revision == ScoredPosition.revision))
        .where(Result.attempt_id.in_(attempt_ids))
        .order_by(ScoredPosition.result_id, ScoredPosition.position)
    ):  # fmt: skip
        positions[result_id].append([position, round(marks, 6), pending, void])
    return _Batch(attempts, rows, slots, contents, item_keys, responses, written, amendments,
                  positions)  # fmt: skip


def _score_batch(
    batch: _Batch, attempt_ids: list[int], extra: Mapping[int, Adjustment] | None
) -> dict[int, AttemptResult]:
    """Score each attempt of the batch from its facts, in memory; ``extra`` adds adjustments."""
    rules: dict[int, Rules] = {}
    adjustments: dict[int, dict[int, Adjustment]] = {}
    scored = {}
    for attempt_id in attempt_ids:
        attempt = batch.attempts.get(attempt_id)
        if attempt is None:
            continue
        version = attempt.assessment_version
        if version.id not in rules:
            rules[version.id] = rules_of(version)
        if version.assessment_id not in adjustments:
            adjustments[version.assessment_id] = {
                **adjustments_for(version.assessment_id),
                **(extra or {}),
            }
        adjusting = adjustments[version.assessment_id]
        form = [
            FormItem(
                slot.position, batch.item_keys[slot.item_id],
                batch.contents[slot.item_version_id][0], batch.contents[slot.item_version_id][1],
                slot.pretest, adjusting.get(slot.item_id),
            )
            for slot in batch.slots[attempt_id]
        ]  # fmt: skip
        answers, marks = batch.responses.get(attempt_id, {}), batch.written.get(attempt_id, {})
        result = score_attempt(form, answers, rules[version.id], marks)
        if attempt_id in batch.amendments:
            amended = amended_marks(result, marks, batch.amendments[attempt_id])
            result = score_attempt(form, answers, rules[version.id], amended)
        scored[attempt_id] = result
    return scored


def compute_many(
    attempt_ids: list[int], extra: Mapping[int, Adjustment] | None = None
) -> dict[int, tuple[Result | None, AttemptResult]]:
    """Score many attempts from what is stored, as ``compute`` does each. Writes nothing.

    ``extra`` (by item id) adds or replaces key decisions, for a dry run.
    """
    batch = _load_batch(attempt_ids)
    return {
        attempt_id: (batch.results.get(attempt_id), result)
        for attempt_id, result in _score_batch(batch, attempt_ids, extra).items()
    }


def rescore_many(
    attempt_ids: list[int], *, action: str, actor: User | None,
    details: dict[str, Any] | None = None,
) -> int:  # fmt: skip
    """Rescore many attempts as ``rescore`` does each, loading their facts in a few queries.

    Returns how many results changed. Flushes only; safe to repeat.
    """
    batch = _load_batch(attempt_ids)
    details = details or {}
    reason, decision_id = str(details.get("reason") or ""), details.get("key_decision_id")
    positions: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    releases: dict[int, bool] = {}
    changed = 0
    for attempt_id, result in _score_batch(batch, attempt_ids, None).items():
        attempt, row = batch.attempts[attempt_id], batch.results.get(attempt_id)
        if row is None:
            record(attempt)
            changed += 1
            continue
        version = attempt.assessment_version
        if version.id not in releases:
            releases[version.id] = spec_of(version).results.release == "immediate"
        before = stored_summary(row, batch.positions[row.id])
        after = computed_summary(result)
        if after == before:
            continue
        # As _store_change does for one result, with the rows written in bulk at the end.
        _apply(row, result)
        row.revision += 1
        slots = {slot.position: slot for slot in batch.slots[attempt_id]}
        positions.extend(
            {
                "result_id": row.id, "revision": row.revision, "attempt_id": attempt_id,
                "position": item.position, "item_id": slots[item.position].item_id,
                "item_version_id": slots[item.position].item_version_id, "key": item.key,
                "answer": item.answer, "marks": item.marks, "max_marks": item.max_marks,
                "pending": item.pending, "pretest": item.pretest, "void": item.void,
                "scored_at": row.scored_at,
            }
            for item in result.items
        )  # fmt: skip
        revisions.append(
            {
                "result_id": row.id, "revision": row.revision, "raw": row.raw,
                "maximum": row.maximum, "cut": row.cut, "passed": row.passed,
                "cause": CAUSES.get(action, "recomputed"), "reason": reason,
                "key_decision_id": decision_id, "actor_id": actor.id if actor else None,
                "at": row.scored_at,
            }
        )  # fmt: skip
        audit.record(
            action, actor=actor, subject_type="attempt", subject_id=attempt_id,
            details={**(details or {}), "before": before, "after": after,
                     "revision": row.revision},
        )  # fmt: skip
        changed += 1
        if releases[version.id] and row.status == "scored" and row.released_at is None:
            release(row, actor=actor, reason="Released when its written answers were marked")
    db.session.flush()
    if positions:
        # Core inserts of plain rows: nothing here needs the ORM's bookkeeping per row.
        db.session.execute(insert(cast(Table, ScoredPosition.__table__)), positions)
        db.session.execute(insert(cast(Table, ResultRevision.__table__)), revisions)
    return changed
