"""Enrolling candidates and setting extra time, by admins and by leaders for their own organisation."""

from __future__ import annotations

import re

from sqlalchemy import select

from accredit.models import AuditEvent
from accredit.models.delivery import Enrolment


def test_leader_enrols_their_own_candidate_with_extra_time(
    db, client, auth, make_user, make_org, catalogue
):
    home = make_org()
    leader = make_user("leader", organisation=home)
    ours = make_user("candidate", organisation=home, name="Ours Person")
    make_user("candidate", name="Theirs Person")
    auth.login(leader.email)
    page = client.get("/enrolments/new").get_data(as_text=True)
    assert "Ours Person" in page
    assert "Theirs Person" not in page
    response = client.post(
        "/enrolments/new",
        data={"candidate": str(ours.id), "assessment": "mini-test", "extra_kind": "percent",
              "extra_amount": "25", "reason": "Dyslexia: assessed need", "opens": "", "closes": ""},
    )  # fmt: skip
    assert response.status_code == 302
    enrolment = db.session.scalar(select(Enrolment))
    assert (enrolment.candidate_id, enrolment.extra_time_percent) == (ours.id, 25)
    event = db.session.scalar(select(AuditEvent).filter_by(action="enrolment.adjusted"))
    assert event.actor_id == leader.id
    assert event.details["reason"] == "Dyslexia: assessed need"


def test_extra_time_without_a_reason_is_refused(db, client, auth, make_user, catalogue):
    admin = make_user("admin")
    person = make_user("candidate")
    auth.login(admin.email)
    response = client.post(
        "/enrolments/new",
        data={"candidate": str(person.id), "assessment": "mini-test", "extra_kind": "minutes",
              "extra_amount": "15", "reason": ""},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Give the reason for the extra time" in response.get_data(as_text=True)
    assert db.session.scalar(select(Enrolment)) is None, "nothing half-saved"


def test_leader_cannot_reach_another_organisations_enrolment(db, client, auth, make_user, enrol):
    leader = make_user("leader")
    stranger = make_user("candidate")
    enrolment = enrol(stranger)
    auth.login(leader.email)
    assert client.get(f"/enrolments/{enrolment.id}").status_code == 404
    forged = client.post(
        "/enrolments/new", data={"candidate": str(stranger.id), "assessment": "mini-test"}
    )
    assert forged.status_code == 200, "a candidate outside the list is not a valid choice"
    assert "Not a valid choice" in forged.get_data(as_text=True)


def test_window_times_are_uk_local(db, client, auth, make_user, enrol):
    admin = make_user("admin")
    person = make_user("candidate")
    enrolment = enrol(person)
    auth.login(admin.email)
    response = client.post(
        f"/enrolments/{enrolment.id}",
        data={"opens": "01/07/2027 09:00", "closes": "31/07/2027 17:00", "extra_kind": "none"},
    )
    assert response.status_code == 302
    db.session.refresh(enrolment)
    assert enrolment.opens_at.isoformat() == "2027-07-01T08:00:00+00:00", "BST is UTC+1"
    bad = client.post(
        f"/enrolments/{enrolment.id}", data={"opens": "next Tuesday", "extra_kind": "none"}
    )
    assert re.search(
        r"Enter window opens \(optional\) like 27/03/2027 09:00", bad.get_data(as_text=True)
    )
