"""Teams on the command line, and export tokens issued and revoked there."""

from __future__ import annotations

from accredit.exports import tokens
from accredit.extensions import db
from accredit.models import User
from accredit.models.cohort import Team


def test_teams_are_added_and_candidates_assigned(runner, make_user, make_org):
    north = make_org("NHC", "Northhaven")
    person = make_user("candidate", organisation=north, email="ana@example.org")
    added = runner.invoke(args=["teams", "add", "--org", "NHC", "Children in care"])
    assert added.exit_code == 0, added.output
    team = db.session.scalar(db.select(Team).filter_by(name="Children in care"))
    assert team is not None

    assigned = runner.invoke(args=["teams", "assign", "ana@example.org", "Children in care"])
    assert assigned.exit_code == 0, assigned.output
    assert db.session.get(User, person.id).team_id == team.id
    assert runner.invoke(args=["teams", "assign", "ana@example.org", "--none"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, person.id).team_id is None

    again = runner.invoke(args=["teams", "add", "--org", "NHC", "Children in care"])
    assert again.exit_code == 1
    assert "already has a team called Children in care" in again.output
    unknown = runner.invoke(args=["teams", "assign", "ana@example.org", "Nowhere"])
    assert unknown.exit_code == 1
    assert "no team called Nowhere" in unknown.output


def test_a_token_is_printed_once_and_revoked(runner, make_user):
    regulator = make_user("regulator", email="reg@example.org")
    made = runner.invoke(args=["exports", "token", "--email", "reg@example.org", "--name", "Load"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert tokens.holder_of(token).id == regulator.id
    [row] = tokens.tokens_of(regulator)
    assert runner.invoke(args=["exports", "revoke-token", str(row.id)]).exit_code == 0
    assert tokens.holder_of(token) is None
    refused = runner.invoke(args=["exports", "token", "--email", "nobody@example.org",
                                  "--name", "Load"])  # fmt: skip
    assert refused.exit_code == 1
