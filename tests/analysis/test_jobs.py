"""Rescoring as a background job: progress a page can show, safe to resume after a failure,
and enqueued only when the decision's transaction commits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accredit import worker as tasks
from accredit.analysis import keys
from accredit.jobs import service as jobs
from accredit.models.jobs import Job
from accredit.models.results import ResultRevision
from accredit.results import service as results
from tests.cohort import KEY, MISKEYED, import_cohort, sit_cohort
from tests.conftest import Auth


@pytest.fixture
def cohort(db, tmp_path, make_user):
    import_cohort(tmp_path)
    return sit_cohort(make_user, 30)


def test_a_job_that_stops_part_way_finishes_when_run_again(db, cohort, monkeypatch):
    decision, preview, job = keys.commit(
        keys.propose(KEY, MISKEYED, "rekey", key="b", reason="Distractor keyed"), actor=None
    )
    db.session.commit()
    monkeypatch.setattr(tasks, "CHUNK", 10)
    real = keys.rescore_for
    calls = {"n": 0}

    def flaky(decision_id, attempt_ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return real(decision_id, attempt_ids)

    monkeypatch.setattr(keys, "rescore_for", flaky)
    with pytest.raises(RuntimeError):
        tasks.run_rescore(job.id)
    stopped = db.session.get(Job, job.id)
    assert (stopped.state, stopped.done) == ("failed", 10)
    assert "It will be tried again" in stopped.message
    assert results.recompute()[1] != [], "the rest is still to do"

    tasks.run_rescore(job.id)  # the retry

    done = db.session.get(Job, job.id)
    assert (done.state, done.done, done.total) == ("done", 30, 30)
    assert results.recompute()[1] == []
    revisions = db.session.scalar(
        select(func.count()).select_from(ResultRevision).filter_by(key_decision_id=decision.id)
    )
    assert revisions == len(preview.changes), "no result rescored twice"


def test_the_job_page_shows_progress_and_the_outcome(app, db, cohort, make_user):
    lead = make_user("assessor")
    lead.lead_assessor = True
    db.session.commit()
    client = app.test_client()
    Auth(client).login(lead.email)

    done = client.post(
        f"/assessor/analysis/{KEY}/items/{MISKEYED}/decide",
        data={"decision": "void", "reason": "Ambiguous stem"},
    )
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)

    assert "Rescoring finished" in page
    assert "30 of 30 results checked" in page
    assert '<progress class="app-progress" max="30" value="30"' in page


def test_a_rolled_back_decision_enqueues_nothing(db, cohort, monkeypatch):
    enqueued = []
    monkeypatch.setattr(tasks, "enqueue_rescore", enqueued.append)
    _decision, _preview, job = keys.commit(
        keys.propose(KEY, MISKEYED, "void", reason="x"), actor=None
    )
    jobs.after_commit(tasks.enqueue_rescore, job)
    db.session.rollback()
    db.session.commit()

    assert enqueued == []
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_the_cli_shows_progress_and_reports_what_changed(db, cohort, runner):
    done = runner.invoke(
        args=["keys", "decide", "--assessment", KEY, "--item", MISKEYED, "--decision", "void",
              "--reason", "Ambiguous"]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Rescoring" in done.output
    assert "rescored 30 results" in done.output
    job_id = db.session.scalar(select(func.max(Job.id)))
    status = runner.invoke(args=["jobs", "status", str(job_id)])
    assert "done, 30 of 30" in status.output


def test_the_queue_uses_redis_when_told_to(monkeypatch, tmp_path):
    import redis
    from huey import RedisHuey, SqliteHuey

    from accredit.jobs.queue import make_queue

    monkeypatch.setenv("ACCREDIT_JOBS_FILE", str(tmp_path / "jobs.sqlite"))
    monkeypatch.delenv("ACCREDIT_REDIS_URL", raising=False)
    assert isinstance(make_queue(), SqliteHuey)
    monkeypatch.setenv("ACCREDIT_REDIS_URL", "redis://127.0.0.1:6379/15")
    queue = make_queue()
    assert isinstance(queue, RedisHuey)
    try:
        queue.storage.flush_queue()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    queue.storage.enqueue(b"a task")
    assert queue.pending_count() == 1
    assert queue.storage.dequeue() == b"a task"
    queue.storage.flush_queue()
