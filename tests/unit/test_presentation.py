"""What a candidate reads in feedback names options by their text, never by internal ids."""

from __future__ import annotations

from accredit.web.presentation import answer_in_words, rationale_in_words

ITEM = {
    "type": "single",
    "key": "b",
    "options": [
        {"id": "a", "text": "Visit the school"},
        {"id": "b", "text": "Speak to the child alone"},
        {"id": "c", "text": "Close the case"},
    ],
    "rationale": (
        "Speaking to the child is what section 47(1)(b) and s.17(a) leave room for. "
        "Option (a) is useful later; closing the case (c) leaves the risk unassessed."
    ),
}


def test_the_answer_is_named_by_its_text():
    assert answer_in_words(ITEM) == "Speak to the child alone"
    multiple = {**ITEM, "type": "multiple", "key": ["a", "c"]}
    assert answer_in_words(multiple) == "Visit the school; Close the case"
    ordering = {**ITEM, "type": "ordering", "key": ["c", "a", "b"]}
    assert answer_in_words(ordering) == (
        "1. Close the case → 2. Visit the school → 3. Speak to the child alone"
    )


def test_the_rationale_names_options_by_their_text_and_leaves_citations_alone():
    rendered = str(rationale_in_words(ITEM))
    assert "“Visit the school” is useful later" in rendered
    assert "closing the case (“Close the case”) leaves" in rendered
    assert "section 47(1)(b)" in rendered
    assert "s.17(a)" in rendered
    assert "Option (a)" not in rendered


def test_a_rationale_without_options_is_rendered_as_it_is():
    numeric = {"type": "numeric", "key": 26, "rationale": "Within (a) week."}
    assert "Within (a) week." in str(rationale_in_words(numeric))
