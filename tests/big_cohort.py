"""An organisation of many candidates with many released accreditation results, written
straight into the tables (as delivery and scoring would leave them), for scale tests and
bench/cohort.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from accredit.extensions import db
from accredit.models import Assessment, AssessmentVersion, Enrolment, Organisation, User
from accredit.models.delivery import Attempt
from accredit.models.results import Result

STATEMENTS = ("M1", "M2")
FIRST_SITTING = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def _next_id(model: Any) -> int:
    return int(db.session.scalar(select(func.coalesce(func.max(model.id), 0)))) + 1


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
    user_id, enrolment_id, attempt_id = _next_id(User), _next_id(Enrolment), _next_id(Attempt)
    users, enrolments, attempts, results = [], [], [], []
    for n in range(candidates):
        uid, eid = user_id + n, enrolment_id + n
        users.append({"id": uid, "email": f"big{uid}@{organisation.code.lower()}.example.org",
                      "name": f"Person {uid}", "role": "candidate",
                      "organisation_id": organisation.id, "password_hash": password_hash,
                      "active": True})  # fmt: skip
        enrolments.append({"id": eid, "candidate_id": uid, "assessment_id": version.assessment_id})
        ability = rng.random()
        for k in range(attempts_each):
            aid = attempt_id + n * attempts_each + k
            at = FIRST_SITTING + timedelta(days=91 * k, minutes=n)
            profile = []
            for statement in STATEMENTS:
                earned = sum(rng.random() < ability + 0.05 * k for _ in range(6))
                profile.append({"statement": statement, "title": f"Statement {statement}",
                                "earned": float(earned), "possible": 6.0,
                                "percent": 100.0 * earned / 6, "items": 6,
                                "threshold_percent": 50.0, "met": earned >= 3})  # fmt: skip
            raw = sum(p["earned"] for p in profile)
            attempts.append({"id": aid, "enrolment_id": eid, "candidate_id": uid,
                             "assessment_version_id": version.id, "number": k + 1,
                             "seed": rng.randrange(2**31), "started_at": at,
                             "deadline_at": at + timedelta(minutes=30),
                             "submitted_at": at + timedelta(minutes=25), "form_id": "Fbig"})  # fmt: skip
            results.append({"attempt_id": aid, "status": "scored", "raw": raw, "maximum": 12.0,
                            "percent": 100 * raw / 12, "cut": 6.0, "cut_percent": 50.0,
                            "cut_method": "fixed", "cut_description": "50%", "passed": raw >= 6,
                            "profile": profile, "items": [], "cut_details": {},
                            "scoring_version": "1", "revision": 1,
                            "scored_at": at + timedelta(minutes=25),
                            "released_at": at + timedelta(minutes=26)})  # fmt: skip
    for model, rows in ((User, users), (Enrolment, enrolments), (Attempt, attempts),
                        (Result, results)):  # fmt: skip
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    db.session.commit()
