"""Item scoring rules, table by table."""

from __future__ import annotations

import pytest

from accredit.scoring.items import max_marks, score_item
from accredit.scoring.text import normalise_text

SINGLE = {"type": "single", "key": "b"}
MULTIPLE = {"type": "multiple", "select": 3, "key": ["a", "c", "f"]}
PARTIAL = {**MULTIPLE, "scoring": "partial"}
ORDERING = {"type": "ordering", "key": ["c", "a", "d", "b"]}
PROPORTION = {**ORDERING, "scoring": "proportion"}
NUMERIC = {"type": "numeric", "key": 26, "tolerance": 0}
TOLERANT = {"type": "numeric", "key": 2.5, "tolerance": 0.5}
TEXT = {"type": "text", "accepted": ["section 47", "s47", "s.47"]}
WRITTEN = {"type": "written", "rubric": [{"id": "a", "marks": 4}, {"id": "b", "marks": 6}]}


@pytest.mark.parametrize(
    ("content", "answer", "marks"),
    [
        (SINGLE, "b", 1), (SINGLE, "a", 0), (SINGLE, None, 0),
        (MULTIPLE, ["a", "c", "f"], 1), (MULTIPLE, ["a", "c"], 0), (MULTIPLE, ["a", "c", "d"], 0),
        (PARTIAL, ["a", "c", "f"], 1), (PARTIAL, ["a", "c"], 2 / 3), (PARTIAL, ["a"], 1 / 3),
        (PARTIAL, ["a", "c", "d"], 1 / 3), (PARTIAL, ["a", "d", "e"], 0), (PARTIAL, ["d", "e", "g"], 0),
        (ORDERING, ["c", "a", "d", "b"], 1), (ORDERING, ["a", "c", "d", "b"], 0),
        (PROPORTION, ["c", "a", "d", "b"], 1), (PROPORTION, ["a", "c", "d", "b"], 0.5),
        (PROPORTION, ["b", "d", "a", "c"], 0),
        (NUMERIC, 26.0, 1), (NUMERIC, 25.0, 0), (TOLERANT, 2.0, 1), (TOLERANT, 3.0, 1), (TOLERANT, 3.01, 0),
        (TEXT, "Section 47", 1), (TEXT, "  S.47 ", 1), (TEXT, "s 47", 1), (TEXT, "section17", 0), (TEXT, "section 17", 0),
    ],
)  # fmt: skip
def test_scoring_rules(content, answer, marks):
    score = score_item(content, answer)
    assert score.marks == pytest.approx(marks)
    assert score.max_marks == 1
    assert not score.pending


def test_written_items_are_pending_until_marked():
    score = score_item(WRITTEN, "My answer")
    assert score.pending
    assert score.correct is None
    assert score.max_marks == max_marks(WRITTEN) == 10


@pytest.mark.parametrize(
    ("text", "normal"),
    [("  Section   47 ", "section 47"), ("S.47", "s 47"), ("2.5 weeks", "2.5 weeks"),
     ("Children’s", "children s"), ("ＦＵＬＬ width", "full width"), ("end.", "end")],
)  # fmt: skip
def test_text_normalisation(text, normal):
    assert normalise_text(text) == normal
