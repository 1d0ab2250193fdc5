"""First and second marks arriving at the same moment still agree, exactly once.

Both markers of a script submit together, many times over. Whatever the timing,
the second to land sees the first's mark, so each script ends with one agreed
mark and one audit event for it. Under CI this runs on PostgreSQL too, where the
race is real.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from accredit import audit
from accredit.marking import service as marking
from accredit.marking.rules import ScriptState
from accredit.models import AuditEvent, User
from accredit.models.marking import AgreedMark
from tests.marking_world import World, import_written, make_world, script_of

ROUNDS = 30 if os.environ.get("ACCREDIT_TEST_DATABASE_URL") else 10
TOP = {"a": 2, "b": 1, "c": 1}


@pytest.fixture
def world(db, tmp_path, make_user, make_org) -> World:
    import_written(tmp_path)
    return make_world(make_user, make_org)


def _race(app: Any, script_id: int, marker_ids: list[int]) -> list[BaseException]:
    from accredit.extensions import db

    barrier = threading.Barrier(len(marker_ids))
    failures: list[BaseException] = []

    def give(marker_id: int) -> None:
        with app.app_context():
            try:
                marker = db.session.get_one(User, marker_id)
                barrier.wait(timeout=30)
                marking.mark_script(script_id, marker, TOP)
                db.session.commit()
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=give, args=(m,)) for m in marker_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_simultaneous_first_and_second_marks_agree_once(app, db, world):
    scripts = [script_of(world.sit()) for _ in range(ROUNDS)]
    for script_id in scripts:
        fact = marking.script(script_id)
        markers = [fact.allocations["first"].marker_id, fact.allocations["second"].marker_id]
        db.session.remove()

        assert _race(app, script_id, markers) == []

    db.session.expire_all()
    for script_id in scripts:
        assert marking.script(script_id).state in (ScriptState.AGREED, ScriptState.IN_MODERATION)
    assert db.session.scalar(select(func.count()).select_from(AgreedMark)) == ROUNDS
    agreed_events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "marking.agreed")
    )
    assert agreed_events == ROUNDS
    assert audit.verify()[1] is None
