"""The practice leader's picture of their organisation: statements met, the trend across
sitting windows, and who is due to sit or re-sit. Reads only, in a fixed number of queries
however large the organisation.

Cells are about development, not ranking: each says met, not yet met, or too few items to
judge, with the number of items it rests on. Aggregates over fewer than MIN_GROUP candidates
are held back, so no one can work out an individual from a summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from accredit import clock
from accredit.catalogue.queries import spec_of
from accredit.extensions import db
from accredit.models import (
    Assessment,
    AssessmentVersion,
    Enrolment,
    Framework,
    FrameworkVersion,
    Organisation,
    Role,
    Statement,
    User,
)
from accredit.models.cohort import Team
from accredit.models.delivery import Attempt
from accredit.models.results import Result

# Fewer candidates than this in an aggregate, and it is not shown.
MIN_GROUP = 5
# A statement resting on fewer items than this on a form is too few to judge (as the item
# analysis's sub-score rule has it).
MIN_ITEMS = 4
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Cell:
    state: str  # met, not_met, too_few
    items: int

    @property
    def label(self) -> str:
        return {"met": "Met", "not_met": "Not yet met", "too_few": "Too few items"}[self.state]


@dataclass(frozen=True)
class Share:
    """A share of candidates meeting a statement, or None when the group is too small."""

    judged: int
    met: int

    @property
    def suppressed(self) -> bool:
        return self.judged < MIN_GROUP

    @property
    def percent(self) -> float | None:
        return None if self.suppressed else 100.0 * self.met / self.judged


@dataclass(frozen=True)
class Standing:
    """One enrolment on an accreditation assessment: where the candidate is with it."""

    candidate_id: int
    name: str
    team: str | None
    assessment: str
    status: str  # not_started, sitting, awaiting_result, passed, not_passed
    attempts: int
    resit_from: datetime | None = None
    no_attempts_left: bool = False
    # The enrolment's window closes before a re-sit would be allowed.
    window_closed: bool = False

    @property
    def label(self) -> str:
        return {
            "not_started": "Enrolled, not started", "sitting": "Sitting now",
            "awaiting_result": "Awaiting result", "passed": "Passed", "not_passed": "Not passed",
        }[self.status]  # fmt: skip


@dataclass
class CohortView:
    organisation: Organisation | None
    frameworks: list[tuple[str, str]]
    framework: str | None
    teams: list[Team]
    team: int | None
    statements: list[tuple[str, str]]
    # Candidates with a released accreditation result on the framework, in name order.
    people: list[tuple[int, str, str | None]]
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    latest_at: dict[int, datetime] = field(default_factory=dict)
    windows: list[str] = field(default_factory=list)
    trend: dict[str, list[Share]] = field(default_factory=dict)
    overall: dict[str, Share] = field(default_factory=dict)
    standings: list[Standing] = field(default_factory=list)
    candidates: int = 0

    @property
    def suppressed_any(self) -> bool:
        shares = [*self.overall.values(), *(s for row in self.trend.values() for s in row)]
        return any(share.suppressed for share in shares)


def window_of(moment: datetime) -> tuple[int, int]:
    """The sitting window (a quarter of the year, UK time) a moment falls in."""
    local = moment.astimezone(UK)
    return local.year, (local.month - 1) // 3


QUARTERS = ("January to March", "April to June", "July to September", "October to December")


def window_label(window: tuple[int, int]) -> str:
    return f"{QUARTERS[window[1]]} {window[0]}"


def _cell(entry: dict[str, Any]) -> Cell:
    items = int(entry.get("items", 0))
    if items < MIN_ITEMS or not entry.get("possible"):
        return Cell("too_few", items)
    return Cell("met" if entry.get("met") else "not_met", items)


def cohort(
    organisation: Organisation | None, *, framework: str | None = None, team: int | None = None
) -> CohortView:
    """The cohort view of one organisation, optionally of one framework and one team."""
    if organisation is None:
        return CohortView(None, [], None, [], None, [], [])
    teams = list(
        db.session.scalars(
            select(Team).where(Team.organisation_id == organisation.id).order_by(Team.name)
        )
    )
    team_names = {t.id: t.name for t in teams}
    if team is not None and team not in team_names:
        team = None
    people_query = select(User.id, User.name, User.team_id).where(
        User.organisation_id == organisation.id, User.role == Role.CANDIDATE.value,
        User.active.is_(True),
    )  # fmt: skip
    if team is not None:
        people_query = people_query.where(User.team_id == team)
    everyone = {
        pid: (name, team_names.get(team_id) if team_id is not None else None)
        for pid, name, team_id in db.session.execute(people_query.order_by(User.name, User.id))
    }

    # Every released accreditation result of the organisation's candidates, oldest first.
    released = db.session.execute(
        select(Attempt.candidate_id, Attempt.submitted_at, Framework.key, FrameworkVersion.id,
               Result.profile)
        .join(Result, Result.attempt_id == Attempt.id)
        .join(User, User.id == Attempt.candidate_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(FrameworkVersion, FrameworkVersion.id == AssessmentVersion.framework_version_id)
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(
            User.organisation_id == organisation.id, Result.released_at.is_not(None),
            AssessmentVersion.mode == "accreditation", Result.status == "scored",
        )
        .order_by(Attempt.submitted_at, Attempt.id)
    ).all()  # fmt: skip
    frameworks_found = sorted({row[2] for row in released})
    titles = dict(
        db.session.execute(
            select(Framework.key, FrameworkVersion.title)
            .join(FrameworkVersion, FrameworkVersion.framework_id == Framework.id)
            .where(Framework.key.in_(frameworks_found))
        ).all()
    )
    if framework not in frameworks_found:
        framework = frameworks_found[0] if frameworks_found else None
    mine = [row for row in released if row[2] == framework and row[0] in everyone]
    view = CohortView(
        organisation, [(key, titles.get(key, key)) for key in frameworks_found], framework,
        teams, team, _statements({row[3] for row in mine}), [],
    )  # fmt: skip
    view.candidates = len(everyone)
    _fill_heat_and_trend(view, mine, everyone)
    view.standings = _standings(organisation, everyone)
    return view


def _statements(version_ids: set[int]) -> list[tuple[str, str]]:
    if not version_ids:
        return []
    found: dict[str, tuple[int, str]] = {}
    for key, number, title in db.session.execute(
        select(Statement.key, Statement.number, Statement.title).where(
            Statement.framework_version_id.in_(version_ids)
        )
    ):
        found.setdefault(key, (number, title))
    return [(key, title) for key, (_n, title) in sorted(found.items(), key=lambda kv: kv[1][0])]


def _fill_heat_and_trend(
    view: CohortView, rows: list[Any], everyone: dict[int, tuple[str, str | None]]
) -> None:
    latest: dict[int, tuple[datetime, list[dict[str, Any]]]] = {}
    by_window: dict[tuple[int, int], dict[int, list[dict[str, Any]]]] = defaultdict(dict)
    for candidate, submitted, _framework, _version, profile in rows:
        latest[candidate] = (submitted, profile)  # oldest first, so the last one wins
        by_window[window_of(submitted)][candidate] = profile
    view.people = [(pid, *everyone[pid]) for pid in everyone if pid in latest]
    for pid, (submitted, profile) in latest.items():
        view.latest_at[pid] = submitted
        for entry in profile:
            view.cells[(pid, entry["statement"])] = _cell(entry)
    keys = [key for key, _title in view.statements]
    view.overall = {key: _share(view.cells.get((pid, key)) for pid in latest) for key in keys}
    windows = sorted(by_window)
    view.windows = [window_label(w) for w in windows]
    for key in keys:
        view.trend[key] = [
            _share(
                next((_cell(e) for e in profile if e["statement"] == key), None)
                for profile in by_window[w].values()
            )
            for w in windows
        ]


def _share(cells: Iterable[Cell | None]) -> Share:
    judged = [cell for cell in cells if cell is not None and cell.state != "too_few"]
    return Share(len(judged), sum(1 for cell in judged if cell.state == "met"))


def _standings(
    organisation: Organisation, everyone: dict[int, tuple[str, str | None]]
) -> list[Standing]:
    """Each accreditation enrolment of the organisation's candidates, and where it stands."""
    now = clock.now()
    rows = db.session.execute(
        select(Enrolment.id, Enrolment.candidate_id, Assessment.key, AssessmentVersion.id,
               Attempt.submitted_at, Attempt.deadline_at, Result.released_at, Result.passed,
               Enrolment.closes_at)
        .join(User, User.id == Enrolment.candidate_id)
        .join(Assessment, Assessment.id == Enrolment.assessment_id)
        .join(AssessmentVersion, (AssessmentVersion.assessment_id == Assessment.id)
              & (AssessmentVersion.version == Assessment.current_version))
        .outerjoin(Attempt, Attempt.enrolment_id == Enrolment.id)
        .outerjoin(Result, Result.attempt_id == Attempt.id)
        .where(User.organisation_id == organisation.id, AssessmentVersion.mode == "accreditation")
        .order_by(Enrolment.id, Attempt.number)
    ).all()  # fmt: skip
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    # Each assessment version read once (its blueprint is a large document).
    versions = {
        version.id: version
        for version in db.session.scalars(
            select(AssessmentVersion).where(AssessmentVersion.id.in_({row[3] for row in rows}))
        )
    }
    standings = []
    for group in grouped.values():
        candidate, version = group[0][1], versions[group[0][3]]
        if candidate not in everyone:
            continue
        name, team = everyone[candidate]
        spec = spec_of(version)
        attempts = [row for row in group if row[4] is not None or row[5] is not None]
        closes = group[0][8] or (spec.window.closes if spec.window else None)
        standings.append(_standing(candidate, name, team, spec.title, spec, attempts, now, closes))
    standings.sort(key=lambda s: (s.name, s.assessment))
    return standings


def _standing(
    candidate: int, name: str, team: str | None, title: str, spec: Any, attempts: list[Any],
    now: datetime, closes: datetime | None,
) -> Standing:  # fmt: skip
    base = Standing(candidate, name, team, title, "not_started", len(attempts))
    if not attempts:
        return base
    last = attempts[-1]
    submitted, deadline, released_at, passed = last[4], last[5], last[6], last[7]
    if submitted is None and (deadline is None or deadline > now):
        return replace(base, status="sitting")  # untimed, or still within its time
    if released_at is None:
        return replace(base, status="awaiting_result")
    if passed:
        return replace(base, status="passed")
    policy = spec.attempts
    if policy.max_attempts is not None and len(attempts) >= policy.max_attempts:
        return replace(base, status="not_passed", no_attempts_left=True)
    ended = submitted or deadline
    resit = ended + timedelta(days=policy.cool_off_days) if ended is not None else None
    if resit is not None and closes is not None and resit > closes:
        return replace(base, status="not_passed", window_closed=True)
    return replace(base, status="not_passed", resit_from=resit)
