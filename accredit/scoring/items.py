"""Score one item from its stored content and the candidate's answer. Plain Python.

The content is an item version's validated YAML (with its key). Written items
are pending until an assessor marks them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accredit.scoring.text import normalise_text


@dataclass(frozen=True)
class ItemScore:
    """Marks earned and possible; ``pending`` when an assessor must mark the answer."""

    marks: float
    max_marks: float
    pending: bool = False

    @property
    def correct(self) -> bool | None:
        """Say whether the answer earned every mark; None while pending."""
        if self.pending:
            return None
        return math.isclose(self.marks, self.max_marks)


def max_marks(content: Mapping[str, Any]) -> float:
    if content["type"] == "written":
        return float(sum(criterion["marks"] for criterion in content["rubric"]))
    return 1.0


def score_item(content: Mapping[str, Any], answer: Any) -> ItemScore:
    """Return the marks an answer earns on an item, by the item's own scoring rule."""
    kind = content["type"]
    if kind == "written":
        return ItemScore(0.0, max_marks(content), pending=True)
    if answer is None:
        return ItemScore(0.0, 1.0)
    return ItemScore(_RULES[kind](content, answer), 1.0)


def _single(content: Mapping[str, Any], answer: Any) -> float:
    return 1.0 if answer == content["key"] else 0.0


def _multiple(content: Mapping[str, Any], answer: Any) -> float:
    key, chosen = set(content["key"]), set(answer)
    if content.get("scoring", "all_or_nothing") == "all_or_nothing":
        return 1.0 if chosen == key else 0.0
    per_choice = 1.0 / len(key)
    earned = per_choice * len(chosen & key) - per_choice * len(chosen - key)
    return max(0.0, round(earned, 10))


def _ordering(content: Mapping[str, Any], answer: Any) -> float:
    key = list(content["key"])
    if content.get("scoring", "all_or_nothing") == "all_or_nothing":
        return 1.0 if list(answer) == key else 0.0
    in_place = sum(1 for given, right in zip(answer, key, strict=False) if given == right)
    return round(in_place / len(key), 10)


def _numeric(content: Mapping[str, Any], answer: Any) -> float:
    tolerance = float(content.get("tolerance") or 0)
    return 1.0 if abs(float(answer) - float(content["key"])) <= tolerance + 1e-9 else 0.0


def _text(content: Mapping[str, Any], answer: Any) -> float:
    accepted = {normalise_text(value) for value in content["accepted"]}
    return 1.0 if normalise_text(str(answer)) in accepted else 0.0


_RULES = {
    "single": _single,
    "multiple": _multiple,
    "ordering": _ordering,
    "numeric": _numeric,
    "text": _text,
}
