"""Jobs: create one, hand it to the queue once its transaction commits, and report progress.

A job is enqueued only after the request (or command) that created it has
committed, so a worker never looks for a job that is not there yet, and a
request that rolls back leaves no orphan job behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accredit import clock
from accredit.errors import NotFound
from accredit.extensions import db
from accredit.models import User
from accredit.models.jobs import Job

PENDING = "accredit.jobs.pending"


def create(kind: str, params: dict[str, Any], *, actor: User | None) -> Job:
    job = Job(kind=kind, params=params, state="queued", done=0,
              created_by_id=actor.id if actor else None)  # fmt: skip
    db.session.add(job)
    db.session.flush()
    return job


def after_commit(enqueue: Callable[[int], Any], job: Job) -> None:
    """Hand the job to the queue once this transaction commits (and never if it rolls back)."""
    session = db.session()
    pending = session.info.setdefault(PENDING, [])
    pending.append((enqueue, job.id))
    if not event.contains(session, "after_commit", _enqueue_pending):
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_rollback", _forget_pending)


def _enqueue_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, [])
    for enqueue, job_id in pending:
        enqueue(job_id)


def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


def get(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job")
    return job


# A job queued or running for longer than this is taken to have been lost with its worker.
STALLED_AFTER = timedelta(minutes=30)


def latest_open(kind: str, **params: Any) -> Job | None:
    """The newest job of this kind, with these parameters, still queued or running."""
    recent = db.session.scalars(
        select(Job)
        .where(
            Job.kind == kind,
            Job.state.in_(("queued", "running")),
            Job.created_at >= clock.now() - STALLED_AFTER,
        )
        .order_by(Job.id.desc())
        .limit(50)
    )
    for job in recent:
        if all(job.params.get(name) == value for name, value in params.items()):
            return job
    return None


def open_of_kind(kind: str) -> list[Job]:
    """Jobs of this kind still queued or running (and not stalled), newest first."""
    return list(
        db.session.scalars(
            select(Job)
            .where(
                Job.kind == kind,
                Job.state.in_(("queued", "running")),
                Job.created_at >= clock.now() - STALLED_AFTER,
            )
            .order_by(Job.id.desc())
        )
    )


def started(job: Job, total: int) -> None:
    job.state, job.total, job.started_at = "running", total, job.started_at or clock.now()
    job.done = min(job.done, total)


def advanced(job: Job, done: int) -> None:
    job.done = min(done, job.total if job.total is not None else done)


def finished(job: Job, message: str) -> None:
    job.state, job.message, job.finished_at = "done", message, clock.now()
    if job.total is not None:
        job.done = job.total


def failed(job: Job, message: str) -> None:
    job.state, job.message, job.finished_at = "failed", message, clock.now()
