"""No GET changes the database: every GET route, as every role, over real data.

The walk runs after an accreditation attempt's time has run out but before the
sweep has closed it, the case where reads used to close and score attempts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, select

from accredit.delivery import service
from accredit.models import ImportRun, Item
from accredit.models.delivery import Attempt, AttemptItem, Enrolment
from accredit.models.results import Result
from tests.conftest import Auth
from tests.sitting import answer_for

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "UPSERT", "MERGE", "TRUNCATE", "ALTER", "DROP")


def _sit_practice(db: Any, candidate: Any) -> Attempt:
    attempt, _new = service.start_attempt(candidate, "mini-practice")
    db.session.commit()
    first = attempt.items[0]
    item = {"type": first.item_type, "options": [{"id": o} for o in first.option_order]}
    item["select"] = first.answer_rules.get("select", 1)
    service.save_answer(candidate, attempt.id, 1, answer_for(item), 1)
    service.reveal(candidate, attempt, 1)
    service.submit(candidate, attempt)
    db.session.commit()
    return attempt


@pytest.fixture
def world(app: Any, db: Any, enrol: Any, make_user: Any) -> dict[str, Any]:
    candidate = make_user("candidate")
    enrol(candidate, "mini-test")
    enrol(candidate, "mini-practice")
    people = {
        "candidate": candidate,
        "leader": make_user("leader", organisation=candidate.organisation),
        "assessor": make_user("assessor"),
        "regulator": make_user("regulator"),
        "admin": make_user("admin"),
    }
    with time_machine.travel(T0, tick=False):
        practice = _sit_practice(db, candidate)
        expired, _new = service.start_attempt(candidate, "mini-test")
        db.session.commit()
        slot = expired.items[0]
        item = {"type": slot.item_type, "options": [{"id": o} for o in slot.option_order]}
        service.save_answer(candidate, expired.id, 1, answer_for(item), 1)
        db.session.commit()
    ids = {
        "attempt_id": [expired.id, practice.id],
        "position": [1, 2],
        "candidate_id": [candidate.id],
        "user_id": [user.id for user in people.values()],
        "enrolment_id": list(db.session.scalars(select(Enrolment.id))),
        "run_id": list(db.session.scalars(select(ImportRun.id))),
        "result_id": list(db.session.scalars(select(Result.id))),
        "script_id": list(db.session.scalars(select(AttemptItem.id).limit(3))),
        "job_id": [1, 2],
        "export_id": [1],
        "token_id": [1],
        "key": ["mini-test", "mini-practice", *db.session.scalars(select(Item.key).limit(3))],
    }
    return {"people": people, "ids": ids, "expired": expired.id}


def _urls(app: Any, ids: dict[str, list[Any]]) -> list[str]:
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static"):
            continue
        choices: list[dict[str, Any]] = [{}]
        for name in rule.arguments:
            values = ids.get(name) or sorted({v for group in ids.values() for v in group}, key=str)
            choices = [{**choice, name: value} for choice in choices for value in values]
        urls += [adapter.build(rule.endpoint, choice) for choice in choices]
    return urls


@pytest.mark.parametrize("role", ["candidate", "leader", "assessor", "regulator", "admin"])
def test_no_get_route_writes_to_the_database(app, db, world, role):
    person = world["people"][role]
    client = app.test_client()
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        assert Auth(client).login(person.email).status_code == 302
        urls = _urls(app, world["ids"])
        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            statuses = {url: client.get(url).status_code for url in urls}
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
    assert len(urls) > 20
    assert all(status < 500 for status in statuses.values()), {
        url: status for url, status in statuses.items() if status >= 500
    }
    assert any(status == 200 for status in statuses.values())
    assert statements, "the walk read the database"
    writes = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    assert writes == []
    expired = db.session.get(Attempt, world["expired"])
    db.session.refresh(expired)
    assert expired.submitted_at is None, "only the sweep or a write closes an expired attempt"
    assert db.session.scalar(select(Result).filter_by(attempt_id=world["expired"])) is None
