"""The marking commands: status counts each state, allocate fills gaps and is idempotent,
and lead assessors are made and unmade on the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accredit.marking import service as marking
from accredit.models import AuditEvent, User
from tests.marking_world import World, import_written, make_world, script_of


@pytest.fixture
def world(db, tmp_path, make_user, make_org) -> World:
    import_written(tmp_path)
    return make_world(make_user, make_org)


def line(output: str, label: str) -> int:
    found = [row for row in output.splitlines() if row.strip().startswith(label)]
    assert found, (label, output)
    return int(found[0].split()[-1])


def test_status_counts_each_state_and_allocate_fills_gaps_once(db, runner, world):
    for assessor in world.assessors:
        assessor.active = False
    db.session.commit()
    world.sit()
    world.sit(answer=None)
    before = runner.invoke(args=["marking", "status", "--assessment", "mini-written"])
    assert before.exit_code == 0, before.output
    assert line(before.output, "unallocated") == 1
    assert line(before.output, "awaiting first") == 1
    # The blank answer is agreed at 0; its result, a fail with a written answer, is moderated.
    assert line(before.output, "in moderation") == 1

    for assessor in world.assessors:
        assessor.active = True
    db.session.commit()
    first = runner.invoke(args=["marking", "allocate", "--assessment", "mini-written"])
    again = runner.invoke(args=["marking", "allocate"])

    assert "Made 2 allocations; 0 scripts still lack a marker." in first.output
    assert "Made 0 allocations" in again.output
    after = runner.invoke(args=["marking", "status"])
    assert line(after.output, "unallocated") == 0
    assert line(after.output, "awaiting marks") == 1


def test_users_lead_makes_and_unmakes_a_lead_assessor(db, runner, world):
    email = world.assessors[0].email

    made = runner.invoke(args=["users", "lead", email])
    unmade = runner.invoke(args=["users", "lead", email, "--off"])
    refused = runner.invoke(args=["users", "lead", "nobody@example.org"])

    assert made.exit_code == 0
    assert "a lead assessor" in made.output
    assert "an ordinary assessor" in unmade.output
    assert refused.exit_code == 1
    assert db.session.scalar(select(User.lead_assessor).filter_by(email=email)) is False
    events = db.session.scalars(
        select(AuditEvent).filter_by(action="user.lead_assessor").order_by(AuditEvent.seq)
    ).all()
    assert [e.details["lead_assessor"] for e in events] == [True, False]


def test_only_an_assessor_can_be_made_a_lead(db, runner, make_user):
    leader = make_user("leader")

    refused = runner.invoke(args=["users", "lead", leader.email])

    assert refused.exit_code == 1
    assert "Only an assessor" in refused.output


def test_the_sweep_allocates_what_submission_could_not(db, runner, world):
    for assessor in world.assessors:
        assessor.active = False
    db.session.commit()
    script_id = script_of(world.sit())
    for assessor in world.assessors:
        assessor.active = True
    db.session.commit()

    swept = runner.invoke(args=["attempts", "sweep"])

    assert swept.exit_code == 0, swept.output
    assert "Made 2 marking allocations." in swept.output
    assert set(marking.script(script_id).allocations) == {"first", "second"}


def test_an_administrator_makes_a_lead_assessor_on_the_users_page(app, db, world, make_user):
    from tests.conftest import Auth

    admin = make_user("admin")
    client = app.test_client()
    Auth(client).login(admin.email)
    person = world.assessors[0]

    page = client.get("/admin/users").get_data(as_text=True)
    made = client.post(f"/admin/users/{person.id}/lead", data={"lead": "yes"})

    assert "Make lead assessor" in page
    assert made.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, person.id).lead_assessor is True
    assert "Make ordinary assessor" in client.get("/admin/users").get_data(as_text=True)
