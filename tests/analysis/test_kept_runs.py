"""Kept analysis runs: the worker analyses a large cohort and keeps it, pages show the kept
run (marked out of date when results move on), and a sign-off signs the run it reviewed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accredit import worker as tasks
from accredit.analysis import service as analysis
from accredit.jobs import service as jobs
from accredit.models.jobs import Job
from accredit.models.results import AnalysisRun, AnalysisSignOff, Result, ResultRevision
from tests.cohort import KEY, MISKEYED, import_cohort, sit_cohort
from tests.conftest import Auth


@pytest.fixture
def cohort(db, tmp_path, make_user):
    import_cohort(tmp_path, results={"release": "after_moderation"})
    return sit_cohort(make_user, 40)


@pytest.fixture
def lead(db, make_user):
    user = make_user("assessor")
    user.lead_assessor = True
    db.session.commit()
    return user


@pytest.fixture
def big(app, monkeypatch):
    """Every cohort counts as large: the pages wait for the worker instead of computing."""
    monkeypatch.setitem(app.config, "ACCREDIT_ANALYSIS_INLINE_MAX", 10)


def test_a_kept_run_reads_back_exactly_as_it_was_computed(db, cohort):
    done = analysis.run(KEY)
    assert analysis.AssessmentAnalysis.from_json(done.as_json()) == done
    kept = analysis.keep(KEY, actor=None)
    db.session.commit()
    assert analysis.AssessmentAnalysis.from_json(kept.statistics) == done


def test_the_worker_keeps_the_analysis_and_reports_progress_by_chunk(db, cohort, monkeypatch):
    monkeypatch.setattr(analysis, "CHUNK", 15)
    seen: list[tuple[int, int | None, str]] = []
    real = jobs.advanced

    def watch(job, done):
        real(job, done)
        seen.append((job.done, job.total, job.state))

    monkeypatch.setattr(jobs, "advanced", watch)
    job = jobs.create("analysis", {"assessment": KEY, "first_attempts_only": True}, actor=None)
    db.session.commit()

    tasks.run_analysis(job.id)

    assert seen == [(15, 40, "running"), (30, 40, "running"), (40, 40, "running")]
    finished = db.session.get(Job, job.id)
    assert (finished.state, finished.done, finished.total) == ("done", 40, 40)
    kept = analysis.latest_run(KEY)
    assert kept is not None
    assert (kept.job_id, kept.attempts) == (job.id, 40)
    assert analysis.run_stale_because(kept) is None


def test_a_failed_analysis_keeps_nothing_and_says_it_will_be_tried_again(db, cohort, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(analysis, "analyse", broken)
    job = jobs.create("analysis", {"assessment": KEY}, actor=None)
    db.session.commit()
    with pytest.raises(RuntimeError):
        tasks.run_analysis(job.id)
    stopped = db.session.get(Job, job.id)
    assert stopped.state == "failed"
    assert "It will be tried again" in stopped.message
    assert db.session.scalar(select(func.count()).select_from(AnalysisRun)) == 0


def test_a_kept_run_goes_out_of_date_when_results_move_on(db, cohort, make_user):
    from accredit.analysis import keys

    kept = analysis.keep(KEY, actor=None)
    db.session.commit()
    assert analysis.run_stale_because(kept) is None
    sit_cohort(make_user, 1, seed=99)
    assert "submitted after" in analysis.run_stale_because(kept)

    again = analysis.keep(KEY, actor=None)
    db.session.commit()
    assert analysis.latest_run(KEY).id == again.id
    keys.commit(keys.propose(KEY, MISKEYED, "keep", reason="Reviewed"), actor=None)
    db.session.commit()
    assert "key decision" in analysis.run_stale_because(again)


def test_a_large_cohort_waits_for_the_worker_which_keeps_its_run(app, db, cohort, lead, big):
    client = app.test_client()
    Auth(client).login(lead.email)

    waiting = client.get(f"/assessor/analysis/{KEY}")
    page = waiting.get_data(as_text=True)
    assert waiting.status_code == 200
    assert "40 first attempts" in page
    assert "Run the analysis" in page
    assert "Reliability" not in page, "no statistics until the worker has run"
    assert client.get(f"/assessor/analysis/{KEY}/items.csv").status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0, "a GET wrote nothing"

    started = client.post(f"/assessor/analysis/{KEY}/run")
    assert started.status_code == 302
    job_page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Item analysis finished" in job_page  # the test queue runs tasks at once
    assert "40 of 40 attempts read" in job_page

    shown = client.get(f"/assessor/analysis/{KEY}").get_data(as_text=True)
    assert "Reliability (KR-20)" in shown
    assert "nothing has changed since" in shown
    assert MISKEYED in shown


def test_a_large_cohort_shows_its_old_run_marked_out_of_date(app, db, cohort, lead, big, make_user):
    analysis.keep(KEY, actor=None)
    db.session.commit()
    sit_cohort(make_user, 1, seed=99)
    client = app.test_client()
    Auth(client).login(lead.email)

    page = client.get(f"/assessor/analysis/{KEY}").get_data(as_text=True)

    assert "it is out of date" in page
    assert "submitted after this analysis was run" in page
    assert "40 first attempts, 12 items" in page, "the old run, as it was"
    assert "Run the analysis again" in page


def test_a_second_run_while_one_is_queued_goes_to_the_same_job(app, db, cohort, lead, big):
    job = jobs.create("analysis", {"assessment": KEY, "first_attempts_only": True}, actor=None)
    db.session.commit()
    client = app.test_client()
    Auth(client).login(lead.email)

    page = client.get(f"/assessor/analysis/{KEY}").get_data(as_text=True)
    assert "waiting for the worker" in page
    again = client.post(f"/assessor/analysis/{KEY}/run")
    assert again.headers["Location"].endswith(f"/assessor/analysis/jobs/{job.id}")
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_sign_off_signs_the_run_it_reviewed(db, cohort, lead):
    kept = analysis.keep(KEY, actor=lead)
    db.session.commit()
    signed = analysis.sign_off(KEY, actor=lead, note="Reviewed")
    db.session.commit()
    assert signed.run_id == kept.id
    assert signed.statistics == kept.statistics


def test_a_large_cohort_is_not_signed_off_on_an_out_of_date_run(app, db, cohort, lead, big):
    with pytest.raises(analysis.AnalysisOutOfDate):
        analysis.sign_off(KEY, actor=lead)
    db.session.rollback()
    analysis.keep(KEY, actor=lead)
    db.session.commit()
    assert analysis.sign_off(KEY, actor=lead).run_id is not None
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AnalysisSignOff)) == 1


def test_the_cli_keeps_its_run(db, cohort, runner):
    shown = runner.invoke(args=["analysis", "run", "--assessment", KEY])
    assert shown.exit_code == 0, shown.output
    kept = analysis.latest_run(KEY)
    assert kept is not None
    assert kept.attempts == 40


def test_an_attempt_stamped_earlier_but_committed_later_makes_a_run_stale(db, cohort, make_user):
    """A run whose basis time is later than a late-committing attempt's stamp still notices it."""
    from datetime import timedelta

    from accredit.models.delivery import Attempt

    kept = analysis.keep(KEY, actor=None)
    db.session.commit()
    [late] = sit_cohort(make_user, 1, seed=98)
    attempt = db.session.get(Attempt, late.id)
    attempt.submitted_at = kept.basis_submitted_at - timedelta(minutes=5)
    attempt.started_at = attempt.submitted_at - timedelta(minutes=20)
    for revision in db.session.scalars(
        select(ResultRevision).join(Result).where(Result.attempt_id == late.id)
    ):
        revision.at = attempt.submitted_at  # scored as it was submitted, before the run
    db.session.commit()
    assert "attempts to analyse have changed" in analysis.run_stale_because(kept)
