"""An acknowledged answer is always scored: saves racing the candidate's own submit.

Eight saves and a submit of the same attempt start together, hundreds of times.
Every save is either acknowledged and in the stored result, or refused because the
attempt had closed, and recomputing finds nothing to change. Under CI this runs on
PostgreSQL too, where the race is real (SQLite serialises every write).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from sqlalchemy import select

from accredit.catalogue.importer import import_tree
from accredit.delivery import service
from accredit.models import User
from accredit.models.delivery import Attempt
from accredit.models.results import Result, ScoredPosition
from accredit.results import service as results
from tests.sitting import answer_for, assessment, write_tree

# SQLite serialises every write, so the race is only real on PostgreSQL: race hardest there.
ROUNDS = 200 if os.environ.get("ACCREDIT_TEST_DATABASE_URL") else 60
SAVERS = 8


@pytest.fixture
def racing_catalogue(db: Any, tmp_path: Any) -> None:
    """The mini banks, with an assessment that may be sat any number of times."""
    report = import_tree(write_tree(tmp_path, [assessment("mini-race", attempts={})]))
    db.session.commit()
    assert report.succeeded, report.run.errors


def _answer(slot: Any) -> Any:
    item = {"type": slot.item_type, "options": [{"id": option} for option in slot.option_order]}
    item["select"] = slot.answer_rules.get("select", 1)
    return answer_for(item)


def _race(app: Any, candidate_id: int, attempt_id: int, answers: dict[int, Any]) -> set[int]:
    """Run the saves and the submit together; return the positions whose save was acknowledged."""
    from accredit.extensions import db

    barrier = threading.Barrier(len(answers) + 1)
    acknowledged: set[int] = set()
    failures: list[BaseException] = []

    def save(position: int) -> None:
        with app.app_context():
            try:
                candidate = db.session.get_one(User, candidate_id)
                barrier.wait(timeout=30)
                saved = service.save_answer(
                    candidate, attempt_id, position, answers[position], seq=1
                )
                db.session.commit()
                if saved.stored:
                    acknowledged.add(position)
            except (service.AttemptClosed, service.DeadlinePassed):
                db.session.rollback()
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    def submit() -> None:
        with app.app_context():
            try:
                candidate = db.session.get_one(User, candidate_id)
                attempt = db.session.get_one(Attempt, attempt_id)
                barrier.wait(timeout=30)
                assert service.submit(candidate, attempt)
                db.session.commit()
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=save, args=(position,)) for position in answers]
    threads.append(threading.Thread(target=submit))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return acknowledged


@pytest.mark.slow
def test_every_acknowledged_save_is_in_the_stored_result(app, db, candidate, racing_catalogue):
    service.enrol(candidate, "mini-race", actor=None)
    db.session.commit()
    candidate_id = candidate.id
    outcomes = {"in time": 0, "refused": 0}
    for _round in range(ROUNDS):
        sitter = db.session.get_one(User, candidate_id)
        attempt, created = service.start_attempt(sitter, "mini-race")
        db.session.commit()
        assert created
        answers = {slot.position: _answer(slot) for slot in attempt.items[:SAVERS]}
        attempt_id = attempt.id
        db.session.remove()

        acknowledged = _race(app, candidate_id, attempt_id, answers)

        result = db.session.scalar(select(Result).filter_by(attempt_id=attempt_id))
        scored = {
            row.position: row.answer
            for row in db.session.scalars(select(ScoredPosition).filter_by(result_id=result.id))
        }
        for position in answers:
            if position in acknowledged:
                assert scored[position] is not None, f"acknowledged save {position} not scored"
            else:
                assert scored[position] is None, f"refused save {position} was scored"
        outcomes["in time"] += len(acknowledged)
        outcomes["refused"] += len(answers) - len(acknowledged)
        db.session.remove()
    checked, changes = results.recompute("mini-race")
    assert checked == ROUNDS
    assert changes == []
    # Both sides of the race happened: some saves beat the submit, and some came too late.
    assert outcomes["in time"] > 0
    assert outcomes["refused"] > 0
