"""A generated cohort for item analysis: candidates of known ability sit a short test, one of
whose items is deliberately miskeyed (the bank's key is a distractor that strong candidates
avoid), through the real delivery service."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from accredit.catalogue.importer import import_tree
from accredit.delivery import service as delivery
from accredit.extensions import db
from accredit.models import Item, User
from accredit.models.delivery import Attempt
from tests.sitting import FRAMEWORK

KEY = "cohort-test"
ITEMS = 12
MISKEYED = "co-07"
TRUE_ANSWER = "b"  # what strong candidates choose for every item, the miskeyed one included
BANK_KEY = {f"co-{n:02d}": "b" for n in range(ITEMS)} | {MISKEYED: "a"}


def _item(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id, "type": "single", "status": "live", "author": "tests",
        "competencies": ["M1" if int(item_id[-2:]) % 2 else "M2"],
        "stem": f"Stem of {item_id}", "rationale": f"Why {item_id}",
        "references": [{"title": "Children Act 1989"}], "angoff": [0.5, 0.6],
        "options": [{"id": letter, "text": f"Option {letter}"} for letter in "abcd"],
        "key": BANK_KEY[item_id],
    }  # fmt: skip


def write_cohort_tree(root: Path, **assessment: Any) -> Path:
    base = root / "question_banks"
    for folder in ("frameworks", "banks/cohort", "assessments"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    dump = lambda path, data: path.write_text(yaml.safe_dump(data, sort_keys=False))  # noqa: E731
    dump(base / "frameworks/mini.yaml", FRAMEWORK)
    dump(base / "banks/cohort/bank.yaml", {"id": "cohort", "title": "Cohort", "framework": "mini"})
    dump(base / "banks/cohort/items.yaml", {"items": [_item(k) for k in sorted(BANK_KEY)]})
    spec = {
        "id": KEY, "title": "Cohort test", "framework": {"id": "mini", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 30,
        "sections": [{"title": "All", "draws": [{"bank": "cohort", "fixed": sorted(BANK_KEY)}]}],
        "pass_mark": {"method": "fixed", "percent": 50},
        "attempts": {"max_attempts": 3, "cool_off_days": 0},
        "results": {"release": "immediate"},
        **assessment,
    }  # fmt: skip
    dump(base / f"assessments/{KEY}.yaml", spec)
    return base


def import_cohort(root: Path, **assessment: Any) -> None:
    report = import_tree(write_cohort_tree(root, **assessment))
    db.session.commit()
    assert report.succeeded, report.run.errors


def sit_cohort(make_user: Callable[..., User], size: int, seed: int = 7) -> list[Attempt]:
    """``size`` candidates, abilities spread evenly from -2 to 2, each answering every item.

    A candidate chooses the true answer with the Rasch probability for their
    ability and the item's difficulty (spread from -1 to 1), and a random wrong
    option otherwise, so every item discriminates as real items should.
    """
    attempts = []
    for n in range(size):
        ability = -2 + 4 * n / max(1, size - 1)
        candidate = make_user("candidate")
        delivery.enrol(candidate, KEY, actor=None)
        attempt, _ = delivery.start_attempt(candidate, KEY)
        for slot in attempt.items:
            item_key = db.session.get_one(Item, slot.item_id).key
            difficulty = -1 + 2 * int(item_key[-2:]) / (ITEMS - 1)
            right = 1 / (1 + math.exp(-1.7 * (ability - difficulty)))
            # Seeded by candidate and item, so shuffled forms give the same answers every run.
            chance = random.Random(f"{seed}:{n}:{item_key}")
            wrong = sorted(option for option in slot.option_order if option != TRUE_ANSWER)
            choice = TRUE_ANSWER if chance.random() < right else chance.choice(wrong)
            delivery.save_answer(candidate, attempt.id, slot.position, choice, 1)
        delivery.submit(candidate, attempt)
        db.session.commit()
        attempts.append(attempt)
    return attempts
