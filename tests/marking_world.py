"""A world to mark in: the mini banks with a written section, assessors, and sat attempts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.delivery import service as delivery
from accredit.extensions import db
from accredit.models import ItemVersion, Organisation, User
from accredit.models.delivery import Attempt, AttemptItem
from tests.sitting import assessment, write_tree

WRITTEN_KEY = "mini-written"
RUBRIC_TOP = {"a": 2, "b": 1, "c": 1}  # the written item's criteria at their top levels

WRITTEN_SECTION = {
    "title": "Written analysis",
    "draws": [{"bank": "mini", "statements": ["M1"], "count": 1, "types": ["written"]}],
}


def written_assessment(**overrides: Any) -> dict[str, Any]:
    base = assessment(WRITTEN_KEY, results={"release": "after_moderation", "review": True})
    base["sections"] = [*base["sections"], WRITTEN_SECTION]
    base.update(overrides)
    return base


def import_written(root: Path, **overrides: Any) -> None:
    report = import_tree(write_tree(root, [written_assessment(**overrides)]))
    db.session.commit()
    assert report.succeeded, report.run.errors


@dataclass
class World:
    organisation: Organisation
    colleague: User  # an assessor in the candidates' organisation: never their marker
    assessors: list[User]
    lead: User
    make_user: Callable[..., User]
    attempts: list[Attempt] = field(default_factory=list)

    def sit(
        self, answer: str | None = "A considered answer about the risk.", *, right: bool = False,
        **kwargs: Any,
    ) -> Attempt:  # fmt: skip
        """A new candidate of the organisation sits the written test and submits.

        Objective items get their first option, or with ``right`` their key.
        """
        candidate = self.make_user("candidate", organisation=self.organisation, **kwargs)
        delivery.enrol(candidate, WRITTEN_KEY, actor=None)
        attempt, _created = delivery.start_attempt(candidate, WRITTEN_KEY)
        for slot in db.session.scalars(select(AttemptItem).filter_by(attempt_id=attempt.id)):
            if slot.item_type == "written":
                if answer is not None:
                    delivery.save_answer(candidate, attempt.id, slot.position, answer, 1)
            elif right:
                delivery.save_answer(candidate, attempt.id, slot.position, _key(slot), 1)
            elif slot.option_order:
                delivery.save_answer(candidate, attempt.id, slot.position, _first(slot), 1)
        delivery.submit(candidate, attempt)
        db.session.commit()
        self.attempts.append(attempt)
        return attempt


def _key(slot: AttemptItem) -> Any:
    content = db.session.get(ItemVersion, slot.item_version_id).content  # type: ignore[union-attr]
    if slot.item_type == "text":
        return content["accepted"][0]
    if slot.item_type == "numeric":
        return str(content["key"])
    return content["key"]


def _first(slot: AttemptItem) -> Any:
    options = list(slot.option_order)
    if slot.item_type == "multiple":
        return options[: slot.answer_rules.get("select", 1)]
    if slot.item_type == "ordering":
        return options
    return options[0]


def make_world(make_user: Callable[..., User], make_org: Callable[..., Organisation]) -> World:
    organisation = make_org("CANDS", "Candidates' Council")
    colleague = make_user("assessor", organisation=organisation, name="Colleague Assessor")
    assessors = [make_user("assessor", name=f"Assessor {n}") for n in range(1, 4)]
    lead = make_user("assessor", name="Lead Assessor")
    lead.lead_assessor = True
    db.session.commit()
    return World(organisation, colleague, assessors, lead, make_user)


def script_of(attempt: Attempt) -> int:
    slot = db.session.scalar(
        select(AttemptItem).filter_by(attempt_id=attempt.id, item_type="written")
    )
    assert slot is not None
    return slot.id
