"""Read models of marking: what a marker or moderator sees of a script, blind by construction.

A view is built only from the script's facts and the item, never from the
candidate's account: it carries the candidate number, not a name, email or
organisation. Another marker's marks and comments join it only once the first
and second marks are both in. Pages and the JSON API both render these views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from accredit.banks import render_markdown
from accredit.catalogue.queries import spec_of
from accredit.extensions import db
from accredit.marking.rules import Round
from accredit.marking.service import (
    ResultFacts,
    ScriptFacts,
    gather,
    round_for,
    sem_of,
    state_seen_by,
)
from accredit.models import Item, ScenarioVersion, User
from accredit.models.marking import Mark

ROUND_LABELS = {
    "first": "First marker",
    "second": "Second marker",
    "third": "Third marker",
    "moderator": "Moderator",
}


def words(text: Any) -> int:
    return len(re.findall(r"\S+", text)) if isinstance(text, str) else 0


@dataclass(frozen=True)
class MarkView:
    round: str
    label: str
    total: float
    criteria: dict[str, float]
    comment: str
    reason: str
    marked_at: datetime
    mine: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "round": self.round, "total": self.total, "criteria": self.criteria,
            "comment": self.comment, "reason": self.reason or None,
            "marked_at": self.marked_at.isoformat(), "yours": self.mine,
        }  # fmt: skip


@dataclass(frozen=True)
class ScriptView:
    id: int
    candidate_number: str
    assessment_key: str
    assessment_title: str
    item_key: str
    item_version: int
    stem_html: str
    scenario_title: str | None
    scenario_html: str | None
    word_limit: int
    guidance_html: str | None
    rubric: list[dict[str, Any]]
    answer: str
    state: str
    round: str | None
    marks: list[MarkView]
    others_visible: bool
    agreed: dict[str, Any] | None

    @property
    def words(self) -> int:
        return words(self.answer)

    @property
    def maximum(self) -> float:
        return float(sum(criterion["marks"] for criterion in self.rubric))

    @property
    def round_label(self) -> str | None:
        return ROUND_LABELS.get(self.round) if self.round else None

    @property
    def final_round(self) -> bool:
        return self.round in (Round.THIRD.value, Round.MODERATOR.value)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "candidate_number": self.candidate_number,
            "assessment": {"id": self.assessment_key, "title": self.assessment_title},
            "item": {
                "id": self.item_key, "version": self.item_version, "stem_html": self.stem_html,
                "scenario": (
                    {"title": self.scenario_title, "html": self.scenario_html}
                    if self.scenario_html is not None else None
                ),
                "word_limit": self.word_limit, "guidance_html": self.guidance_html,
                "rubric": self.rubric, "maximum": self.maximum,
            },
            "answer": self.answer,
            "words": self.words,
            "state": self.state,
            "round": self.round,
            "marks": [mark.as_json() for mark in self.marks],
            "others_visible": self.others_visible,
            "agreed": self.agreed,
        }  # fmt: skip


def script_view(fact: ScriptFacts, viewer: User) -> ScriptView:
    """The script as this viewer may see it."""
    version = fact.version
    item_key = db.session.scalar(select(Item.key).where(Item.id == version.item_id)) or ""
    scenario = (
        db.session.get(ScenarioVersion, fact.slot.scenario_version_id)
        if fact.slot.scenario_version_id is not None
        else None
    )
    others_visible = fact.both_marked
    shown = [mark for mark in fact.marks if others_visible or mark.marker_id == viewer.id]
    state = state_seen_by(fact, viewer).value
    content = version.content
    guidance = content.get("guidance")
    assessment = fact.attempt.assessment_version
    return ScriptView(
        id=fact.id,
        candidate_number=fact.candidate_number,
        assessment_key=assessment.assessment.key,
        assessment_title=spec_of(assessment).title,
        item_key=item_key,
        item_version=version.version,
        stem_html=version.rendered["stem"],
        scenario_title=scenario.title if scenario else None,
        scenario_html=scenario.vignette_html if scenario else None,
        word_limit=int(content["word_limit"]),
        guidance_html=render_markdown(guidance) if guidance else None,
        rubric=[
            {
                "id": c["id"],
                "criterion": c["criterion"],
                "marks": c["marks"],
                "levels": [
                    {"marks": level["marks"], "descriptor": level["descriptor"]}
                    for level in c.get("levels") or ()
                ],
            }
            for c in content["rubric"]
        ],
        answer=fact.answer if isinstance(fact.answer, str) else "",
        state=state,
        round=round_.value if (round_ := round_for(fact, viewer)) else None,
        marks=[_mark_view(mark, viewer) for mark in shown],
        others_visible=others_visible,
        agreed=(
            {"mark": fact.agreed.mark, "method": fact.agreed.method, "why": fact.agreed.why}
            if fact.agreed is not None and (others_visible or fact.agreed.method == "blank")
            else None
        ),
    )


def _mark_view(mark: Mark, viewer: User) -> MarkView:
    return MarkView(
        round=mark.round, label=ROUND_LABELS[mark.round], total=mark.total,
        criteria={c.criterion: c.marks for c in mark.criteria}, comment=mark.comment,
        reason=mark.reason or "", marked_at=mark.marked_at, mine=mark.marker_id == viewer.id,
    )  # fmt: skip


@dataclass(frozen=True)
class ResultView:
    """A result as the moderator sees it: the score, the cut, why it is here, and its scripts."""

    facts: ResultFacts
    assessment_title: str
    sem: float
    scripts: list[ScriptView]
    objective: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        result = self.facts.result
        decision = self.facts.decision
        return {
            "id": result.id, "candidate_number": self.facts.candidate_number,
            "assessment": self.assessment_title, "stage": self.facts.stage,
            "raw": result.raw, "maximum": result.maximum, "cut": result.cut, "sem": self.sem,
            "passed": result.passed, "revision": result.revision, "referred": self.facts.reasons,
            "decision": (
                {"decision": decision.decision, "reason": decision.reason, "score": decision.score,
                 "decided_at": decision.decided_at.isoformat()}
                if decision else None
            ),
            "scripts": [script.as_json() for script in self.scripts],
        }  # fmt: skip


def result_view(facts: ResultFacts, viewer: User) -> ResultView:
    """The whole script of a result for its moderator, written answers' marks side by side."""
    found = gather(attempt_ids=[facts.attempt.id])
    scripts = [script_view(fact, viewer) for fact in found]
    written = {fact.slot.position for fact in found}
    objective = [
        item
        for item in facts.result.items
        if not item.get("pretest") and item["position"] not in written
    ]
    return ResultView(
        facts=facts,
        assessment_title=spec_of(facts.attempt.assessment_version).title,
        sem=sem_of(facts.result),
        scripts=scripts,
        objective=objective,
    )
