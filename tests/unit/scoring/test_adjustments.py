"""Key decisions applied in scoring: rekey, several keys, credit and void, worked by hand."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accredit.scoring.attempt import Adjustment, FormItem, Rules, score_attempt

ANGOFF = Rules(pass_method="angoff", statements={"A": "A"})


def single(position, key="a", angoff=(0.5, 0.7)):
    content = {"type": "single", "key": key, "angoff": list(angoff), "competencies": ["A"],
               "options": [{"id": letter} for letter in "abcd"]}  # fmt: skip
    return FormItem(position, f"item-{position}", 1, content)


def text(position):
    content = {"type": "text", "accepted": ["section 47"], "angoff": [0.5], "competencies": ["A"]}
    return FormItem(position, f"item-{position}", 1, content)


def adjusted(slot, decision, key=None, keys=()):
    return dataclasses.replace(slot, adjustment=Adjustment(decision, key, tuple(keys)))


FORM = [single(1), single(2, angoff=(0.9, 0.9)), single(3, angoff=(0.2, 0.4))]
ANSWERS = {1: "b", 2: "a", 3: "c"}


def test_without_a_decision_nothing_changes():
    result = score_attempt(FORM, ANSWERS, ANGOFF)
    # Right only on 2; cut 0.6 + 0.9 + 0.3 = 1.8.
    assert (result.raw, result.maximum, result.cut.marks) == (1, 3, pytest.approx(1.8))


def test_rekey_scores_against_the_new_key_and_reports_it():
    form = [adjusted(FORM[0], "rekey", key="b"), *FORM[1:]]
    result = score_attempt(form, ANSWERS, ANGOFF)
    assert result.raw == 2
    assert result.items[0].key == "b"


def test_several_keys_accept_any_of_them():
    form = [FORM[0], FORM[1], adjusted(FORM[2], "keys", keys=["a", "c"])]
    result = score_attempt(form, ANSWERS, ANGOFF)
    assert result.raw == 2
    assert result.items[2].key == ["a", "c"]


def test_a_text_item_may_accept_more_answers():
    form = [adjusted(text(1), "keys", keys=["section 47", "s47"])]
    assert score_attempt(form, {1: "S47"}, ANGOFF).raw == 1


def test_credit_gives_everyone_the_marks_answered_or_not():
    form = [adjusted(FORM[0], "credit"), *FORM[1:]]
    assert score_attempt(form, {}, ANGOFF).raw == 1
    assert score_attempt(form, ANSWERS, ANGOFF).raw == 2


def test_void_leaves_the_score_the_maximum_and_the_cut():
    form = [*FORM[:2], adjusted(FORM[2], "void")]
    result = score_attempt(form, {**ANSWERS, 3: "a"}, ANGOFF)
    # Without item 3: right on 2 of 2 items; cut 0.6 + 0.9.
    assert (result.raw, result.maximum, result.cut.marks) == (1, 2, pytest.approx(1.5))
    assert result.items[2].void
    assert [s.possible for s in result.profile] == [2]


@given(st.lists(st.sampled_from("abcd"), min_size=3, max_size=3))
def test_keep_is_the_same_as_no_decision(answers):
    given_answers = dict(enumerate(answers, start=1))
    kept = [adjusted(slot, "keep") for slot in FORM]
    assert (
        score_attempt(kept, given_answers, ANGOFF).summary()
        == score_attempt(FORM, given_answers, ANGOFF).summary()
    )
