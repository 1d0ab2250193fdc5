"""Answers are checked against the item before they are stored."""

from __future__ import annotations

import pytest

from accredit.delivery.answers import InvalidAnswer, answer_rules, normalise_answer, storable

OPTIONS = ["a", "b", "c", "d", "e", "f", "g", "h"]


@pytest.mark.parametrize(
    ("item_type", "rules", "answer", "stored"),
    [
        ("single", {}, "c", "c"),
        ("single", {}, None, None),
        ("single", {}, "", None),
        ("multiple", {"select": 3}, ["f", "a"], ["a", "f"]),
        ("multiple", {"select": 3}, ["a", "b", "c"], ["a", "b", "c"]),
        ("multiple", {"select": 3}, [], None),
        (
            "ordering",
            {},
            ["h", "g", "f", "e", "d", "c", "b", "a"],
            ["h", "g", "f", "e", "d", "c", "b", "a"],
        ),
        ("numeric", {}, "26", 26.0),
        ("numeric", {}, " 1,000.5 ", 1000.5),
        ("numeric", {}, 15, 15.0),
        ("text", {"max_length": 20}, "  section 47 ", "section 47"),
        (
            "written",
            {"word_limit": 5},
            "more words than the limit allows here",
            "more words than the limit allows here",
        ),
    ],
)
def test_valid_answers_are_normalised(item_type, rules, answer, stored):
    assert normalise_answer(item_type, rules, OPTIONS, answer) == stored


@pytest.mark.parametrize(
    ("item_type", "rules", "answer", "message"),
    [
        ("single", {}, "z", "Choose one of the options given"),
        ("single", {}, ["a"], "Choose one of the options given"),
        ("multiple", {"select": 3}, ["a", "b", "c", "d"], "no more than 3"),
        ("multiple", {"select": 3}, ["a", "a"], "each once"),
        ("multiple", {"select": 3}, ["zz"], "each once"),
        ("multiple", {"select": 3}, "a", "as a list"),
        ("ordering", {}, ["a", "b"], "different position"),
        ("ordering", {}, ["a", "a", "c", "d", "e", "f", "g", "h"], "different position"),
        ("numeric", {}, "twenty six", "Enter a number"),
        ("numeric", {}, True, "Enter a number"),
        ("numeric", {}, "1e400", "Enter a number"),
        ("text", {"max_length": 5}, "far too long", "5 characters or fewer"),
        ("text", {"max_length": 5}, 42, "as text"),
        ("written", {"word_limit": 5}, "x" * 20_001, "characters or fewer"),
    ],
)
def test_invalid_answers_are_refused_with_a_reason(item_type, rules, answer, message):
    with pytest.raises(InvalidAnswer, match=message):
        normalise_answer(item_type, rules, OPTIONS, answer)


def test_answer_rules_reveal_nothing_about_the_key():
    content = {"type": "multiple", "select": 3, "key": ["a", "b", "c"], "rationale": "x"}
    assert answer_rules("multiple", content) == {"select": 3}
    assert answer_rules("single", {"type": "single", "key": "b"}) == {}


@pytest.mark.parametrize(
    ("item_type", "rules", "answer"),
    [
        ("text", {"max_length": 50}, "section\x0047"),
        ("text", {"max_length": 50}, "lone \ud800 surrogate"),
        ("written", {"word_limit": 5}, "trailing low surrogate \udfff"),
        ("numeric", {}, "26\x00"),
        ("single", {}, "a\x00"),
        ("multiple", {"select": 3}, ["a", "b\x00"]),
        ("ordering", {}, ["\ud800", "b", "c", "d", "e", "f", "g", "h"]),
    ],
)
def test_characters_no_database_can_store_are_refused(item_type, rules, answer):
    with pytest.raises(InvalidAnswer, match="cannot be saved"):
        normalise_answer(item_type, rules, OPTIONS, answer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", True), ("", True), ("naïve café 😀", True), ("a\x00", False), ("\ud83d", False)],
)
def test_storable(text, expected):
    assert storable(text) is expected


def test_a_full_emoji_is_kept():
    assert normalise_answer("written", {"word_limit": 5}, OPTIONS, "well done 😀") == "well done 😀"
