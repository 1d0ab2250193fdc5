"""Teams, development notes and the record of who opened whose history. Flushes only.

A leader acts within their own organisation; an administrator within any.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from accredit import audit, clock
from accredit.errors import DomainError, NotFound
from accredit.extensions import db
from accredit.models import Organisation, Role, User
from accredit.models.cohort import DevelopmentNote, HistoryView, Team

NOTE_MAX = 500
# Opening a history lasts this long: after it, the leader opens it again, and that is recorded.
VIEW_LASTS = timedelta(minutes=30)


class InvalidTeam(DomainError):
    code = "invalid_team"
    status = 422


class InvalidNote(DomainError):
    code = "invalid_note"
    status = 422


class NotYours(DomainError):
    code = "forbidden"
    status = 403


def leads(viewer: User, candidate: User) -> bool:
    """Whether the viewer is the candidate's practice leader (or an administrator)."""
    if Role(viewer.role) is Role.ADMIN:
        return True
    return (
        Role(viewer.role) is Role.LEADER and Role(candidate.role) is Role.CANDIDATE
        and viewer.organisation_id is not None
        and viewer.organisation_id == candidate.organisation_id
    )  # fmt: skip


def _ensure_manages(actor: User | None, organisation_id: int | None) -> None:
    if actor is None or Role(actor.role) is Role.ADMIN:
        return
    if Role(actor.role) is not Role.LEADER or actor.organisation_id != organisation_id:
        raise NotYours("Only the organisation's practice leaders (or an administrator) may do this")


def organisation_by_code(code: str) -> Organisation:
    found = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if found is None:
        raise NotFound(f"No organisation {code}")
    return found


def add_team(organisation: Organisation, name: str, *, actor: User | None) -> Team:
    _ensure_manages(actor, organisation.id)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise InvalidTeam("Give the team a name of up to 100 characters")
    if db.session.scalar(
        select(Team.id).where(Team.organisation_id == organisation.id, Team.name == name)
    ):
        raise InvalidTeam(f"{organisation.name} already has a team called {name}")
    team = Team(organisation_id=organisation.id, name=name, created_at=clock.now())
    db.session.add(team)
    db.session.flush()
    audit.record("team.added", actor=actor, subject_type="organisation",
                 subject_id=organisation.code, details={"team": team.id, "name": name})  # fmt: skip
    return team


def team_named(organisation: Organisation, name: str) -> Team:
    team = db.session.scalar(
        select(Team).where(Team.organisation_id == organisation.id, Team.name == name.strip())
    )
    if team is None:
        raise NotFound(f"{organisation.name} has no team called {name}")
    return team


def assign(candidate: User, team: Team | None, *, actor: User | None) -> None:
    """Put a candidate in a team of their own organisation (or in none)."""
    _ensure_manages(actor, candidate.organisation_id)
    if Role(candidate.role) is not Role.CANDIDATE:
        raise InvalidTeam("Only candidates belong to teams")
    if team is not None and team.organisation_id != candidate.organisation_id:
        raise InvalidTeam("A candidate joins a team of their own organisation")
    before = candidate.team_id
    candidate.team_id = team.id if team else None
    if before != candidate.team_id:
        audit.record("team.assigned", actor=actor, subject_type="user", subject_id=candidate.id,
                     details={"from": before, "to": candidate.team_id})  # fmt: skip


def add_note(candidate: User, statement: str, note: str, *, actor: User) -> DevelopmentNote:
    """A leader's development note against a statement; the candidate sees it."""
    if not leads(actor, candidate):
        raise NotYours("Only the candidate's practice leader may add a development note")
    note = note.strip()
    statement = statement.strip()
    if not note or len(note) > NOTE_MAX:
        raise InvalidNote(f"Write a note of up to {NOTE_MAX} characters")
    if not statement or len(statement) > 32:
        raise InvalidNote("Choose the statement the note is about")
    row = DevelopmentNote(candidate_id=candidate.id, author_id=actor.id, statement=statement,
                          note=note, created_at=clock.now())  # fmt: skip
    db.session.add(row)
    db.session.flush()
    audit.record("note.added", actor=actor, subject_type="user", subject_id=candidate.id,
                 details={"note": row.id, "statement": statement})  # fmt: skip
    return row


def notes_for(candidate: User) -> list[tuple[DevelopmentNote, str]]:
    """Every development note for the candidate, newest first, with its author's name."""
    return [
        (note, name)
        for note, name in db.session.execute(
            select(DevelopmentNote, User.name)
            .join(User, User.id == DevelopmentNote.author_id)
            .where(DevelopmentNote.candidate_id == candidate.id)
            .order_by(DevelopmentNote.created_at.desc(), DevelopmentNote.id.desc())
        ).all()
    ]


def open_history(candidate: User, *, viewer: User) -> HistoryView:
    """Record that a leader opened the candidate's history (the candidate sees the record)."""
    if not leads(viewer, candidate):
        raise NotFound("No such candidate")
    row = HistoryView(candidate_id=candidate.id, viewer_id=viewer.id, viewed_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def is_open(candidate: User, *, viewer: User) -> bool:
    """Whether the viewer opened this history within the last VIEW_LASTS (reads only)."""
    since = clock.now() - VIEW_LASTS
    return (
        db.session.scalar(
            select(HistoryView.id)
            .where(
                HistoryView.candidate_id == candidate.id, HistoryView.viewer_id == viewer.id,
                HistoryView.viewed_at >= since,
            )
            .limit(1)
        )
        is not None
    )  # fmt: skip


def views_of(candidate: User) -> list[tuple[HistoryView, str, str]]:
    """Who opened the candidate's history and when, newest first: viewer's name and role."""
    return [
        (view, name, role)
        for view, name, role in db.session.execute(
            select(HistoryView, User.name, User.role)
            .join(User, User.id == HistoryView.viewer_id)
            .where(HistoryView.candidate_id == candidate.id)
            .order_by(HistoryView.viewed_at.desc(), HistoryView.id.desc())
            .limit(100)
        ).all()
    ]
