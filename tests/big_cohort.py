"""An organisation of many candidates with many released accreditation results, written
straight into the tables (as delivery and scoring would leave them), for scale tests and
bench/cohort.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from accredit.extensions import db
from accredit.models import Assessment, AssessmentVersion, Enrolment, Organisation, User
from accredit.models.delivery import Attempt
from accredit.models.results import Result

STATEMENTS = ("M1", "M2")
FIRST_SITTING = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def build(
    organisation: Organisation, assessment_key: str, candidates: int, attempts_each: int,
    *, seed: int = 11, password_hash: str = "not-a-usable-hash",  # noqa: S107 (no one signs in)
) -> None:  # fmt: skip
    """``candidates`` people, each with ``attempts_each`` released results, a quarter apart."""
    rng = random.Random(seed)
    version = db.session.scalar(
        select(AssessmentVersion)
        .join(Assessment, Assessment.id == AssessmentVersion.assessment_id)
        .where(
            Assessment.key == assessment_key,
            AssessmentVersion.version == Assessment.current_version,
        )
    )
    assert version is not None

    def added(model: Any, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the rows and return their new ids, in order (no ids are chosen here, so the
        database's own sequences stay right on PostgreSQL)."""
        ids: list[int] = []
        for start in range(0, len(rows), 5000):
            statement = insert(model).returning(model.id, sort_by_parameter_order=True)
            ids += list(db.session.scalars(statement, rows[start : start + 5000]))
        return ids

    user_ids = added(User, [
        {"email": f"big{seed}-{n}@{organisation.code.lower()}.example.org",
         "name": f"Person {n + 1}", "role": "candidate", "organisation_id": organisation.id,
         "password_hash": password_hash, "active": True}
        for n in range(candidates)
    ])  # fmt: skip
    enrolment_ids = added(Enrolment, [
        {"candidate_id": uid, "assessment_id": version.assessment_id} for uid in user_ids
    ])  # fmt: skip
    attempts, abilities = [], [rng.random() for _ in user_ids]
    for n, (uid, eid) in enumerate(zip(user_ids, enrolment_ids, strict=True)):
        for k in range(attempts_each):
            at = FIRST_SITTING + timedelta(days=91 * k, minutes=n)
            attempts.append({"enrolment_id": eid, "candidate_id": uid,
                             "assessment_version_id": version.id, "number": k + 1,
                             "seed": rng.randrange(2**31), "started_at": at,
                             "deadline_at": at + timedelta(minutes=30),
                             "submitted_at": at + timedelta(minutes=25), "form_id": "Fbig"})  # fmt: skip
    attempt_ids = added(Attempt, attempts)
    results = []
    for index, (aid, attempt) in enumerate(zip(attempt_ids, attempts, strict=True)):
        ability, k = abilities[index // attempts_each], index % attempts_each
        profile = []
        for statement in STATEMENTS:
            earned = sum(rng.random() < ability + 0.05 * k for _ in range(6))
            profile.append({"statement": statement, "title": f"Statement {statement}",
                            "earned": float(earned), "possible": 6.0,
                            "percent": 100.0 * earned / 6, "items": 6,
                            "threshold_percent": 50.0, "met": earned >= 3})  # fmt: skip
        raw = sum(p["earned"] for p in profile)
        done = attempt["submitted_at"]
        results.append({"attempt_id": aid, "status": "scored", "raw": raw, "maximum": 12.0,
                        "percent": 100 * raw / 12, "cut": 6.0, "cut_percent": 50.0,
                        "cut_method": "fixed", "cut_description": "50%", "passed": raw >= 6,
                        "profile": profile, "items": [], "cut_details": {},
                        "scoring_version": "1", "revision": 1, "scored_at": done,
                        "released_at": done + timedelta(minutes=1)})  # fmt: skip
    added(Result, results)
    db.session.commit()
