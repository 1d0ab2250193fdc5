"""Check and normalise a candidate's answer against the item it answers. Plain Python.

A save that breaks a rule (an option that does not exist, more choices than the
item allows, text past its cap, a character no database can store) is refused
with a clear message, never stored.
An empty answer clears the response.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from accredit.errors import DomainError

WRITTEN_MAX_CHARACTERS = 20_000
NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")


class InvalidAnswer(DomainError):
    code = "invalid_answer"
    status = 422


def answer_rules(item_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Return what an answer to this item must satisfy, without anything that reveals the key."""
    rules: dict[str, Any] = {}
    if item_type == "multiple":
        rules["select"] = content["select"]
    elif item_type == "text":
        rules["max_length"] = content.get("max_length", 200)
    elif item_type == "written":
        rules["word_limit"] = content["word_limit"]
    return rules


def normalise_answer(
    item_type: str, rules: dict[str, Any], options: Sequence[str], answer: Any
) -> Any:
    """Return the answer in its stored form, None when it is empty, or raise InvalidAnswer."""
    if answer is None or answer == "" or answer == []:
        return None
    values = answer if isinstance(answer, list) else [answer]
    if any(isinstance(value, str) and not storable(value) for value in values):
        raise InvalidAnswer(
            "Your answer contains a character that cannot be saved, such as a null character. "
            "Remove it and try again"
        )
    checker = _CHECKERS.get(item_type)
    if checker is None:
        raise InvalidAnswer(f"Unknown item type {item_type!r}")
    return checker(rules, options, answer)


def storable(text: str) -> bool:
    """Say whether every database can store text: no NUL, no lone surrogate.

    PostgreSQL refuses both (SQLite would keep them), so they are refused everywhere.
    """
    if text.isascii():
        return "\x00" not in text
    return "\x00" not in text and not any("\ud800" <= character <= "\udfff" for character in text)


def _single(_rules: dict[str, Any], options: Sequence[str], answer: Any) -> str:
    if not isinstance(answer, str) or answer not in options:
        raise InvalidAnswer("Choose one of the options given")
    return answer


def _multiple(rules: dict[str, Any], options: Sequence[str], answer: Any) -> list[str]:
    if not isinstance(answer, list) or not all(isinstance(value, str) for value in answer):
        raise InvalidAnswer("Send the chosen options as a list")
    if len(set(answer)) != len(answer) or not set(answer) <= set(options):
        raise InvalidAnswer("Choose only options that are given, each once")
    if len(answer) > rules["select"]:
        raise InvalidAnswer(f"Choose no more than {rules['select']} answers")
    # Stored in the form's option order, so the same choice always looks the same.
    return [option for option in options if option in answer]


def _ordering(_rules: dict[str, Any], options: Sequence[str], answer: Any) -> list[str]:
    if not isinstance(answer, list) or sorted(map(str, answer)) != sorted(options):
        raise InvalidAnswer("Give every statement a different position")
    return [str(value) for value in answer]


def _numeric(_rules: dict[str, Any], _options: Sequence[str], answer: Any) -> float:
    if isinstance(answer, bool):
        raise InvalidAnswer("Enter a number")
    if isinstance(answer, str):
        cleaned = answer.strip().replace(" ", "")
        if not NUMBER.match(cleaned):
            raise InvalidAnswer("Enter a number, like 26 or 2.5")
        answer = float(cleaned.replace(",", ""))
    if not isinstance(answer, int | float) or not math.isfinite(answer) or abs(answer) >= 1e9:
        raise InvalidAnswer("Enter a number, like 26 or 2.5")
    return float(answer)


def _text(rules: dict[str, Any], _options: Sequence[str], answer: Any) -> str:
    if not isinstance(answer, str):
        raise InvalidAnswer("Enter your answer as text")
    text: str = answer.strip()
    if len(text) > int(rules["max_length"]):
        raise InvalidAnswer(f"Answer must be {rules['max_length']} characters or fewer")
    return text


def _written(_rules: dict[str, Any], _options: Sequence[str], answer: Any) -> str:
    if not isinstance(answer, str):
        raise InvalidAnswer("Enter your answer as text")
    # Over the word limit is kept (markers see it flagged): refusing it would lose work.
    if len(answer) > WRITTEN_MAX_CHARACTERS:
        raise InvalidAnswer(f"Answer must be {WRITTEN_MAX_CHARACTERS:,} characters or fewer")
    return answer


def word_count(text: str) -> int:
    return len(text.split())


_CHECKERS = {
    "single": _single,
    "multiple": _multiple,
    "ordering": _ordering,
    "numeric": _numeric,
    "text": _text,
    "written": _written,
}
