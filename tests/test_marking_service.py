"""Marking and moderation services, called directly: allocation, agreement, escalation,
moderation, release, and the audit trail they leave."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from accredit import audit
from accredit.analysis import service as analysis
from accredit.errors import NotFound
from accredit.marking import service as marking
from accredit.marking.rules import IllegalTransition, InvalidMarks, ScriptState
from accredit.models import AuditEvent
from accredit.models.marking import AgreedMark, Allocation, CriterionMark, Mark
from accredit.models.results import Result
from accredit.results import service as results
from tests.marking_world import World, import_written, make_world, script_of

TOP = {"a": 2, "b": 1, "c": 1}
LOW = {"a": 0, "b": 0, "c": 0}


@pytest.fixture
def world(db, tmp_path, make_user, make_org) -> World:
    import_written(tmp_path)
    return make_world(make_user, make_org)


def markers_of(script_id: int) -> dict[str, int]:
    return {a.round: a.marker_id for a in marking.script(script_id).allocations.values()}


def mark(db, script_id: int, round_name: str, criteria, **kwargs):
    fact = marking.script(script_id)
    marker_id = fact.allocations[round_name].marker_id
    from accredit.models import User

    done = marking.mark_script(script_id, db.session.get(User, marker_id), criteria, **kwargs)
    db.session.commit()
    return done


def actions() -> list[str]:
    from accredit.extensions import db

    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


class TestAllocation:
    def test_submission_gives_the_script_two_different_markers(self, db, world):
        script_id = script_of(world.sit())

        markers = markers_of(script_id)

        assert set(markers) == {"first", "second"}
        assert markers["first"] != markers["second"]
        assert marking.script(script_id).state is ScriptState.AWAITING_FIRST

    def test_never_the_candidates_organisation_over_many_allocations(self, db, world):
        load: Counter[int] = Counter()
        for _ in range(24):
            for marker in markers_of(script_of(world.sit())).values():
                load[marker] += 1

        assert world.colleague.id not in load
        assert world.lead.id not in load, "lead assessors moderate; they get scripts by choice"
        # Evenly: 48 markings among the three eligible assessors.
        assert sorted(load.values()) == [16, 16, 16]

    def test_no_route_gives_a_script_to_the_candidates_organisation(self, db, world):
        # Third markings, later allocation and reallocation all keep to the rule.
        for assessor in world.assessors:
            assessor.active = False
        db.session.commit()
        scripts = [script_of(world.sit()) for _ in range(6)]
        for assessor in world.assessors:
            assessor.active = True
        db.session.commit()
        assert marking.allocate() == 12
        for script_id in scripts:
            mark(db, script_id, "first", TOP)
            mark(db, script_id, "second", LOW)
        db.session.commit()

        for script_id in scripts:
            held = markers_of(script_id)
            assert set(held) == {"first", "second", "third"}
            assert world.colleague.id not in held.values()
            with pytest.raises(marking.InvalidDecision, match="cannot mark this script: choose"):
                marking.reallocate(
                    script_id, "third", world.colleague.id, reason="Cover", actor=world.lead
                )

    def test_allocating_again_changes_nothing(self, db, world):
        world.sit()
        before = db.session.scalar(select(func.count()).select_from(Allocation))

        assert marking.allocate() == 0
        assert db.session.scalar(select(func.count()).select_from(Allocation)) == before

    def test_scripts_left_without_markers_are_allocated_later(self, db, world):
        for assessor in [*world.assessors, world.lead]:
            assessor.active = False
        db.session.commit()
        script_id = script_of(world.sit())
        assert markers_of(script_id) == {}
        assert marking.state_counts()["unallocated"] == 1

        for assessor in [*world.assessors, world.lead]:
            assessor.active = True
        assert marking.allocate() == 2
        db.session.commit()

        assert set(markers_of(script_id)) == {"first", "second"}
        assert marking.allocate() == 0

    def test_a_blank_answer_is_agreed_at_zero_and_never_marked(self, db, world):
        attempt = world.sit(answer=None)
        script_id = script_of(attempt)

        agreed = db.session.scalar(select(AgreedMark).filter_by(script_id=script_id))
        assert (agreed.mark, agreed.method) == (0, "blank")
        assert markers_of(script_id) == {}
        assert db.session.scalar(select(Result).filter_by(attempt_id=attempt.id)).status == "scored"

    def test_a_lead_reallocates_with_a_reason(self, db, world):
        script_id = script_of(world.sit())
        first = markers_of(script_id)["first"]
        spare = next(
            a for a in [*world.assessors, world.lead] if a.id not in markers_of(script_id).values()
        )

        marking.reallocate(script_id, "first", spare.id, reason="Marker on leave", actor=world.lead)
        db.session.commit()

        assert markers_of(script_id)["first"] == spare.id
        assert db.session.scalar(select(func.count()).select_from(Allocation)) == 3, "kept"
        event = db.session.scalar(select(AuditEvent).filter_by(action="marking.reallocated"))
        assert event.details["reason"] == "Marker on leave"
        assert event.details["from_marker_id"] == first

    def test_reallocation_refuses_conflicts_and_ordinary_assessors(self, db, world):
        script_id = script_of(world.sit())
        second = markers_of(script_id)["second"]

        with pytest.raises(
            marking.InvalidDecision, match="cannot mark this script: choose another"
        ):
            marking.reallocate(script_id, "first", world.colleague.id, reason="x", actor=world.lead)
        with pytest.raises(
            marking.InvalidDecision, match="cannot mark this script: choose another"
        ):
            marking.reallocate(script_id, "first", second, reason="x", actor=world.lead)
        with pytest.raises(IllegalTransition, match="cannot resolve"):
            marking.reallocate(script_id, "third", world.lead.id, reason="x", actor=world.lead)
        with pytest.raises(marking.InvalidDecision, match="reason"):
            marking.reallocate(script_id, "first", world.lead.id, reason=" ", actor=world.lead)
        with pytest.raises(marking.LeadOnly):
            marking.reallocate(
                script_id, "first", world.lead.id, reason="x", actor=world.assessors[0]
            )


class TestMarking:
    def test_marks_within_tolerance_agree_at_their_mean_and_score_the_result(self, db, world):
        attempt = world.sit()
        script_id = script_of(attempt)

        mark(db, script_id, "first", TOP, comment="Clear")
        assert marking.script(script_id).state is ScriptState.AWAITING_SECOND
        done = mark(db, script_id, "second", TOP)

        assert done.agreed is not None
        assert done.agreed.mark == 4
        # First options throughout fail, and a fail with a written answer is moderated.
        assert marking.script(script_id).result.passed is False
        assert marking.script(script_id).state is ScriptState.IN_MODERATION
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
        assert (row.status, row.revision) == ("scored", 2)
        assert results.written_marks(attempt) == {marking.script(script_id).slot.position: 4.0}
        assert results.recompute()[1] == []
        criteria = db.session.scalars(select(CriterionMark.criterion)).all()
        assert sorted(criteria) == ["a", "a", "b", "b", "c", "c"]

    def test_marks_beyond_tolerance_go_to_a_third_marker_whose_mark_is_final(self, db, world):
        attempt = world.sit()
        script_id = script_of(attempt)
        mark(db, script_id, "first", TOP)

        done = mark(db, script_id, "second", LOW)

        assert done.agreed is None
        assert "differ by 4" in (done.escalated or "")
        fact = marking.script(script_id)
        assert fact.state is ScriptState.IN_DISCREPANCY
        third = fact.allocations["third"].marker_id
        assert third not in {
            fact.allocations["first"].marker_id,
            fact.allocations["second"].marker_id,
        }
        with pytest.raises(InvalidMarks, match="reason"):
            mark(db, script_id, "third", {"a": 1, "b": 1, "c": 0})
        db.session.rollback()

        done = mark(db, script_id, "third", {"a": 1, "b": 1, "c": 0}, reason="Risk half shown")

        assert done.agreed is not None
        assert (done.agreed.mark, done.agreed.method) == (2, "third")
        assert done.agreed.final_mark_id == done.mark.id
        assert {"marking.escalated", "marking.agreed"} <= set(actions())

    def test_the_lead_may_resolve_a_discrepancy_as_moderator(self, db, world):
        script_id = script_of(world.sit())
        mark(db, script_id, "first", TOP)
        mark(db, script_id, "second", LOW)
        assert markers_of(script_id)["third"] != world.lead.id

        done = marking.mark_script(
            script_id, world.lead, {"a": 2, "b": 0, "c": 1}, reason="Closer to the first"
        )
        db.session.commit()

        assert (done.agreed.mark, done.agreed.method) == (3, "moderator")
        # The third marker's allocation is now moot: the script is agreed.
        third = marking.script(script_id).allocations["third"].marker_id
        from accredit.models import User

        with pytest.raises(marking.NotAllocated):
            marking.mark_script(script_id, db.session.get(User, third), TOP, reason="late")

    def test_marks_either_side_of_the_items_standard_never_agree(
        self, db, tmp_path, make_user, make_org
    ):
        # Within a 30% tolerance (1.2 marks), but Angoff ratings of 0.6 and 0.7 on
        # 4 marks put the item's standard at 2.6, between the two marks.
        import_written(tmp_path, marking={"tolerance_percent": 30})
        world = make_world(make_user, make_org)
        script_id = script_of(world.sit())
        mark(db, script_id, "first", {"a": 2, "b": 0, "c": 0})

        done = mark(db, script_id, "second", {"a": 2, "b": 1, "c": 0})

        assert "either side of 2.6" in (done.escalated or "")

    def test_a_wider_tolerance_in_the_blueprint_agrees_more(
        self, db, tmp_path, make_user, make_org
    ):
        import_written(tmp_path, marking={"tolerance_percent": 50, "boundary": "none",
                                          "agreed_mark": "lower"})  # fmt: skip
        world = make_world(make_user, make_org)
        script_id = script_of(world.sit())
        mark(db, script_id, "first", TOP)

        done = mark(db, script_id, "second", {"a": 1, "b": 0, "c": 1})

        assert (done.agreed.mark, done.agreed.method) == (2, "lower")

    def test_nobody_marks_out_of_turn_or_twice(self, db, world):
        script_id = script_of(world.sit())
        from accredit.models import User

        second = db.session.get(User, markers_of(script_id)["second"])
        outsider = next(a for a in world.assessors if a.id not in markers_of(script_id).values())
        with pytest.raises(NotFound):
            marking.mark_script(script_id, outsider, TOP)
        mark(db, script_id, "first", TOP)
        mark(db, script_id, "second", TOP)
        with pytest.raises(marking.NotAllocated):
            marking.mark_script(script_id, second, TOP)

    def test_marks_must_be_levels_of_every_criterion(self, db, world):
        script_id = script_of(world.sit())
        with pytest.raises(InvalidMarks, match="one of the levels 0, 1, 2"):
            mark(db, script_id, "first", {"a": 1.5, "b": 0, "c": 0})
        with pytest.raises(InvalidMarks, match="give a mark for c"):
            mark(db, script_id, "first", {"a": 1, "b": 0})
        assert db.session.scalar(select(func.count()).select_from(Mark)) == 0

    def test_the_database_refuses_a_second_agreed_mark(self, db, world):
        from sqlalchemy.exc import IntegrityError

        script_id = script_of(world.sit(answer=None))
        db.session.add(AgreedMark(script_id=script_id, mark=1, method="mean", why="again"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def agree_all(db, world: World, criteria=TOP) -> None:
    for attempt in world.attempts:
        script_id = script_of(attempt)
        if marking.script(script_id).agreed is None:
            mark(db, script_id, "first", criteria)
            mark(db, script_id, "second", criteria)


class TestModeration:
    def test_a_fail_with_a_written_answer_goes_to_moderation(self, db, world):
        attempt = world.sit(answer=None)

        [fact] = marking.result_facts("mini-written")

        assert fact.result.passed is False
        assert "not passed, with a written answer" in fact.reasons
        assert fact.stage == "in_moderation"
        assert marking.script(script_of(attempt)).state is ScriptState.IN_MODERATION

    def test_release_waits_for_every_result_to_be_ratified_or_withheld(self, db, world):
        world.sit()
        world.sit(answer=None)
        with pytest.raises(marking.NotReady, match="1 awaiting marks"):
            marking.release("mini-written", actor=world.lead, reason="r")
        agree_all(db, world)
        pending = [f for f in marking.result_facts("mini-written") if f.stage == "in_moderation"]
        with pytest.raises(marking.NotReady, match="in moderation"):
            marking.release("mini-written", actor=world.lead, reason="r")

        # Both fail with a written answer (first options throughout): both are moderated.
        assert len(pending) == 2
        for fact in pending:
            marking.moderate(fact.result.id, "ratify", reason="", score=None, actor=world.lead)
        analysis.sign_off("mini-written", actor=world.lead)
        released = marking.release("mini-written", actor=world.lead, reason="Moderated")
        db.session.commit()

        assert released.released == 2
        assert all(f.stage == "released" for f in marking.result_facts("mini-written"))
        assert audit.verify()[1] is None

    def test_the_sample_takes_the_minimum_and_ratifies_the_rest_as_they_stand(self, db, world):
        for _ in range(14):
            world.sit(right=True)
        agree_all(db, world)
        agreed = [f for f in marking.result_facts("mini-written") if f.stage == "agreed"]

        drawn, ratified = marking.draw_sample("mini-written", actor=world.lead)
        db.session.commit()

        assert len(drawn) == min(10, len(agreed))
        assert ratified == len(agreed) - len(drawn)
        stages = Counter(f.stage for f in marking.result_facts("mini-written"))
        assert stages["agreed"] == 0
        assert stages["ratified"] == ratified

    def test_an_amendment_keeps_the_previous_version_and_says_why(self, db, world):
        attempt = world.sit()
        agree_all(db, world, criteria=LOW)
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
        before_raw, before_revision = row.raw, row.revision

        marking.moderate(
            row.id, "amend", reason="The answer meets criterion a", score=before_raw + 2,
            actor=world.lead,
        )  # fmt: skip
        db.session.commit()

        assert row.raw == before_raw + 2
        assert row.revision == before_revision + 1
        assert results.recompute()[1] == [], "the amendment is a stored fact recompute uses"
        event = db.session.scalar(select(AuditEvent).filter_by(action="result.amended"))
        assert event.details["reason"] == "The answer meets criterion a"
        assert event.details["before"]["raw"] == before_raw

    def test_an_amendment_outside_the_written_marks_is_refused(self, db, world):
        attempt = world.sit()
        agree_all(db, world, criteria=LOW)
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))

        with pytest.raises(marking.InvalidDecision, match="moves only the written marks"):
            marking.moderate(row.id, "amend", reason="r", score=row.raw + 5, actor=world.lead)
        with pytest.raises(marking.InvalidDecision, match="reason"):
            marking.moderate(row.id, "withhold", reason="", score=None, actor=world.lead)
        with pytest.raises(marking.LeadOnly):
            marking.moderate(row.id, "ratify", reason="", score=None, actor=world.assessors[0])

    def test_one_decision_per_result(self, db, world):
        attempt = world.sit()
        agree_all(db, world)
        row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
        marking.moderate(row.id, "withhold", reason="Suspected malpractice", score=None,
                         actor=world.lead)  # fmt: skip

        with pytest.raises(IllegalTransition):
            marking.moderate(row.id, "ratify", reason="", score=None, actor=world.lead)
        assert marking.script(script_of(attempt)).state is ScriptState.WITHHELD


def test_every_step_is_audited_and_the_chain_verifies(db, world):
    attempt = world.sit()
    script_id = script_of(attempt)
    mark(db, script_id, "first", TOP)
    mark(db, script_id, "second", LOW)
    mark(db, script_id, "third", TOP, reason="Meets every criterion")
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    marking.moderate(row.id, "ratify", reason="", score=None, actor=world.lead)
    analysis.sign_off("mini-written", actor=world.lead)
    marking.release("mini-written", actor=world.lead, reason="Moderated")
    db.session.commit()

    seen = set(actions())

    assert {
        "marking.allocated", "marking.marked", "marking.escalated", "marking.agreed",
        "result.marked", "moderation.decided", "result.released",
    } <= seen  # fmt: skip
    assert audit.verify()[1] is None


def test_a_lead_from_the_candidates_organisation_never_moderates_it(db, world):
    world.colleague.lead_assessor = True
    db.session.commit()
    attempt = world.sit()
    script_id = script_of(attempt)
    mark(db, script_id, "first", TOP)
    mark(db, script_id, "second", LOW)

    assert marking.round_for(marking.script(script_id), world.colleague) is None
    with pytest.raises(marking.LeadOnly, match="conflict of interest"):
        marking.moderate(
            db.session.scalar(select(Result.id).filter_by(attempt_id=attempt.id)), "ratify",
            reason="", score=None, actor=world.colleague,
        )  # fmt: skip


def test_a_score_near_the_cut_is_referred_and_a_clear_pass_is_not(db, world):
    # The form: 11 one-mark items and the 4-mark written item, every item rated 0.6 and
    # 0.7 by the Angoff judges, so the cut is 0.65 x 15 = 9.75 marks, and Lord's SEM
    # there is sqrt(9.75 x 5.25 / 14) = 1.912 marks.
    near = world.sit(right=True)
    clear = world.sit(right=True)
    mark(db, script_of(near), "first", LOW)
    mark(db, script_of(near), "second", LOW)
    mark(db, script_of(clear), "first", TOP)
    mark(db, script_of(clear), "second", TOP)

    facts = {f.attempt.id: f for f in marking.result_facts("mini-written")}
    near_fact, clear_fact = facts[near.id], facts[clear.id]

    assert near_fact.result.cut == pytest.approx(9.75)
    assert marking.sem_of(near_fact.result) == pytest.approx(1.912, abs=1e-3)
    assert (near_fact.result.raw, near_fact.result.passed) == (11, True)
    assert near_fact.reasons == ["within 1 SEM (1.91 marks) of the cut"]
    assert near_fact.stage == "in_moderation"
    assert (clear_fact.result.raw, clear_fact.result.passed) == (15, True)
    assert clear_fact.reasons == []
    assert clear_fact.stage == "agreed"


def test_marker_quality_flags_a_marker_beyond_tolerance(db, world):
    for _ in range(10):
        world.sit()
    from accredit.models import User

    generous = world.assessors[0]
    for attempt in world.attempts:
        script_id = script_of(attempt)
        for round_name in ("first", "second"):
            marker = db.session.get(
                User, marking.script(script_id).allocations[round_name].marker_id
            )
            criteria = TOP if marker.id == generous.id else LOW
            marking.mark_script(script_id, marker, criteria)
        db.session.commit()

    rows = {row.marker.id: row for row in marking.marker_quality()}

    assert rows[generous.id].compared >= marking.FLAG_AFTER
    assert rows[generous.id].flagged
    assert rows[generous.id].mean_difference == 4
    assert rows[generous.id].agreement_rate == 0
    others = [row for marker_id, row in rows.items() if marker_id != generous.id]
    assert sum(row.scripts for row in rows.values()) == 20
    assert all(row.mean_difference is not None and row.mean_difference <= 0 for row in others)


def test_a_markers_queue_is_in_a_stable_order_that_is_not_candidate_order(db, world):
    for _ in range(12):
        world.sit()
    from accredit.models import User

    marker = db.session.get(
        User, marking.script(script_of(world.attempts[0])).allocations["first"].marker_id
    )
    first = [fact.id for fact, _round in marking.queue(marker)]
    again = [fact.id for fact, _round in marking.queue(marker)]

    assert first == again
    assert len(first) >= 4
    assert first != sorted(first)


def test_a_marker_compared_on_too_few_scripts_is_not_flagged(db, world):
    script_id = script_of(world.sit())
    mark(db, script_id, "first", TOP)
    mark(db, script_id, "second", LOW)

    rows = marking.marker_quality()

    assert all(row.compared == 1 and not row.flagged for row in rows)


def test_a_lead_who_marked_a_script_neither_resolves_nor_moderates_it(db, world):
    attempt = world.sit()
    script_id = script_of(attempt)
    second = markers_of(script_id)["second"]
    marking.reallocate(script_id, "first", world.lead.id, reason="Lead marks", actor=world.lead)
    mark(db, script_id, "first", TOP)
    mark(db, script_id, "second", LOW)
    fact = marking.script(script_id)

    assert fact.state is ScriptState.IN_DISCREPANCY
    assert marking.round_for(fact, world.lead) is None, "no settling one's own disagreement"
    third = marking.script(script_id).allocations["third"].marker_id
    assert third not in {world.lead.id, second}
    mark(db, script_id, "third", TOP, reason="Meets each criterion")
    result_id = db.session.scalar(select(Result.id).filter_by(attempt_id=attempt.id))
    with pytest.raises(marking.LeadOnly, match="conflict of interest"):
        marking.moderate(result_id, "ratify", reason="", score=None, actor=world.lead)


def test_a_decision_holds_only_for_the_revision_it_was_made_on(db, world):
    from accredit.models.delivery import Response

    attempt = world.sit(right=True)
    agree_all(db, world)
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempt.id))
    marking.moderate(row.id, "ratify", reason="", score=None, actor=world.lead)
    db.session.commit()
    assert marking.result_of(row.id).stage == "ratified"

    # A stored fact is corrected and the result rescored: nobody moderated the new revision.
    right = next(p for p in results.scored_positions(row) if p.max_marks == 1 and p.marks == 1)
    response = db.session.get(Response, (attempt.id, right.position))
    response.answer = None
    db.session.commit()
    _checked, changes = results.recompute(apply=True)
    db.session.commit()

    assert changes
    assert marking.result_of(row.id).stage in ("in_moderation", "agreed")
    with pytest.raises(marking.NotReady):
        marking.release("mini-written", actor=world.lead, reason="r")


def test_the_sample_draw_audits_each_result_it_leaves_standing(db, world):
    for _ in range(14):
        world.sit(right=True)
    agree_all(db, world)
    agreed = [f for f in marking.result_facts("mini-written") if f.stage == "agreed"]

    drawn, standing = marking.draw_sample("mini-written", actor=world.lead)
    db.session.commit()

    events = db.session.scalars(select(AuditEvent).filter_by(action="moderation.decided")).all()
    assert standing == len(agreed) - len(drawn) == len(events)
    assert all(e.details["moderated"] is False and "draw-1" in e.details["reason"] for e in events)
    assert all(e.actor_id == world.lead.id for e in events)


def test_batch_rescoring_agrees_with_one_by_one_on_marked_and_amended_results(db, world):
    attempts = [world.sit(), world.sit(right=True), world.sit(answer=None)]
    agree_all(db, world, criteria=LOW)
    row = db.session.scalar(select(Result).filter_by(attempt_id=attempts[0].id))
    marking.moderate(row.id, "amend", reason="Meets a", score=row.raw + 2, actor=world.lead)
    db.session.commit()

    changed = results.rescore_many([a.id for a in attempts], action="result.recomputed", actor=None)

    assert changed == 0, "nothing stored differs from what the facts give"
    assert results.recompute()[1] == []
