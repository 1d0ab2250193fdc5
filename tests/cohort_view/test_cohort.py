"""The leader's cohort view: their organisation only, statements met, shares held back under
five people, who is due to sit or re-sit, teams, and a CSV safe for spreadsheets."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import time_machine

from accredit import clock
from accredit.cohort import queries, service
from accredit.delivery import service as delivery
from accredit.extensions import db
from accredit.models import User
from tests.cohort import KEY, import_cohort, sit_cohort
from tests.conftest import Auth


@pytest.fixture
def two_councils(db, tmp_path, make_user, make_org):
    """Six candidates of Northhaven (two teams) and three of Westdale sit the cohort test."""
    import_cohort(tmp_path, attempts={"max_attempts": 2, "cool_off_days": 28})
    north, west = make_org("NHC", "Northhaven"), make_org("WDC", "Westdale")
    sit_cohort(lambda role: make_user(role, organisation=north), 6, seed=3)
    sit_cohort(lambda role: make_user(role, organisation=west), 3, seed=4)
    leader = make_user("leader", organisation=north, name="Jo Leader")
    other = make_user("leader", organisation=west, name="Wes Leader")
    return north, west, leader, other


def names(view):
    return {name for _pid, name, _team in view.people}


def test_a_leader_sees_their_own_organisation_only(two_councils):
    north, west, _leader, _other = two_councils
    mine, theirs = queries.cohort(north), queries.cohort(west)
    assert len(mine.people) == 6
    assert len(theirs.people) == 3
    assert names(mine).isdisjoint(names(theirs))
    assert [key for key, _t in mine.statements] == ["M1", "M2"]
    for pid, _name, _team in mine.people:
        for key in ("M1", "M2"):
            cell = mine.cells[(pid, key)]
            assert cell.state in ("met", "not_met")
            assert cell.items == 6


def test_shares_of_fewer_than_five_are_held_back(two_councils, make_user):
    north, west, *_ = two_councils
    assert all(not share.suppressed for share in queries.cohort(north).overall.values())
    assert all(share.suppressed for share in queries.cohort(west).overall.values())
    assert queries.cohort(west).suppressed_any
    # Exactly the boundary: four people are held back, five are shown.
    assert queries.Share(4, 2).suppressed
    assert queries.Share(4, 2).percent is None
    assert queries.Share(5, 2).percent == 40.0


def test_teams_filter_the_view(two_councils):
    north, _west, leader, _other = two_councils
    team = service.add_team(north, "Court team", actor=leader)
    people = db.session.scalars(
        db.select(User).filter_by(organisation_id=north.id, role="candidate").order_by(User.id)
    ).all()
    for person in people[:2]:
        service.assign(person, team, actor=leader)
    db.session.commit()
    view = queries.cohort(north, team=team.id)
    assert names(view) == {p.name for p in people[:2]}
    assert all(share.suppressed for share in view.overall.values()), "two people: held back"
    with pytest.raises(service.InvalidTeam):
        service.add_team(north, "Court team", actor=leader)


def test_a_leader_cannot_manage_another_organisations_teams(two_councils):
    north, west, _leader, other = two_councils
    with pytest.raises(service.NotYours):
        service.add_team(north, "Intruders", actor=other)
    team = service.add_team(west, "West team", actor=other)
    person = db.session.scalar(
        db.select(User).filter_by(organisation_id=north.id, role="candidate")
    )
    with pytest.raises(service.NotYours):
        service.assign(person, team, actor=other)


def test_who_is_due_to_sit_or_re_sit(two_councils, make_user):
    north, *_ = two_councils
    newcomer = make_user("candidate", organisation=north, name="Nia New")
    delivery.enrol(newcomer, KEY, actor=None)
    db.session.commit()
    view = queries.cohort(north)
    by_name = {s.name: s for s in view.standings}
    assert by_name["Nia New"].status == "not_started"
    failed = [s for s in view.standings if s.status == "not_passed"]
    passed = [s for s in view.standings if s.status == "passed"]
    assert failed
    assert passed
    for standing in failed:
        assert standing.resit_from is not None
        assert standing.resit_from - clock.now() > timedelta(days=27)


def test_the_page_and_the_csv_hold_only_the_leaders_organisation(app, two_councils):
    _north, west, leader, _other = two_councils
    west_names = {
        p.name for p in db.session.scalars(db.select(User).filter_by(organisation_id=west.id))
    }
    client = app.test_client()
    Auth(client).login(leader.email)
    page = client.get("/leader/").get_data(as_text=True)
    assert "Statements, person by person" in page
    assert "Who is due to sit or re-sit" in page
    assert "Met" in page
    response = client.get("/leader/cohort.csv")
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["candidate", "team", "latest_result", "M1", "M2"]
    for name in west_names:
        assert name not in page
        assert name not in text
    # An administrator may choose the organisation; a leader may not.
    assert "Westdale" not in client.get("/leader/?organisation=WDC").get_data(as_text=True)


def test_a_name_that_looks_like_a_formula_is_neutralised_in_the_csv(app, two_councils, db):
    north, _west, leader, _other = two_councils
    person = db.session.scalar(
        db.select(User).filter_by(organisation_id=north.id, role="candidate")
    )
    person.name = '=HYPERLINK("http://x","y")'
    db.session.commit()
    client = app.test_client()
    Auth(client).login(leader.email)
    rows = list(csv.reader(io.StringIO(client.get("/leader/cohort.csv").get_data(as_text=True))))
    assert any(row and row[0] == "'" + person.name for row in rows)


def test_opening_a_history_is_recorded_and_the_candidate_sees_it(app, two_councils, db):
    north, _west, leader, _other = two_councils
    person = db.session.scalar(
        db.select(User).filter_by(organisation_id=north.id, role="candidate")
    )
    client = app.test_client()
    Auth(client).login(leader.email)
    closed = client.get(f"/leader/candidates/{person.id}").get_data(as_text=True)
    assert "Open the history" in closed
    assert "Assessment history" not in closed
    assert service.views_of(person) == [], "looking at the button records nothing"
    opened = client.post(f"/leader/candidates/{person.id}/open")
    assert opened.status_code == 303
    page = client.get(f"/leader/candidates/{person.id}").get_data(as_text=True)
    assert "Assessment history" in page
    [(_view, name, role)] = service.views_of(person)
    assert (name, role) == ("Jo Leader", "leader")
    with time_machine.travel(clock.now() + timedelta(minutes=31)):
        again = client.get(f"/leader/candidates/{person.id}").get_data(as_text=True)
        assert "Open the history" in again, "a history stays open for 30 minutes"


def test_a_development_note_is_added_and_kept(app, two_councils, db):
    north, _west, leader, other = two_councils
    person = db.session.scalar(
        db.select(User).filter_by(organisation_id=north.id, role="candidate")
    )
    client = app.test_client()
    Auth(client).login(leader.email)
    client.post(f"/leader/candidates/{person.id}/open")
    added = client.post(
        f"/leader/candidates/{person.id}/notes",
        data={"statement": "M1", "note": "Shadowing the court team in March"},
    )
    assert added.status_code == 303
    [(note, author)] = service.notes_for(person)
    assert (note.statement, note.note, author) == ("M1", "Shadowing the court team in March",
                                                   "Jo Leader")  # fmt: skip
    empty = client.post(f"/leader/candidates/{person.id}/notes", data={"statement": "M1"})
    assert empty.status_code == 422
    with pytest.raises(service.NotYours):
        service.add_note(person, "M1", "From the wrong council", actor=other)


def test_another_organisations_candidate_is_not_found(app, two_councils, db):
    _north, west, leader, _other = two_councils
    stranger = db.session.scalar(
        db.select(User).filter_by(organisation_id=west.id, role="candidate")
    )
    client = app.test_client()
    Auth(client).login(leader.email)
    assert client.get(f"/leader/candidates/{stranger.id}").status_code == 404
    assert client.post(f"/leader/candidates/{stranger.id}/open").status_code == 404
    assert service.views_of(stranger) == []


def test_the_leader_opens_each_released_result_but_no_item_or_key(app, two_councils, db):
    from accredit.models.delivery import Attempt

    north, _west, leader, _other = two_councils
    person = db.session.scalar(
        db.select(User).filter_by(organisation_id=north.id, role="candidate")
    )
    attempt = db.session.scalar(db.select(Attempt).filter_by(candidate_id=person.id))
    client = app.test_client()
    Auth(client).login(leader.email)
    url = f"/leader/candidates/{person.id}/results/{attempt.id}"
    assert "Open the history" in client.get(url).get_data(as_text=True), "opened first"
    client.post(f"/leader/candidates/{person.id}/open")
    history = client.get(f"/leader/candidates/{person.id}").get_data(as_text=True)
    assert url in history, "the history links to the released result"
    page = client.get(url).get_data(as_text=True)
    assert "Statement by statement" in page
    assert "Stem of" not in page
    assert "Why co-" not in page
    assert "Option " not in page
    assert client.get(f"/leader/candidates/{person.id}/results/999999").status_code == 404
