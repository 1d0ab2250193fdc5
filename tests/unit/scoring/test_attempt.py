"""Scoring a whole attempt: profile, per-form Angoff cuts, outcomes, and properties that always hold."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accredit.scoring.attempt import (
    FormItem,
    Rules,
    ScoringError,
    angoff_cut,
    binomial_sem,
    score_attempt,
)

STATEMENTS = {"A": "Statement A", "B": "Statement B"}


def single(position, key="a", angoff=(0.5, 0.7), competencies=("A",), pretest=False):
    content = {"type": "single", "key": key, "angoff": list(angoff), "competencies": list(competencies),
               "options": [{"id": letter} for letter in "abcd"]}  # fmt: skip
    return FormItem(position, f"item-{position}", 1, content, pretest)


def written(position, marks=(4, 6), angoff=(0.5, 0.6), competencies=("B",)):
    content = {"type": "written", "angoff": list(angoff), "competencies": list(competencies),
               "rubric": [{"id": f"c{i}", "marks": m} for i, m in enumerate(marks)]}  # fmt: skip
    return FormItem(position, f"item-{position}", 1, content)


ANGOFF = Rules(pass_method="angoff", statements=STATEMENTS)


def test_angoff_cut_worked_by_hand_for_a_small_form():
    # Three judges rate three items. Item means: 0.6, 0.8, 0.4 -> cut 1.8 of 3 marks.
    form = [
        single(1, angoff=(0.5, 0.6, 0.7)),
        single(2, angoff=(0.9, 0.8, 0.7)),
        single(3, angoff=(0.3, 0.4, 0.5), competencies=("B",)),
    ]
    result = score_attempt(form, {1: "a", 2: "a", 3: "b"}, ANGOFF)
    assert result.cut.marks == pytest.approx(1.8)
    assert result.cut_percent == pytest.approx(60.0)
    # Each judge's own cut: 1.7, 1.8, 1.9; their standard deviation is 0.1.
    assert result.cut.details["judge_cuts"] == pytest.approx([1.7, 1.8, 1.9])
    assert result.cut.details["judge_sd"] == pytest.approx(0.1)
    assert result.raw == 2
    assert result.passed is True


def test_two_forms_of_different_difficulty_get_different_cuts():
    easy = [single(1, angoff=(0.9, 0.9)), single(2, angoff=(0.8, 0.8))]
    hard = [single(1, angoff=(0.4, 0.4)), single(2, angoff=(0.5, 0.5))]
    assert angoff_cut(easy).marks == pytest.approx(1.7)
    assert angoff_cut(hard).marks == pytest.approx(0.9)


def test_written_items_count_their_marks_in_the_angoff_cut():
    form = [single(1, angoff=(0.6, 0.6)), written(2, marks=(4, 6), angoff=(0.5, 0.7))]
    assert angoff_cut(form).marks == pytest.approx(0.6 + 0.6 * 10)


def test_sem_adjustment_moves_the_cut_by_the_binomial_sem():
    form = [single(position, angoff=(0.6, 0.6)) for position in range(1, 11)]
    plain = angoff_cut(form)
    lowered = angoff_cut(form, sem_adjustment=-1)
    sem = math.sqrt(6 * 4 / 9)
    assert binomial_sem(6, 10) == pytest.approx(sem)
    assert plain.marks == pytest.approx(6)
    assert lowered.marks == pytest.approx(6 - sem)
    assert "adjusted by -1 × SEM" in lowered.description


def test_an_item_without_ratings_cannot_be_angoff_scored():
    form = [single(1, angoff=())]
    form[0].content["angoff"] = None
    with pytest.raises(ScoringError, match="No Angoff ratings for item-1"):
        score_attempt(form, {}, ANGOFF)


def test_fixed_pass_mark():
    rules = Rules(pass_method="fixed", pass_percent=60, statements=STATEMENTS)
    form = [single(position) for position in range(1, 6)]
    result = score_attempt(form, {1: "a", 2: "a", 3: "a"}, rules)
    assert result.cut.marks == pytest.approx(3)
    assert result.passed is True
    assert score_attempt(form, {1: "a", 2: "a"}, rules).passed is False


def test_conjunctive_fails_despite_a_high_total():
    rules = Rules(pass_method="fixed", pass_percent=50, competency_method="conjunctive",
                  threshold_percent=50, statements=STATEMENTS)  # fmt: skip
    form = [single(p) for p in range(1, 9)] + [single(p, competencies=("B",)) for p in range(9, 11)]
    answers = dict.fromkeys(range(1, 9), "a")  # every A right, every B wrong: 80% overall
    result = score_attempt(form, answers, rules)
    assert result.percent == pytest.approx(80)
    assert [s.met for s in result.profile] == [True, False]
    assert result.passed is False
    compensatory = Rules(pass_method="fixed", pass_percent=50, statements=STATEMENTS)
    assert score_attempt(form, answers, compensatory).passed is True


def test_a_written_answer_keeps_the_result_pending_until_marked():
    form = [single(1), written(2)]
    pending = score_attempt(form, {1: "a", 2: "My answer"}, ANGOFF)
    assert pending.pending is True
    assert pending.passed is None
    marked = score_attempt(form, {1: "a", 2: "My answer"}, ANGOFF, marks={2: 7})
    assert marked.pending is False
    assert marked.raw == 8
    assert marked.passed is True


def test_pretest_items_are_recorded_but_never_scored():
    form = [single(1), single(2, pretest=True)]
    result = score_attempt(form, {1: "a", 2: "a"}, ANGOFF)
    assert (result.raw, result.maximum) == (1, 1)
    assert len(result.items) == 2
    assert result.cut.marks == pytest.approx(0.6)


def test_an_item_mapped_to_two_statements_counts_in_both():
    form = [single(1, competencies=("A", "B")), single(2, competencies=("B",))]
    result = score_attempt(form, {1: "a"}, ANGOFF)
    a, b = result.profile
    assert (a.earned, a.possible, a.items) == (1, 1, 1)
    assert (b.earned, b.possible, b.items) == (1, 2, 2)
    assert b.percent == 50


KINDS = st.sampled_from(["single", "multiple", "ordering"])


@st.composite
def forms(draw):
    size = draw(st.integers(min_value=1, max_value=12))
    form, answers = [], {}
    for position in range(1, size + 1):
        kind = draw(KINDS)
        options = list("abcdef")
        if kind == "single":
            content = {"type": "single", "key": draw(st.sampled_from(options))}
            answer = draw(st.one_of(st.none(), st.sampled_from(options)))
        elif kind == "multiple":
            key = draw(st.lists(st.sampled_from(options), min_size=3, max_size=3, unique=True))
            content = {"type": "multiple", "select": 3, "key": key,
                       "scoring": draw(st.sampled_from(["all_or_nothing", "partial"]))}  # fmt: skip
            answer = draw(st.lists(st.sampled_from(options), max_size=3, unique=True))
        else:
            key = draw(st.permutations(options[:4]))
            content = {"type": "ordering", "key": list(key),
                       "scoring": draw(st.sampled_from(["all_or_nothing", "proportion"]))}  # fmt: skip
            answer = list(draw(st.permutations(options[:4])))
        content.update(
            angoff=draw(st.lists(st.floats(0, 1), min_size=2, max_size=4)),
            competencies=draw(st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=2, unique=True)),
        )  # fmt: skip
        form.append(FormItem(position, f"item-{position}", 1, content))
        answers[position] = answer
    return form, answers


@settings(max_examples=300, deadline=None)
@given(forms())
def test_score_stays_within_zero_and_the_maximum(case):
    form, answers = case
    result = score_attempt(form, answers, ANGOFF)
    assert 0 <= result.raw <= result.maximum
    assert 0 <= result.cut.marks <= result.maximum
    for statement in result.profile:
        assert 0 <= statement.earned <= statement.possible


@settings(max_examples=300, deadline=None)
@given(forms(), st.data())
def test_putting_a_wrong_answer_right_never_lowers_the_score(case, data):
    form, answers = case
    slot = data.draw(st.sampled_from(form))
    before = score_attempt(form, answers, ANGOFF)
    fixed = {**answers, slot.position: slot.content["key"]}
    after = score_attempt(form, fixed, ANGOFF)
    assert after.raw >= before.raw - 1e-9
    for old, new in zip(before.profile, after.profile, strict=True):
        assert new.earned >= old.earned - 1e-9


@settings(max_examples=200, deadline=None)
@given(forms())
def test_recomputing_reproduces_the_result(case):
    form, answers = case
    assert (
        score_attempt(form, answers, ANGOFF).summary()
        == score_attempt(form, answers, ANGOFF).summary()
    )
