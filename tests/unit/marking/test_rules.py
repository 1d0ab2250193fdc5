"""The marking rules: agreement, script states, transitions and the moderation sample."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accredit.marking.rules import (
    AgreementRule,
    Criterion,
    Decision,
    IllegalTransition,
    InvalidMarks,
    Mark,
    Round,
    Script,
    ScriptState,
    Step,
    agree,
    candidate_number,
    checked_marks,
    choose_markers,
    ensure_allowed,
    ensure_may_mark,
    final_mark,
    moderation_sample,
    script_order,
    script_state,
    within_sem,
)

RUBRIC = [Criterion("risk", 4), Criterion("voice", 3), Criterion("plan", 3)]
DEFAULT = AgreementRule()


def mark(round_: Round, marker: int, total: float = 5, reason: str = "") -> Mark:
    return Mark(round_, marker, {"risk": total}, reason=reason)


class TestCheckedMarks:
    def test_a_mark_for_every_criterion_gives_the_total(self):
        assert checked_marks({"risk": 3, "voice": 2.5, "plan": 0}, RUBRIC) == 5.5

    @pytest.mark.parametrize(
        ("criteria", "message"),
        [
            ({"risk": 3, "voice": 2}, "give a mark for plan"),
            ({"risk": 3, "voice": 2, "plan": 1, "style": 1}, "no criterion style"),
            ({"risk": 5, "voice": 2, "plan": 1}, "risk: a mark is from 0 to 4"),
            ({"risk": -1, "voice": 2, "plan": 1}, "risk: a mark is from 0 to 4"),
            ({"risk": True, "voice": 2, "plan": 1}, "risk: a mark is a number"),
            ({"risk": float("nan"), "voice": 2, "plan": 1}, "risk: a mark is a number"),
            ({"risk": "3", "voice": 2, "plan": 1}, "risk: a mark is a number"),
        ],
    )
    def test_every_problem_is_named(self, criteria, message):
        with pytest.raises(InvalidMarks, match=message):
            checked_marks(criteria, RUBRIC)


class TestLevels:
    LEVELLED = [Criterion("risk", 4, (0, 2, 4)), Criterion("voice", 1, (0, 1)),
                Criterion("plan", 1, (0, 1))]  # fmt: skip

    def test_a_mark_is_one_of_the_levels(self):
        assert checked_marks({"risk": 2, "voice": 1, "plan": 0}, self.LEVELLED) == 3

    def test_a_mark_between_levels_is_refused(self):
        with pytest.raises(InvalidMarks, match="risk: a mark is one of the levels 0, 2, 4"):
            checked_marks({"risk": 3, "voice": 1, "plan": 0}, self.LEVELLED)


KEY = b"k" * 32


class TestCandidateNumbers:
    def test_numbers_are_eight_digits_and_never_repeat(self):
        numbers = [candidate_number(user_id, KEY) for user_id in range(1, 20_001)]

        assert len(set(numbers)) == len(numbers)
        assert all(len(number) == 8 and number.isdigit() for number in numbers)

    def test_numbers_do_not_follow_account_order(self):
        numbers = [candidate_number(user_id, KEY) for user_id in range(1, 50)]

        assert numbers != sorted(numbers)
        steps = {int(b) - int(a) for a, b in itertools.pairwise(numbers)}
        assert len(steps) > 40, "no fixed step from one account to the next"

    def test_another_key_gives_other_numbers(self):
        other = b"o" * 32
        same = sum(candidate_number(n, KEY) == candidate_number(n, other) for n in range(1, 1000))
        assert same < 5

    @given(st.integers(1, 99_999_999), st.integers(1, 99_999_999))
    def test_different_accounts_have_different_numbers(self, one, other):
        assert (candidate_number(one, KEY) == candidate_number(other, KEY)) == (one == other)


class TestChooseMarkers:
    def test_the_least_loaded_markers_are_chosen(self):
        assert sorted(choose_markers(7, {1: 5, 2: 0, 3: 1, 4: 9}, 2)) == [2, 3]

    def test_fewer_eligible_markers_than_needed_gives_those_there_are(self):
        assert choose_markers(7, {4: 3}, 2) == [4]
        assert choose_markers(7, {}, 2) == []

    @given(
        st.dictionaries(st.integers(1, 50), st.integers(0, 20), min_size=2), st.integers(1, 10**6)
    )
    def test_two_different_markers_never_the_same_twice(self, load, script):
        chosen = choose_markers(script, load, 2)

        assert len(chosen) == len(set(chosen)) == 2
        assert set(chosen) <= set(load)
        others = [load[m] for m in load if m not in chosen]
        assert max(load[m] for m in chosen) <= min(others, default=max(load.values()))

    def test_repeated_allocation_stays_even(self):
        load = dict.fromkeys(range(1, 6), 0)
        for script in range(1, 501):
            for marker in choose_markers(script, load, 2):
                load[marker] += 1

        assert max(load.values()) - min(load.values()) <= 1


def test_scripts_are_ordered_neither_by_id_nor_the_same_for_every_salt():
    ids = list(range(1, 40))
    by_key = sorted(ids, key=lambda i: script_order(i, "kssl"))

    assert by_key != ids
    assert by_key == sorted(ids, key=lambda i: script_order(i, "kssl"))
    assert by_key != sorted(ids, key=lambda i: script_order(i, "ksss"))


class TestAgreement:
    def test_within_tolerance_the_mean_is_agreed(self):
        result = agree(6, 7, 10, DEFAULT)
        assert (result.agreed, result.mark) == (True, 6.5)

    def test_the_assessment_may_take_the_lower(self):
        assert agree(7, 6, 10, AgreementRule(resolve="lower")).mark == 6

    def test_beyond_tolerance_is_a_discrepancy(self):
        result = agree(5, 7, 10, DEFAULT)
        assert not result.agreed
        assert result.mark is None
        assert "differ by 2" in result.why

    def test_exactly_the_tolerance_agrees(self):
        assert agree(5, 6, 10, DEFAULT).agreed

    def test_marks_either_side_of_a_boundary_never_agree(self):
        rule = AgreementRule(boundaries=(5.0,))
        result = agree(4.5, 5, 10, rule)
        assert not result.agreed
        assert "either side of 5" in result.why
        assert agree(5, 5.5, 10, rule).agreed, "both at or above the boundary"

    @pytest.mark.parametrize("fraction", [-0.1, 1.5])
    def test_a_tolerance_outside_zero_to_one_is_refused(self, fraction):
        with pytest.raises(ValueError, match="fraction"):
            AgreementRule(tolerance_fraction=fraction)

    @given(
        st.floats(0, 20), st.floats(0, 20), st.floats(0.5, 20), st.floats(0, 1),
        st.sampled_from(["mean", "lower"]),
    )  # fmt: skip
    def test_order_never_matters_and_an_agreed_mark_lies_between(self, a, b, top, tol, how):
        rule = AgreementRule(tolerance_fraction=tol, resolve=how)
        one, other = agree(a, b, top, rule), agree(b, a, top, rule)
        assert one == other
        if one.agreed:
            assert one.mark is not None
            assert min(a, b) <= one.mark <= max(a, b)
            assert abs(a - b) <= tol * top + 1e-9

    @given(st.floats(0, 20), st.floats(0.5, 20))
    def test_the_same_mark_twice_always_agrees_on_itself(self, value, top):
        result = agree(value, value, top, AgreementRule(tolerance_fraction=0))
        assert (result.agreed, result.mark) == (True, value)


class TestStates:
    @pytest.mark.parametrize(
        ("script", "state"),
        [
            (Script(), ScriptState.AWAITING_FIRST),
            (Script(marks=[mark(Round.FIRST, 1)]), ScriptState.AWAITING_SECOND),
            (Script(marks=[mark(Round.FIRST, 1), mark(Round.SECOND, 2)]),
             ScriptState.IN_DISCREPANCY),
            (Script(marks=[mark(Round.FIRST, 1), mark(Round.SECOND, 2)], agreed_mark=5),
             ScriptState.AGREED),
            (Script(agreed_mark=5, needs_moderation=True), ScriptState.IN_MODERATION),
            (Script(agreed_mark=5, decision=Decision.RATIFY), ScriptState.RATIFIED),
            (Script(agreed_mark=5, decision=Decision.AMEND), ScriptState.RATIFIED),
            (Script(agreed_mark=5, decision=Decision.RATIFY, released=True),
             ScriptState.RELEASED),
            (Script(agreed_mark=5, decision=Decision.WITHHOLD), ScriptState.WITHHELD),
            (Script(agreed_mark=5, decision=Decision.RATIFY, void=True), ScriptState.VOID),
        ],
    )  # fmt: skip
    def test_each_state_follows_from_the_facts(self, script, state):
        assert script_state(script) is state

    def test_the_blind_markers_mark_in_either_order_and_never_twice(self):
        script = Script()
        ensure_may_mark(script, 1, Round.FIRST)
        ensure_may_mark(script, 2, Round.SECOND)
        second_first = Script(marks=[mark(Round.SECOND, 2)])
        assert script_state(second_first) is ScriptState.AWAITING_SECOND
        ensure_may_mark(second_first, 1, Round.FIRST)
        with pytest.raises(IllegalTransition, match="second marking of this script is already"):
            ensure_may_mark(second_first, 3, Round.SECOND)
        with pytest.raises(IllegalTransition, match="cannot resolve"):
            ensure_may_mark(second_first, 3, Round.THIRD)
        script = Script(marks=[mark(Round.FIRST, 1)])
        with pytest.raises(IllegalTransition, match="another marker"):
            ensure_may_mark(script, 1, Round.SECOND)
        ensure_may_mark(script, 2, Round.SECOND)
        script = Script(marks=[mark(Round.FIRST, 1), mark(Round.SECOND, 2)])
        with pytest.raises(IllegalTransition, match="another marker"):
            ensure_may_mark(script, 2, Round.THIRD)
        ensure_may_mark(script, 3, Round.THIRD)
        ensure_may_mark(script, 1, Round.MODERATOR)

    def test_a_final_mark_needs_a_reason_and_a_final_round(self):
        with pytest.raises(InvalidMarks, match="reason"):
            final_mark(mark(Round.THIRD, 3, 6))
        with pytest.raises(IllegalTransition):
            final_mark(mark(Round.SECOND, 3, 6, reason="because"))
        assert final_mark(mark(Round.MODERATOR, 4, 6, reason="Closer to the rubric")) == 6

    def test_released_withheld_and_void_scripts_take_no_step(self):
        for script in (
            Script(agreed_mark=5, decision=Decision.RATIFY, released=True),
            Script(agreed_mark=5, decision=Decision.WITHHOLD),
            Script(void=True),
        ):
            for step in Step:
                with pytest.raises(IllegalTransition):
                    ensure_allowed(script, step)

    def test_only_a_moderated_or_agreed_script_is_released(self):
        with pytest.raises(IllegalTransition):
            ensure_allowed(Script(agreed_mark=5, needs_moderation=True), Step.RELEASE)
        assert ensure_allowed(Script(agreed_mark=5), Step.RELEASE) is ScriptState.AGREED
        ratified = Script(agreed_mark=5, needs_moderation=True, decision=Decision.RATIFY)
        assert ensure_allowed(ratified, Step.RELEASE) is ScriptState.RATIFIED

    @given(st.lists(st.sampled_from(list(Round)), max_size=6), st.booleans(), st.booleans())
    def test_every_set_of_facts_has_exactly_one_state(self, rounds, moderated, agreed):
        marks = [mark(round_, number) for number, round_ in enumerate(rounds, 1)]
        script = Script(marks=marks, agreed_mark=5 if agreed else None, needs_moderation=moderated)
        state = script_state(script)
        assert state in ScriptState
        assert script_state(script) is state, "derived the same way every time"


class TestModeration:
    def test_within_one_sem_of_the_cut(self):
        assert within_sem(19.2, 20, 1.0)
        assert within_sem(21, 20, 1.0)
        assert not within_sem(18.9, 20, 1.0)

    def test_the_sample_is_at_least_ten_or_a_tenth(self):
        assert len(moderation_sample(range(50), "seed")) == 10
        assert len(moderation_sample(range(500), "seed")) == 50
        assert moderation_sample(range(4), "seed") == {0, 1, 2, 3}

    @given(st.sets(st.integers(1, 10_000), max_size=300), st.text(max_size=10))
    def test_the_sample_is_the_same_in_any_order_and_drawn_from_the_results(self, ids, seed):
        forwards = moderation_sample(sorted(ids), seed)
        backwards = moderation_sample(sorted(ids, reverse=True), seed)
        assert forwards == backwards
        assert forwards <= ids
        assert len(forwards) == min(len(ids), max(10, -(-len(ids) // 10)))

    def test_another_seed_draws_another_sample(self):
        assert moderation_sample(range(1000), "window-1") != moderation_sample(
            range(1000), "window-2"
        )
