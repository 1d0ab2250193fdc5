"""Read models for results: a candidate's released results, their history, and item review.

Nothing here writes. Keys and rationales reach a candidate only for items that no
accreditation test can draw (``accreditation_eligible_item_ids``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from accredit.catalogue.presentation import candidate_view
from accredit.catalogue.queries import accreditation_eligible_item_ids
from accredit.extensions import db
from accredit.models import AssessmentVersion, Item, ItemVersion, User
from accredit.models.delivery import Attempt, AttemptItem, Response
from accredit.models.marking import AgreedMark, CriterionMark, ModerationDecision
from accredit.models.results import KeyDecision, Result, ResultRevision
from accredit.results.service import scored_positions
from accredit.scoring.attempt import binomial_sem
from accredit.scoring.items import ItemScore, score_item
from accredit.timefmt import UK


@dataclass(frozen=True)
class HistoryRow:
    """One finished attempt as its history shows it; ``result`` is None until it is released."""

    attempt: Attempt
    title: str
    mode: str
    assessment_id: int
    result: Result | None
    # Another finished attempt of the same person was submitted on the same UK day, so the
    # attempt's date alone would not tell the two apart.
    same_day: bool = False

    @property
    def released(self) -> bool:
        return self.result is not None

    @property
    def sem(self) -> float | None:
        """The released result's SEM in marks, or None while the result is not released."""
        return None if self.result is None else result_sem(self.result)

    @property
    def band(self) -> tuple[float, float] | None:
        """The score less and plus one SEM, in marks, kept within the paper's marks."""
        if self.result is None:
            return None
        sem = result_sem(self.result)
        return max(0.0, self.result.raw - sem), min(self.result.maximum, self.result.raw + sem)


@dataclass(frozen=True)
class Trend:
    """One assessment's statements across a person's released attempts at it, oldest first."""

    title: str
    mode: str
    rows: list[HistoryRow]
    # (statement, title, [percent or None for each of ``rows``]), in the profiles' order
    series: list[tuple[str, str, list[float | None]]]


@dataclass(frozen=True)
class History:
    rows: list[HistoryRow]
    trends: list[Trend] = field(default_factory=list)

    @property
    def released(self) -> list[HistoryRow]:
        return [row for row in self.rows if row.released]

    def of(self, mode: str) -> list[HistoryRow]:
        """The attempts at assessments of one mode (accreditation or practice), oldest first."""
        return [row for row in self.rows if row.mode == mode]

    def trends_of(self, mode: str) -> list[Trend]:
        return [trend for trend in self.trends if trend.mode == mode]


def result_sem(result: Result) -> float:
    """The SEM a result records at its cut, or Lord's binomial SEM at the cut where none is.

    Marking's ``sem_of`` (referral to moderation) uses this same rule.
    """
    recorded = (result.cut_details or {}).get("sem")
    if isinstance(recorded, int | float):
        return float(recorded)
    return binomial_sem(result.cut, result.maximum)


def history(person: User) -> History:
    """Every finished attempt of a person, oldest first; results only once released.

    An unreleased result is left out altogether, so a page cannot show any of it.
    """
    found = db.session.execute(
        select(Attempt, AssessmentVersion, Result)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .options(defer(Result.items))  # the keys and answers: never shown here
        .where(Attempt.candidate_id == person.id, Attempt.submitted_at.is_not(None))
        .order_by(Attempt.submitted_at, Attempt.id)
    ).all()
    days = Counter(_uk_day(attempt) for attempt, _version, _result in found)
    rows = [
        HistoryRow(
            attempt, version.title, version.mode, version.assessment_id,
            result if result is not None and result.released_at is not None else None,
            same_day=days[_uk_day(attempt)] > 1,
        )
        for attempt, version, result in found
    ]  # fmt: skip
    return History(rows, _trends(rows))


def _uk_day(attempt: Attempt) -> date | None:
    return attempt.submitted_at.astimezone(UK).date() if attempt.submitted_at else None


def _trends(rows: list[HistoryRow]) -> list[Trend]:
    """Each assessment's released attempts, its statements' percentages across them."""
    by_assessment: dict[int, list[HistoryRow]] = {}
    for row in rows:
        if row.result is not None:
            by_assessment.setdefault(row.assessment_id, []).append(row)
    trends = []
    for group in by_assessment.values():
        series: dict[str, tuple[str, list[float | None]]] = {}
        for index, row in enumerate(group):
            assert row.result is not None
            for statement in row.result.profile:
                _title, points = series.setdefault(
                    statement["statement"], (statement["title"], [None] * len(group))
                )
                points[index] = statement["percent"]
        trends.append(
            Trend(
                group[-1].title, group[-1].mode, group,
                [(code, title, points) for code, (title, points) in series.items()],
            )
        )  # fmt: skip
    return trends


def review_items(row: Result, attempt: Attempt) -> list[dict[str, Any]]:
    """Per-item review after release: the question, the mark, and the key and why if allowed.

    ``content`` (the key, rationale and references) is None for an item an
    accreditation test can draw: a candidate only learns whether they got it right.
    """
    slots = {
        slot.position: (slot, version)
        for slot, version in db.session.execute(
            select(AttemptItem, ItemVersion)
            .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
            .where(AttemptItem.attempt_id == attempt.id)
        ).all()
    }
    withheld = accreditation_eligible_item_ids(slot.item_id for slot, _version in slots.values())
    review = []
    for item in scored_positions(row):
        if item.pretest:
            continue
        slot, version = slots[item.position]
        view = candidate_view(version, item_type=slot.item_type, option_order=slot.option_order)
        shown = slot.item_id not in withheld
        review.append({"item": item, "view": view, "content": version.content if shown else None,
                       "withheld": not shown})  # fmt: skip
    return review


@dataclass(frozen=True)
class WrittenMark:
    """A released written answer's agreed mark, criterion by criterion, as the candidate sees it.

    The per-criterion marks are those behind the agreed mark: the two markers'
    mean (or the lower marker's), or the final marker's. After a moderator's
    amendment only the total is known: ``amended`` says so.
    """

    position: int
    item_stem_html: str
    marks: float
    max_marks: float
    criteria: list[dict[str, Any]]
    amended: bool
    method: str  # mean | lower | third | moderator | blank

    @property
    def how(self) -> str:
        """How the mark was reached, in words for the candidate."""
        return {
            "mean": "Two assessors marked it independently; your mark is the mean of theirs.",
            "lower": "Two assessors marked it independently; your mark is the lower of theirs.",
            "third": "Two assessors marked it independently. Their marks differed by more "
            "than the tolerance, so a third assessor's mark decided.",
            "moderator": "Two assessors marked it independently. Their marks differed by more "
            "than the tolerance, so the lead assessor's mark decided.",
            "blank": "No answer was given, so it has no marks.",
        }.get(self.method, "")

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position, "marks": round(self.marks, 4),
            "max_marks": self.max_marks, "criteria": self.criteria, "amended": self.amended,
            "how": self.method,
        }  # fmt: skip


def written_marks(row: Result) -> list[WrittenMark]:
    """The released result's written answers with their agreed marks. Writes nothing."""
    rows = db.session.execute(
        select(AttemptItem, ItemVersion, AgreedMark)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .join(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == row.attempt_id, AttemptItem.pretest.is_(False))
        .order_by(AttemptItem.position)
    ).all()
    if not rows:
        return []
    scored = {item.position: item for item in scored_positions(row)}
    amended = bool(
        db.session.scalar(
            select(ModerationDecision.id).where(
                ModerationDecision.result_id == row.id, ModerationDecision.decision == "amend"
            )
        )
    )
    behind = criterion_marks_behind(agreed for _slot, _version, agreed in rows)
    shown = []
    for slot, version, agreed in rows:
        by_criterion = behind[agreed.script_id]
        criteria = [
            {"id": c["id"], "criterion": c["criterion"], "max_marks": c["marks"],
             "marks": None if amended else round(by_criterion.get(c["id"], 0.0), 4)}
            for c in version.content["rubric"]
        ]  # fmt: skip
        position = scored.get(slot.position)
        marks = position.marks if position is not None else agreed.mark
        shown.append(
            WrittenMark(
                slot.position, version.rendered["stem"], marks,
                float(sum(c["marks"] for c in version.content["rubric"])), criteria, amended,
                agreed.method,
            )
        )  # fmt: skip
    return shown


def criterion_marks_behind(agreed: Iterable[AgreedMark]) -> dict[int, dict[str, float]]:
    """The per-criterion marks behind each agreed mark, by script, in one query.

    The two markers' mean (or the lower marker's, when that is how the mark was
    agreed), or the final marker's.
    """
    sources: dict[int, tuple[str, list[int]]] = {}
    for row in agreed:
        named = (
            [row.final_mark_id] if row.method in ("third", "moderator")
            else [row.first_mark_id, row.second_mark_id]
        )  # fmt: skip
        sources[row.script_id] = (row.method, [i for i in named if i is not None])
    wanted = [i for _method, ids in sources.values() for i in ids]
    by_mark: dict[int, dict[str, float]] = {}
    if wanted:
        for mark_id, criterion, value in db.session.execute(
            select(CriterionMark.mark_id, CriterionMark.criterion, CriterionMark.marks).where(
                CriterionMark.mark_id.in_(wanted)
            )
        ):
            by_mark.setdefault(mark_id, {})[criterion] = value
    shown: dict[int, dict[str, float]] = {}
    for script_id, (method, ids) in sources.items():
        marks = [by_mark[i] for i in ids if i in by_mark]
        if not marks:
            shown[script_id] = {}
        elif method == "lower" and len(marks) == 2:
            shown[script_id] = min(marks, key=lambda criteria: sum(criteria.values()))
        else:
            names = {name for criteria in marks for name in criteria}
            shown[script_id] = {
                name: sum(criteria.get(name, 0.0) for criteria in marks) / len(marks)
                for name in names
            }
    return shown


@dataclass(frozen=True)
class Amendment:
    """A change to a released result: what it came to and why."""

    at: datetime
    cause: str
    reason: str
    old_raw: float
    new_raw: float
    old_maximum: float
    new_maximum: float
    old_passed: bool | None
    new_passed: bool | None
    item: str | None
    decision: str | None

    @property
    def summary(self) -> str:
        if self.cause == "rekeyed":
            what = {
                "void": "A question was removed from the test",
                "credit": "Everyone was given the marks for a question",
                "keys": "A question now accepts more than one answer",
                "rekey": "A question's answer key was corrected",
                "keep": "A question was reviewed",
            }.get(self.decision or "", "A question's marking changed")
        elif self.cause == "amended":
            what = "Your written answer's marks were changed at moderation"
        else:
            what = "Your result was recalculated"
        return what


def amendments_after_release(row: Result) -> list[Amendment]:
    """Changes to a result after it was released, oldest first. Writes nothing."""
    if row.released_at is None:
        return []
    revisions = list(
        db.session.execute(
            select(ResultRevision, KeyDecision.decision, Item.key)
            .outerjoin(KeyDecision, KeyDecision.id == ResultRevision.key_decision_id)
            .outerjoin(Item, Item.id == KeyDecision.item_id)
            .where(ResultRevision.result_id == row.id)
            .order_by(ResultRevision.revision)
        ).all()
    )
    shown = []
    for (before, _d, _i), (after, decision, item) in itertools.pairwise(revisions):
        if after.at <= row.released_at:
            continue
        shown.append(
            Amendment(
                after.at, after.cause, after.reason, before.raw, after.raw, before.maximum,
                after.maximum, before.passed, after.passed, item, decision,
            )
        )  # fmt: skip
    return shown


def practice_review(attempt: Attempt) -> list[dict[str, Any]] | None:
    """A practice attempt's items with their marks, and the key and why where allowed.

    None while the attempt awaits scoring (its time ran out and the sweep has
    not yet closed it). Marks come from the stored result, like every other score.
    """
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    if row is None:
        return None
    return review_items(row, attempt)


@dataclass(frozen=True)
class Feedback:
    """Practice feedback on one position: the item's content and the candidate's score.

    Both are None for an item an accreditation test can draw: its answer, and a mark
    against the candidate's own answer, would give the key away.
    """

    content: dict[str, Any] | None
    score: ItemScore | None


def practice_feedback(attempt: Attempt, position: int) -> Feedback:
    """Score one position of a practice attempt as it stands, by the rule results use."""
    found = db.session.execute(
        select(AttemptItem.item_id, ItemVersion.content, Response.answer)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .outerjoin(Response, (Response.attempt_id == AttemptItem.attempt_id)
                   & (Response.position == AttemptItem.position))
        .where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == position)
    ).one()  # fmt: skip
    item_id, content, answer = found
    if accreditation_eligible_item_ids([item_id]):
        return Feedback(None, None)
    return Feedback(content, score_item(content, answer))


def when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def result_json(row: Result, *, with_items: bool) -> dict[str, Any]:
    """The released result as the API gives it; keys only of items no accreditation test draws."""
    body: dict[str, Any] = {
        "attempt_id": row.attempt_id,
        "status": row.status,
        "outcome": None if row.passed is None else ("passed" if row.passed else "not_passed"),
        "raw": row.raw,
        "maximum": row.maximum,
        "percent": round(row.percent, 2),
        "pass_mark": {
            "marks": round(row.cut, 4), "percent": round(row.cut_percent, 2),
            "method": row.cut_method, "description": row.cut_description,
        },
        "profile": row.profile,
        "scoring_version": row.scoring_version,
        "scored_at": when(row.scored_at),
        "released_at": when(row.released_at),
    }  # fmt: skip
    body["written"] = [mark.as_json() for mark in written_marks(row)]
    if with_items:
        positions = [item for item in scored_positions(row) if not item.pretest]
        withheld = accreditation_eligible_item_ids(item.item_id for item in positions)
        body["items"] = [
            {"position": item.position, "marks": item.marks, "max_marks": item.max_marks,
             "pending": item.pending, "answer": item.answer,
             # An accreditation item's mark against the candidate's answer would give
             # its key away, just as the key itself would.
             **({"marks": None, "key": None} if item.item_id in withheld else {})}
            for item in positions
        ]  # fmt: skip
    return body
