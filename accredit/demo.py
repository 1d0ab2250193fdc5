"""Demonstration history for `demo`: a council's staff who sat the practitioner test in three
past windows, marked blind and twice, moderated, signed off and released, in teams.

Everything goes through the real services (delivery, scoring, marking, moderation, item
analysis, release), each step staged at its past time, so every result can be explained,
recomputed and audited like any other. Only the demo command calls this.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from accredit import clock
from accredit.accounts import service as accounts
from accredit.analysis import service as analysis
from accredit.cohort import service as cohort
from accredit.delivery import service as delivery
from accredit.extensions import db
from accredit.marking import service as marking
from accredit.models import Assessment, ItemVersion, Organisation, User
from accredit.models.delivery import Attempt, AttemptItem

ASSESSMENT = "kssp-accreditation"
ORGANISATION = "NHC"
TEAMS = ("Assessment and intervention", "Children in care")
# Three past sitting windows, a quarter apart (the test's cool-off is 90 days).
WINDOWS = (
    datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
    datetime(2026, 6, 9, 9, 0, tzinfo=UTC),
    datetime(2026, 9, 8, 9, 0, tzinfo=UTC),
)
# Staff of the council, the window each first sits in, and how much of the test they know.
STAFF = [
    ("Aisha Khan", 0, 0.85), ("Ben Carter", 0, 0.55), ("Chloe Evans", 0, 0.75),
    ("Daniel Hughes", 0, 0.45), ("Ella Morris", 0, 0.9), ("Femi Adebayo", 0, 0.65),
    ("Grace Lewis", 1, 0.7), ("Harry Walsh", 1, 0.5), ("Imogen Price", 1, 0.8),
    ("Jack Turner", 1, 0.6), ("Kemi Okoro", 1, 0.88), ("Liam Foster", 2, 0.72),
    ("Maya Patel", 2, 0.52), ("Noah Griffiths", 2, 0.83), ("Olivia Ward", 2, 0.66),
    ("Priya Shah", 2, 0.78),
]  # fmt: skip
WRITTEN = (
    "The information suggests the baby's care may be affected by his mother's low mood and "
    "by controlling behaviour from his father. I would see the mother alone, check the baby's "
    "health and immunisations with the health visitor, and agree a safety plan with her."
)


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@northhaven.example.org"


def stage(lead_email: str, echo: Any = print) -> None:
    """Stage the council's history, once: nothing is done if its staff already exist."""
    organisation = db.session.scalar(select(Organisation).filter_by(code=ORGANISATION))
    assessment = db.session.scalar(select(Assessment).filter_by(key=ASSESSMENT, status="active"))
    lead = db.session.scalar(select(User).filter_by(email=lead_email))
    if organisation is None or assessment is None or lead is None:
        return
    if db.session.scalar(select(User).filter_by(email=_email(STAFF[0][0]))) is not None:
        return
    rng = random.Random(2026)  # noqa: S311 (the same demonstration every time, not a secret)
    with clock.staged_at(WINDOWS[0] - timedelta(days=30)):
        teams = [cohort.add_team(organisation, name, actor=None) for name in TEAMS]
        staff = []
        for n, (name, first, ability) in enumerate(STAFF):
            person = accounts.add_user(
                _email(name), role="candidate", password=secrets.token_urlsafe(24), name=name,
                organisation_code=ORGANISATION, swe_registration_number=f"SW{110000 + n * 37}",
            )  # fmt: skip
            cohort.assign(person, teams[n % 2], actor=None)
            delivery.enrol(person, ASSESSMENT, actor=None)
            staff.append((person, first, ability))
        db.session.commit()
    for window, start in enumerate(WINDOWS):
        sitting = [
            (person, ability) for person, first, ability in staff
            if first <= window and _due(person)
        ]  # fmt: skip
        attempts = [_sit(person, ability, start, n, rng) for n, (person, ability) in
                    enumerate(sitting)]  # fmt: skip
        with clock.staged_at(start + timedelta(days=3)):
            for attempt, ability in zip(attempts, [a for _p, a in sitting], strict=True):
                _mark(attempt, ability)
            db.session.commit()
        with clock.staged_at(start + timedelta(days=6)):
            _moderate_and_release(lead)
        echo(f"  Staged the {start:%B %Y} sitting: {len(attempts)} of Northhaven's staff")


def _due(person: User) -> bool:
    """Whether the person still needs to pass, and has attempts left."""
    latest = db.session.scalar(
        select(Attempt).where(Attempt.candidate_id == person.id).order_by(Attempt.id.desc())
    )
    if latest is None:
        return True
    from accredit.models.results import Result

    result = db.session.scalar(select(Result).filter_by(attempt_id=latest.id))
    return result is not None and result.passed is False and latest.number < 3


def _sit(person: User, ability: float, start: datetime, n: int, rng: random.Random) -> Attempt:
    begins = start + timedelta(minutes=2 * n)
    with clock.staged_at(begins):
        attempt, _created = delivery.start_attempt(person, ASSESSMENT)
        db.session.commit()
    with clock.staged_at(begins + timedelta(minutes=40)):
        for slot in db.session.scalars(select(AttemptItem).filter_by(attempt_id=attempt.id)):
            answer = _answer(slot, rng.random() < ability * 0.8)
            if answer is not None:
                delivery.save_answer(person, attempt.id, slot.position, answer, 1)
        db.session.commit()
    with clock.staged_at(begins + timedelta(minutes=70)):
        delivery.submit(person, attempt)
        db.session.commit()
    return attempt


def _answer(slot: AttemptItem, right: bool) -> Any:
    if slot.item_type == "written":
        return WRITTEN
    content = db.session.get_one(ItemVersion, slot.item_version_id).content
    if right:
        if slot.item_type == "text":
            return content["accepted"][0]
        if slot.item_type == "numeric":
            return str(content["key"])
        return content["key"]
    options = list(slot.option_order)
    if slot.item_type == "multiple":
        return options[-slot.answer_rules.get("select", 1) :]
    if slot.item_type == "ordering":
        return list(reversed(options))
    if slot.item_type in ("text", "numeric"):
        return "0"
    return options[-1]


def _mark(attempt: Attempt, ability: float) -> None:
    """Both markers give the levels the answer earns: one step below the top for most."""
    for fact in marking.gather(attempt_ids=[attempt.id]):
        if fact.agreed is not None:
            continue
        rubric = fact.version.content["rubric"]
        criteria = {c["id"]: max(0, c["marks"] - (1 if ability < 0.8 else 0)) for c in rubric}
        for round_name in ("first", "second"):
            allocation = fact.allocations.get(round_name)
            if allocation is not None:
                marker = db.session.get_one(User, allocation.marker_id)
                marking.mark_script(fact.id, marker, criteria)


def _moderate_and_release(lead: User) -> None:
    for fact in marking.result_facts(ASSESSMENT):
        if fact.stage == "in_moderation":
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    if any(fact.stage == "agreed" for fact in marking.result_facts(ASSESSMENT)):
        marking.draw_sample(ASSESSMENT, actor=lead)
    for fact in marking.result_facts(ASSESSMENT):
        if fact.stage in ("in_moderation", "agreed"):
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=lead)
    db.session.commit()
    analysis.sign_off(ASSESSMENT, actor=lead, note="Reviewed with the moderation sample")
    db.session.commit()
    marking.release(ASSESSMENT, actor=lead, reason="The sitting window's results")
    db.session.commit()
