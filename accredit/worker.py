"""The background worker's tasks, an entry point like the web and the command line.

Each task is its own boundary: it commits as it goes.

A rescoring commits chunk by chunk. If it stops part-way (a crash, a database
restart), the queue retries it; rescoring is safe to repeat, since a result
already rescored has nothing left to change, so the retry finishes the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context

from accredit.extensions import db
from accredit.jobs import service as jobs
from accredit.jobs.queue import huey

logger = logging.getLogger(__name__)
CHUNK = 200

_app: Flask | None = None


def use_app(app: Flask) -> None:
    """The app the worker's tasks run in (the worker command sets it)."""
    global _app
    _app = app


@contextmanager
def _context() -> Iterator[None]:
    app = _app
    if app is None:
        if has_app_context():
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        else:
            from accredit.app import create_app

            app = create_app()
    # A context of its own, so the task's session never shares the caller's transaction.
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def run_rescore(job_id: int, progress: Callable[[int], None] | None = None) -> None:
    """Rescore every result a key decision affects, in committed chunks."""
    from accredit.analysis import keys

    job = jobs.get(job_id)
    decision_id = int(job.params["decision_id"])
    attempt_ids = keys.affected_attempt_ids(decision_id)
    jobs.started(job, len(attempt_ids))
    db.session.commit()
    try:
        for start in range(0, len(attempt_ids), CHUNK):
            chunk = attempt_ids[start : start + CHUNK]
            keys.rescore_for(decision_id, chunk)
            jobs.advanced(jobs.get(job_id), start + len(chunk))
            db.session.commit()
            if progress is not None:
                progress(len(chunk))
        changed = keys.changed_by(decision_id)
        jobs.finished(jobs.get(job_id), f"{len(attempt_ids)} results checked; {changed} changed")
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        # The details go to the log; the page says only what happened.
        logger.exception("job %s stopped", job_id)
        jobs.failed(jobs.get(job_id), f"Stopped ({type(error).__name__}). It will be tried again.")
        db.session.commit()
        raise


def run_analysis(job_id: int) -> None:
    """Analyse an assessment's sittings and keep the result, reporting progress as it reads.

    Progress is committed as it goes, so a page reloaded part-way shows how far
    it has got; the kept run is written in one transaction at the end, so a run
    that stops leaves nothing half-made.
    """
    from accredit.analysis import service as analysis

    job = jobs.get(job_id)
    assessment_key = str(job.params["assessment"])
    first_only = bool(job.params.get("first_attempts_only", True))
    actor_id = job.created_by_id
    total = len(analysis.attempts_to_analyse(assessment_key, first_attempts_only=first_only))
    jobs.started(job, total)
    db.session.commit()

    def progress(done: int, _total: int) -> None:
        jobs.advanced(jobs.get(job_id), done)
        db.session.commit()

    try:
        from accredit.models import User

        actor = db.session.get(User, actor_id) if actor_id is not None else None
        kept = analysis.keep(assessment_key, actor=actor, first_attempts_only=first_only,
                             job_id=job_id, progress=progress)  # fmt: skip
        jobs.finished(jobs.get(job_id), f"Analysed {kept.attempts} attempts.")
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        # The details go to the log; the page says only what happened.
        logger.exception("job %s stopped", job_id)
        jobs.failed(jobs.get(job_id), f"Stopped ({type(error).__name__}). It will be tried again.")
        db.session.commit()
        raise


def _analyse(job_id: int) -> None:
    with _context():
        run_analysis(job_id)


# Retried if it stops; a run reads only, and keeps its statistics in one transaction at the end.
analysis_task: Any = huey.task(retries=2, retry_delay=10, name="analysis")(_analyse)


def enqueue_analysis(job_id: int) -> None:
    analysis_task(job_id)


def _rescore(job_id: int) -> None:
    with _context():
        run_rescore(job_id)


# Retried with a pause if it stops part-way; rescoring is safe to repeat.
rescore_task: Any = huey.task(retries=3, retry_delay=10, name="rescore")(_rescore)


def enqueue_rescore(job_id: int) -> None:
    rescore_task(job_id)


def run_export(job_id: int) -> None:
    """Write an export a regulator asked for, and record it; all or nothing."""
    from accredit.exports import service as exports
    from accredit.models import User

    job = jobs.get(job_id)
    kind = str(job.params["kind"])
    filters = exports.Filters.parse(dict(job.params.get("filters") or {}))
    actor = db.session.get(User, job.created_by_id) if job.created_by_id is not None else None
    jobs.started(job, 1)
    db.session.commit()
    try:
        export = exports.generate(kind, filters, actor=actor, job_id=job_id)
        jobs.finished(jobs.get(job_id), f"Export {export.id}: {export.rows} rows.")
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        # The details go to the log; the page says only what happened.
        logger.exception("job %s stopped", job_id)
        jobs.failed(jobs.get(job_id), f"Stopped ({type(error).__name__}). It will be tried again.")
        db.session.commit()
        raise


def _export(job_id: int) -> None:
    with _context():
        run_export(job_id)


# Retried if it stops: an export is recorded only once its file is complete.
export_task: Any = huey.task(retries=2, retry_delay=10, name="export")(_export)


def enqueue_export(job_id: int) -> None:
    export_task(job_id)
