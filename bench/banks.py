"""Benchmark: validate and import a generated 10,000-item bank.

Prints the time of each step and its ratio against a bare CSafeLoader parse of
the same files, measured in the same run on the same machine.

    .venv/bin/python bench/banks.py [--items 10000] [--database-url URL]

Without --database-url it imports into a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATEMENTS = [f"B{number}" for number in range(1, 11)]
ITEMS_PER_FILE = 500


def generate(root: Path, items: int, seed: int = 1) -> None:
    """Write a framework, a bank of ``items`` items in several files, and an assessment."""
    rng = random.Random(seed)
    (root / "frameworks").mkdir(parents=True)
    (root / "assessments").mkdir()
    bank = root / "banks" / "bench-bank"
    bank.mkdir(parents=True)
    framework = {
        "id": "bench-framework", "title": "Benchmark framework", "version": "1",
        "source_url": "https://example.org/framework", "status": "provisional",
        "audience": "practitioner",
        "statements": [
            {"id": key, "number": number, "title": f"Statement {key}", "summary": "A statement."}
            for number, key in enumerate(STATEMENTS, start=1)
        ],
    }  # fmt: skip
    _dump(root / "frameworks/bench-framework.yaml", framework)
    _dump(
        bank / "bank.yaml", {"id": "bench-bank", "title": "Bench", "framework": "bench-framework"}
    )
    scenarios = [
        {"id": f"scn-{n:04d}", "title": f"Scenario {n}", "vignette": "A family.\n\n" * 5}
        for n in range(items // 100)
    ]
    batch: list[dict[str, Any]] = []
    for number in range(items):
        scenario = scenarios[number % len(scenarios)]["id"] if number % 5 == 0 else None
        batch.append(_item(number, rng, scenario))
        if len(batch) == ITEMS_PER_FILE:
            _write_batch(bank, number, batch, scenarios if number < ITEMS_PER_FILE else [])
            batch = []
    if batch:
        _write_batch(bank, items, batch, [])
    assessment = {
        "id": "bench-test", "title": "Bench test",
        "framework": {"id": "bench-framework", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 60,
        "sections": [{"title": "All", "draws": [
            {"bank": "bench-bank", "statements": [key], "count": 3} for key in STATEMENTS
        ]}],
        "pass_mark": {"method": "angoff"}, "results": {"release": "immediate"},
    }  # fmt: skip
    _dump(root / "assessments/bench-test.yaml", assessment)


def _item(number: int, rng: random.Random, scenario: str | None) -> dict[str, Any]:
    options = [{"id": letter, "text": f"Option {letter} of item {number}"} for letter in "abcd"]
    item: dict[str, Any] = {
        "id": f"bench-{number:05d}", "type": "single", "status": "live", "author": "bench",
        "competencies": [rng.choice(STATEMENTS)],
        "stem": f"Question {number}: which option is **right**?\n\nSome context for it.",
        "options": options, "key": rng.choice("abcd"),
        "rationale": "Because the guidance says so.",
        "references": [{"title": "Children Act 1989", "url": "https://www.legislation.gov.uk/ukpga/1989/41"}],
        "angoff": [round(rng.uniform(0.4, 0.9), 2) for _ in range(3)],
    }  # fmt: skip
    if scenario:
        item["scenario"] = scenario
    return item


def _write_batch(
    bank: Path, number: int, items: list[dict[str, Any]], scenarios: list[Any]
) -> None:
    content: dict[str, Any] = {"items": items}
    if scenarios:
        content["scenarios"] = scenarios
    _dump(bank / f"items-{number // ITEMS_PER_FILE:03d}.yaml", content)


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True))


def bare_parse(root: Path) -> None:
    # The fastest plain parse measured here: read the text, then construct with libyaml.
    for path in sorted(root.rglob("*.yaml")):
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def timed(step: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()

    from flask_migrate import upgrade

    from accredit import create_app
    from accredit.banks import load_tree
    from accredit.catalogue.importer import import_tree
    from accredit.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "question_banks"
        generate(root, arguments.items)
        files = len(list(root.rglob("*.yaml")))
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40})
        with app.app_context():
            upgrade()

        bare, _ = timed(lambda: bare_parse(root), repeat=3)
        validate, result = timed(lambda: load_tree(root), repeat=3)
        assert result.ok, result.errors[:5]

        def run_import() -> Any:
            with app.app_context():
                report = import_tree(root)
                db.session.commit()
                return report.succeeded, report.counts["items"]

        first, (succeeded, counts) = timed(run_import)
        assert succeeded, counts
        assert counts["added"] == arguments.items, counts
        again, (succeeded, counts) = timed(run_import)
        assert counts["unchanged"] == arguments.items, counts

    print(f"{arguments.items} items in {files} files; database {url.split(':', 1)[0]}")
    print(f"{'step':32} {'seconds':>8} {'ratio to bare parse':>20}")
    for name, seconds in [
        ("bare CSafeLoader parse", bare),
        ("validate (banks validate)", validate),
        ("first import (validate + write)", first),
        ("second import (all unchanged)", again),
        ("validate + first import", validate + first),
    ]:
        print(f"{name:32} {seconds:8.2f} {seconds / bare:19.1f}x")


if __name__ == "__main__":
    main()
