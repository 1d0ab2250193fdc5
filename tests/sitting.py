"""A small, complete question-bank tree for sitting tests, and helpers to enrol and start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FRAMEWORK = {
    "id": "mini", "title": "Mini framework", "version": "1",
    "source_url": "https://example.org/mini", "status": "provisional", "audience": "practitioner",
    "statements": [
        {"id": "M1", "number": 1, "title": "First", "summary": "The first statement."},
        {"id": "M2", "number": 2, "title": "Second", "summary": "The second statement."},
    ],
}  # fmt: skip

REFERENCE = [{"title": "Children Act 1989"}]


def _item(item_id: str, kind: str, statement: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id, "type": kind, "status": "live", "author": "tests", "competencies": [statement],
        "stem": f"Stem of {item_id}", "rationale": f"RATIONALE-OF-{item_id}", "references": REFERENCE,
        "angoff": [0.6, 0.7], **fields,
    }  # fmt: skip


def _options(count: int) -> list[dict[str, str]]:
    return [{"id": letter, "text": f"Option {letter}"} for letter in "abcdefgh"[:count]]


RUBRIC = [
    {"id": "a", "criterion": "Names the risk", "marks": 2, "levels": [
        {"marks": 0, "descriptor": "No risk named"},
        {"marks": 1, "descriptor": "A risk named but not explained"},
        {"marks": 2, "descriptor": "The risk named and explained"}]},
    {"id": "b", "criterion": "Weighs the evidence", "marks": 1, "levels": [
        {"marks": 0, "descriptor": "Evidence not weighed"},
        {"marks": 1, "descriptor": "Evidence weighed"}]},
    {"id": "c", "criterion": "Plans the next step", "marks": 1, "levels": [
        {"marks": 0, "descriptor": "No next step"},
        {"marks": 1, "descriptor": "A clear next step"}]},
]  # fmt: skip

ITEMS = [
    *[_item(f"s-{n}", "single", "M1", options=_options(4), key="b") for n in range(4)],
    _item("m-1", "multiple", "M2", options=_options(6), select=2, key=["a", "c"]),
    _item("m-2", "multiple", "M2", options=_options(6), select=2, key=["b", "d"], scoring="partial"),
    _item("o-1", "ordering", "M2", options=_options(4), key=["c", "a", "d", "b"]),
    _item("n-1", "numeric", "M2", key=26, unit="weeks"),
    _item("t-1", "text", "M1", accepted=["section 47", "s47"]),
    _item("w-1", "written", "M1", word_limit=100,
          rubric=RUBRIC),
    *[_item(f"c-{n}", "single", "M1", options=_options(4), key="a", scenario="scn-mini")
      for n in range(3)],
]  # fmt: skip


def _practice_copy(item: dict[str, Any]) -> dict[str, Any]:
    """A practice-only twin of an item: the practice test never draws accreditation items."""
    copy = {**item, "id": f"p{item['id']}", "use": ["practice"], "stem": f"Stem of p{item['id']}",
            "rationale": f"RATIONALE-OF-p{item['id']}"}  # fmt: skip
    if "scenario" in item:
        copy["scenario"] = "scn-mini-practice"
    return copy


ITEMS += [_practice_copy(item) for item in list(ITEMS)]

SCENARIOS = [
    {"id": "scn-mini", "title": "The Smith family", "vignette": "VIGNETTE of the family."},
    {
        "id": "scn-mini-practice",
        "title": "The Jones family",
        "vignette": "VIGNETTE of the Joneses.",
    },
]


def assessment(key: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": key, "title": f"Assessment {key}", "framework": {"id": "mini", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 10,
        "sections": [
            {"title": "Knowledge", "draws": [
                {"bank": "mini", "statements": ["M1"], "count": 3, "types": ["single"]},
                {"bank": "mini", "statements": ["M2"], "count": 4},
                {"bank": "mini", "statements": ["M1"], "count": 1, "types": ["text"]},
            ]},
            {"title": "Case", "draws": [{"bank": "mini", "scenarios": 1, "items_each": 3}]},
        ],
        "pass_mark": {"method": "angoff"},
        "attempts": {"max_attempts": 2, "cool_off_days": 30},
        "results": {"release": "immediate"},
    }  # fmt: skip
    data.update(overrides)
    return data


def write_tree(root: Path, assessments: list[dict[str, Any]] | None = None) -> Path:
    """Write the mini tree under root/question_banks and return that folder."""
    base = root / "question_banks"
    for folder in ("frameworks", "banks/mini", "assessments"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    dump = lambda path, data: path.write_text(yaml.safe_dump(data, sort_keys=False))  # noqa: E731
    dump(base / "frameworks/mini.yaml", FRAMEWORK)
    dump(base / "banks/mini/bank.yaml", {"id": "mini", "title": "Mini bank", "framework": "mini"})
    dump(base / "banks/mini/items.yaml", {"scenarios": SCENARIOS, "items": ITEMS})
    practice = assessment(
        "mini-practice", mode="practice", time_limit_minutes=None, attempts={},
        results={"release": "immediate", "review": True}, feedback="after_each_item",
    )  # fmt: skip
    for spec in assessments or [assessment("mini-test"), practice]:
        dump(base / f"assessments/{spec['id']}.yaml", spec)
    return base


def answer_for(item: dict[str, Any]) -> Any:
    """Return a valid (not necessarily right) answer to an item from the API."""
    options = [option["id"] for option in item["options"]]
    return {
        "single": options[:1] and options[0],
        "multiple": options[: item.get("select", 1)],
        "ordering": options,
        "numeric": "26",
        "text": "section 47",
        "written": "An answer in words.",
    }[item["type"]]
