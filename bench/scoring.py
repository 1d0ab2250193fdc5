"""Benchmark: rescore 100,000 attempts of 30 items with the scoring core.

Every attempt goes through ``accredit.scoring.attempt.score_attempt``, the same
call the service, ``results recompute`` and the tests make: item rules, the
competency profile, the per-form Angoff cut with its judge spread and SEM, and
the conjunctive outcome. The baseline is a bare NumPy computation of the same
raw totals from the same answers and keys, timed in the same run. The totals
are checked to agree.

Then, unless ``--stored 0``, the same through the database: void one item and
rescore every stored attempt it touches (see ``bench/stored_rescoring.py``).

    .venv/bin/python bench/scoring.py [--attempts 100000] [--forms 200] [--stored 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accredit.scoring.attempt import FormItem, Rules, score_attempt

ITEMS_PER_FORM = 30
POOL = 600
STATEMENTS = {f"P{number}": f"Statement {number}" for number in range(1, 11)}
OPTIONS = ("a", "b", "c", "d")


def make_pool(rng: random.Random) -> list[dict[str, Any]]:
    pool = []
    for number in range(POOL):
        pool.append(
            {
                "type": "single", "key": rng.choice(OPTIONS),
                "options": [{"id": option} for option in OPTIONS],
                "competencies": [f"P{number % 10 + 1}"],
                "angoff": [round(rng.uniform(0.4, 0.9), 2) for _ in range(4)],
            }
        )  # fmt: skip
    return pool


def make_forms(rng: random.Random, pool: list[dict[str, Any]], count: int) -> list[list[FormItem]]:
    forms = []
    for _ in range(count):
        chosen = rng.sample(range(POOL), ITEMS_PER_FORM)
        forms.append(
            [FormItem(position, f"item-{index}", 1, pool[index])
             for position, index in enumerate(chosen, start=1)]
        )  # fmt: skip
    return forms


def make_attempts(rng: random.Random, forms: list[list[FormItem]], count: int) -> list[Any]:
    """Each attempt: its form number and its answers, about 70% right."""
    attempts = []
    for _ in range(count):
        form_number = rng.randrange(len(forms))
        answers = {
            slot.position: slot.content["key"] if rng.random() < 0.7 else rng.choice(OPTIONS)
            for slot in forms[form_number]
        }
        attempts.append((form_number, answers))
    return attempts


def rescore(forms: list[list[FormItem]], attempts: list[Any], rules: Rules) -> list[float]:
    return [score_attempt(forms[number], answers, rules).raw for number, answers in attempts]


def numpy_totals(forms: list[list[FormItem]], attempts: list[Any]) -> np.ndarray:
    """The bare computation: answers and keys as codes, compared and summed."""
    code = {option: index for index, option in enumerate(OPTIONS)}
    keys = np.array([[code[slot.content["key"]] for slot in form] for form in forms], dtype=np.int8)
    form_index = np.fromiter(
        (number for number, _ in attempts), dtype=np.int32, count=len(attempts)
    )
    answers = np.array(
        [
            [code[answers[position]] for position in range(1, ITEMS_PER_FORM + 1)]
            for _, answers in attempts
        ],
        dtype=np.int8,
    )
    started = time.perf_counter()
    totals = (answers == keys[form_index]).sum(axis=1)
    numpy_totals.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--forms", type=int, default=200)
    parser.add_argument(
        "--stored", type=int, default=100_000,
        help="attempts to store and rescore through the database (0 to skip)",
    )  # fmt: skip
    arguments = parser.parse_args()
    rng = random.Random(2026)
    pool = make_pool(rng)
    forms = make_forms(rng, pool, arguments.forms)
    attempts = make_attempts(rng, forms, arguments.attempts)
    rules = Rules(pass_method="angoff", competency_method="conjunctive",
                  threshold_percent=50, statements=STATEMENTS)  # fmt: skip

    started = time.perf_counter()
    raws = rescore(forms, attempts, rules)
    core_seconds = time.perf_counter() - started

    totals = numpy_totals(forms, attempts)
    bare_seconds = numpy_totals.seconds  # type: ignore[attr-defined]
    assert np.array_equal(np.array(raws), totals), "the scoring core and NumPy disagree"

    print(f"{arguments.attempts} attempts of {ITEMS_PER_FORM} items on {arguments.forms} forms")
    print(f"{'step':44} {'seconds':>9} {'attempts/s':>12}")
    print(f"{'score_attempt (items, profile, Angoff, rule)':44} {core_seconds:9.2f} "
          f"{arguments.attempts / core_seconds:12,.0f}")  # fmt: skip
    print(f"{'bare NumPy totals (answers == keys).sum()':44} {bare_seconds:9.4f} "
          f"{arguments.attempts / bare_seconds:12,.0f}")  # fmt: skip
    print(
        f"ratio (scoring core ÷ bare NumPy): {core_seconds / bare_seconds:,.0f}x slower; the core "
        "also builds profiles, per-form cuts and outcomes, which the bare sum does not"
    )
    print(f"totals agree for all {arguments.attempts} attempts")
    if arguments.stored:
        from stored_rescoring import run

        run(arguments.stored)


if __name__ == "__main__":
    main()
