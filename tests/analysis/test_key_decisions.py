"""Key decisions: a dry run names exactly whose outcome flips; committing changes exactly
those results, each with the decision's reason; voiding removes the item from score, maximum
and cut; nothing is edited and recompute agrees afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accredit import audit
from accredit import worker as tasks
from accredit.analysis import keys
from accredit.errors import NotFound
from accredit.models import AuditEvent, ItemVersion
from accredit.models.delivery import Response
from accredit.models.results import KeyDecision, Result, ResultRevision, ScoredPosition
from accredit.results import service as results
from tests.cohort import KEY, MISKEYED, import_cohort, sit_cohort


def decide(proposal, actor=None):
    """Record a decision and rescore as the worker does."""
    from accredit.extensions import db

    decision, preview, job = keys.commit(proposal, actor=actor)
    db.session.commit()
    tasks.run_rescore(job.id)
    return decision, preview


@pytest.fixture
def cohort(db, tmp_path, make_user):
    import_cohort(tmp_path)
    return sit_cohort(make_user, 60)


def stored(db):
    return {
        row.attempt_id: (row.raw, row.maximum, row.cut, row.passed, row.revision)
        for row in db.session.scalars(select(Result))
    }


def test_rekeying_the_miskeyed_item_changes_exactly_the_dry_runs_results(db, cohort, runner):
    before = stored(db)
    responses_before = db.session.scalar(select(func.count()).select_from(Response))
    versions_before = [v.content["key"] for v in db.session.scalars(select(ItemVersion))]

    shown = runner.invoke(
        args=["keys", "decide", "--assessment", KEY, "--item", MISKEYED, "--decision", "rekey",
              "--key", "b", "--reason", "The key was a distractor", "--dry-run"]
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "Dry run: nothing was changed." in shown.output
    assert stored(db) == before
    preview = keys.dry_run(keys.propose(KEY, MISKEYED, "rekey", key="b", reason="x"))
    assert preview.affected == 60
    # Strong candidates chose b and were marked down for it; weak ones who guessed a gain.
    assert preview.pass_to_fail + preview.fail_to_pass > 0
    assert f"{preview.pass_to_fail} pass to fail, {preview.fail_to_pass} fail to pass" in (
        shown.output
    )
    flipped = {c.attempt_id for c in preview.changes if c.flip}
    for attempt_id in flipped:
        assert f"attempt {attempt_id} " in shown.output

    done = runner.invoke(
        args=["keys", "decide", "--assessment", KEY, "--item", MISKEYED, "--decision", "rekey",
              "--key", "b", "--reason", "The key was a distractor"]
    )  # fmt: skip
    assert done.exit_code == 0, done.output

    after = stored(db)
    changed = {a for a in after if after[a][:4] != before[a][:4]}
    assert changed == {c.attempt_id for c in preview.changes}
    for change in preview.changes:
        raw, _maximum, _cut, passed, revision = after[change.attempt_id]
        assert (raw, passed) == (change.new_raw, change.new_passed)
        assert revision == before[change.attempt_id][4] + 1
    revisions = db.session.scalars(select(ResultRevision).filter_by(cause="rekeyed")).all()
    assert len(revisions) == len(preview.changes)
    assert {r.reason for r in revisions} == {"The key was a distractor"}
    decision = db.session.scalar(select(KeyDecision))
    assert all(r.key_decision_id == decision.id for r in revisions)
    assert db.session.scalar(select(func.count()).select_from(Response)) == responses_before
    assert [v.content["key"] for v in db.session.scalars(select(ItemVersion))] == versions_before
    assert audit.verify()[1] is None
    assert len(db.session.scalars(select(AuditEvent).filter_by(action="result.rekeyed")).all()) \
        == len(preview.changes)  # fmt: skip
    assert results.recompute()[1] == []


def test_voiding_removes_the_item_from_score_maximum_and_angoff_cut(db, tmp_path, make_user):
    import_cohort(tmp_path, pass_mark={"method": "angoff"})
    sit_cohort(make_user, 20)
    before = stored(db)

    decide(keys.propose(KEY, MISKEYED, "void", reason="Miskeyed and ambiguous"))

    for attempt_id, (raw, maximum, cut, _passed, _revision) in stored(db).items():
        old_raw, old_max, old_cut, *_ = before[attempt_id]
        assert maximum == old_max - 1
        assert cut == pytest.approx(old_cut - 0.55), "the item's mean Angoff rating leaves the cut"
        assert raw in (old_raw, old_raw - 1)
    assert results.recompute()[1] == []
    positions = db.session.scalars(
        select(ScoredPosition).where(ScoredPosition.void.is_(True))
    ).all()
    assert len(positions) == 20


def test_credit_and_several_keys(db, cohort):
    decide(keys.propose(KEY, MISKEYED, "keys", key=["a", "b"], reason="Both defensible"))
    assert results.recompute()[1] == []
    credited = decide(keys.propose(KEY, "co-01", "credit", reason="Stem was unclear"))[1]
    assert all(c.new_raw >= c.old_raw for c in credited.changes)
    assert results.recompute()[1] == []


@pytest.mark.parametrize(
    ("decision", "key", "message"),
    [
        ("rekey", "z", "one of the options"),
        ("keys", ["a"], "at least two keys"),
        ("void", "a", "takes no key"),
        ("shrug", None, "A decision is one of"),
    ],
)
def test_a_bad_decision_is_refused_and_names_the_problem(db, cohort, decision, key, message):
    with pytest.raises(keys.InvalidKeyDecision, match=message):
        keys.propose(KEY, MISKEYED, decision, key=key, reason="because")


def test_a_decision_needs_a_reason_an_item_and_an_assessment(db, cohort):
    with pytest.raises(keys.InvalidKeyDecision, match="reason"):
        keys.propose(KEY, MISKEYED, "void", reason="  ")
    with pytest.raises(NotFound):
        keys.propose(KEY, "no-such-item", "void", reason="x")
    with pytest.raises(NotFound):
        keys.propose("no-such-test", MISKEYED, "void", reason="x")


def test_only_a_lead_assessor_or_an_administrator_decides(db, cohort, make_user):
    proposal = keys.propose(KEY, MISKEYED, "void", reason="x")
    with pytest.raises(keys.NotAllowed):
        keys.commit(proposal, actor=make_user("assessor"))
    decide(proposal, actor=make_user("admin"))


def test_a_released_result_that_changes_tells_its_candidate_why(app, db, cohort, make_user):
    from accredit.models import User
    from tests.conftest import Auth

    preview = keys.dry_run(keys.propose(KEY, MISKEYED, "rekey", key="b", reason="x"))
    changed = next(c for c in preview.changes if c.flip)
    unchanged = next(
        r for r in db.session.scalars(select(Result))
        if r.attempt_id not in {c.attempt_id for c in preview.changes}
    )  # fmt: skip
    decide(keys.propose(KEY, MISKEYED, "rekey", key="b", reason="The key was a distractor"))

    def page(attempt_id: int, candidate_id: int) -> str:
        client = app.test_client()
        Auth(client).login(db.session.get(User, candidate_id).email)
        return client.get(f"/candidate/attempts/{attempt_id}/result").get_data(as_text=True)

    shown = page(changed.attempt_id, changed.candidate_id)
    assert "Your result was changed on" in shown
    assert "answer key was corrected" in shown
    assert "Why: The key was a distractor" in shown
    before, after = ("passed", "not passed") if changed.old_passed else ("not passed", "passed")
    assert f"your outcome from {before} to {after}" in shown
    assert "Your result was changed" not in page(
        unchanged.attempt_id, db.session.get(Result, unchanged.id).attempt.candidate_id
    )
