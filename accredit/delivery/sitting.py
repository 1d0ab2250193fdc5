"""What a candidate sees of an attempt: its positions, answers, flags and time. Read only.

Everything here is built from ``candidate_view``, so no key, rationale, Angoff
rating or competency mapping can reach the candidate's browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from accredit import clock
from accredit.catalogue.presentation import CandidateItem, candidate_view
from accredit.delivery.service import grace, spec_of
from accredit.delivery.timing import AttemptState, attempt_state, remaining_seconds
from accredit.extensions import db
from accredit.models import ItemVersion, ScenarioVersion
from accredit.models.delivery import Attempt, AttemptItem, Response


@dataclass(frozen=True)
class Position:
    position: int
    section: int
    view: CandidateItem
    answer: Any
    flagged: bool
    seq: int
    revealed: bool

    @property
    def answered(self) -> bool:
        """Answered in full: a "choose 2" with one ticked is kept, but not yet answered."""
        return self.answer is not None and not self.incomplete

    @property
    def incomplete(self) -> bool:
        """Say whether a "choose n" answer has fewer than n choices."""
        if self.view.type != "multiple" or not isinstance(self.answer, list):
            return False
        wanted = self.view.settings.get("select")
        return isinstance(wanted, int) and len(self.answer) < wanted


def positions(attempt: Attempt) -> list[Position]:
    """Return every position of the attempt's frozen form, with the saved answer and flag."""
    rows = db.session.execute(
        select(AttemptItem, ItemVersion, ScenarioVersion, Response)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .outerjoin(ScenarioVersion, ScenarioVersion.id == AttemptItem.scenario_version_id)
        .outerjoin(
            Response,
            (Response.attempt_id == AttemptItem.attempt_id)
            & (Response.position == AttemptItem.position),
        )
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)
    ).all()
    return [
        Position(
            position=slot.position,
            section=slot.section,
            view=candidate_view(
                version, item_type=slot.item_type, option_order=slot.option_order, scenario=scenario
            ),
            answer=response.answer if response else None,
            flagged=bool(response and response.flagged),
            seq=response.seq if response else 0,
            revealed=bool(response and response.revealed_at),
        )
        for slot, version, scenario, response in rows
    ]


@dataclass(frozen=True)
class Clock:
    state: AttemptState
    deadline_at: datetime | None
    remaining: float | None


def clock_of(attempt: Attempt, at: datetime | None = None) -> Clock:
    at = at or clock.now()
    state = attempt_state(at, attempt.deadline_at, attempt.submitted_at, grace())
    remaining = remaining_seconds(at, attempt.deadline_at)
    if state is AttemptState.SUBMITTED and remaining is not None:
        remaining = 0.0  # submitted: no time remains, whatever the deadline was
    return Clock(state, attempt.deadline_at, remaining)


def payload(attempt: Attempt, *, with_items: bool = True) -> dict[str, Any]:
    """Return the attempt as the API shows it to its candidate."""
    now = clock.now()
    timing = clock_of(attempt, now)
    spec = spec_of(attempt.assessment_version)
    body: dict[str, Any] = {
        "id": attempt.id,
        "assessment": {"id": spec.id, "title": spec.title, "mode": spec.mode},
        "status": timing.state.value,
        "started_at": attempt.started_at.isoformat(),
        "deadline_at": timing.deadline_at.isoformat() if timing.deadline_at else None,
        "remaining_seconds": round(timing.remaining, 3) if timing.remaining is not None else None,
        "server_time": now.isoformat(),
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
    }
    if with_items:
        body["items"] = [
            {
                "position": item.position,
                "section": item.section,
                **item.view.as_json(),
                "response": item.answer,
                "seq": item.seq,
                "flagged": item.flagged,
            }
            for item in positions(attempt)
        ]
    return body
