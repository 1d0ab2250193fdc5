"""Rescoring through the database: void one item and rescore every stored attempt it touches.

Stored attempts are written straight into a fresh SQLite database (users,
enrolments, attempts, their frozen forms, responses, results and scored
positions, as delivery and scoring would leave them), 30 single-answer items
drawn from a pool of 300. Then one item is voided by a key decision and the
rescoring job runs as the worker runs it: chunk by chunk, each affected result
a new audited revision. The in-memory core scoring the same attempts under the
same decision is timed in the same run, and the rescored totals are checked
against it.
"""

from __future__ import annotations

import contextlib
import gc
import io
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

POOL, FORM, OPTIONS = 300, 30, ("a", "b", "c", "d")
STATEMENTS = [f"B{n}" for n in range(1, 11)]
KEY = "bench-rescore"


def _tree(root: Path, rng: random.Random) -> Path:
    base = root / "question_banks"
    for folder in ("frameworks", "banks/bench", "assessments"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    dump = lambda path, data: path.write_text(yaml.safe_dump(data, sort_keys=False))  # noqa: E731
    dump(base / "frameworks/bench.yaml", {
        "id": "bench", "title": "Benchmark framework", "version": "1",
        "source_url": "https://example.org/bench", "status": "provisional",
        "audience": "practitioner",
        "statements": [{"id": s, "number": n, "title": f"Statement {n}", "summary": "S."}
                       for n, s in enumerate(STATEMENTS, 1)],
    })  # fmt: skip
    dump(base / "banks/bench/bank.yaml", {"id": "bench", "title": "Bench", "framework": "bench"})
    items = [
        {"id": f"bi-{n:03d}", "type": "single", "status": "live", "author": "bench",
         "competencies": [STATEMENTS[n % 10]], "stem": f"Stem {n}", "rationale": "Why.",
         "references": [{"title": "Children Act 1989"}],
         "angoff": [round(rng.uniform(0.4, 0.9), 2) for _ in range(3)],
         "options": [{"id": o, "text": f"Option {o}"} for o in OPTIONS],
         "key": rng.choice(OPTIONS)}
        for n in range(POOL)
    ]  # fmt: skip
    dump(base / "banks/bench/items.yaml", {"items": items})
    dump(base / f"assessments/{KEY}.yaml", {
        "id": KEY, "title": "Rescoring benchmark", "framework": {"id": "bench", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 60,
        "sections": [{"title": "All", "draws": [
            {"bank": "bench", "statements": STATEMENTS, "count": FORM}]}],
        "pass_mark": {"method": "angoff"}, "attempts": {"max_attempts": 3},
        "results": {"release": "immediate"},
    })  # fmt: skip
    return base


def _store(app: Any, attempts: int, rng: random.Random) -> dict[int, Any]:
    """Write the attempts as the service would leave them; return each form, by attempt id."""
    from sqlalchemy import insert, select

    from accredit.extensions import db
    from accredit.models import Assessment, AssessmentVersion, Item, ItemVersion, Organisation, User
    from accredit.models.delivery import Attempt, AttemptItem, Enrolment, Response
    from accredit.models.results import Result, ResultRevision, ScoredPosition
    from accredit.results.service import rules_of
    from accredit.scoring.attempt import FormItem, score_attempt

    now = datetime(2026, 11, 30, 10, tzinfo=UTC)
    organisation = Organisation(code="BENCH", name="Bench Council")
    db.session.add(organisation)
    db.session.flush()
    assessment = db.session.scalar(select(Assessment).filter_by(key=KEY))
    version = db.session.scalar(select(AssessmentVersion).filter_by(assessment_id=assessment.id))
    rules = rules_of(version)
    pool = [
        (item.id, item.key, iv.id, iv.version, iv.content)
        for item, iv in db.session.execute(
            select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
        )
    ]
    forms: dict[int, Any] = {}
    chunk = 2000
    for start in range(0, attempts, chunk):
        count = min(chunk, attempts - start)
        users = [{"email": f"c{start + i}@bench.example", "name": f"C {start + i}",
                  "password_hash": "x", "role": "candidate", "organisation_id": organisation.id,
                  "active": True, "session_version": 1, "created_at": now,
                  "password_changed_at": now, "lead_assessor": False}
                 for i in range(count)]  # fmt: skip
        user_ids = list(db.session.scalars(insert(User).returning(User.id), users))
        enrolment_ids = list(db.session.scalars(
            insert(Enrolment).returning(Enrolment.id),
            [{"candidate_id": u, "assessment_id": assessment.id, "created_at": now}
             for u in user_ids],
        ))  # fmt: skip
        attempt_ids = list(db.session.scalars(
            insert(Attempt).returning(Attempt.id),
            [{"enrolment_id": e, "candidate_id": u, "assessment_version_id": version.id,
              "number": 1, "seed": rng.getrandbits(40), "started_at": now,
              "deadline_at": now + timedelta(hours=1), "submitted_at": now + timedelta(minutes=50),
              "submission": "candidate"} for e, u in zip(enrolment_ids, user_ids, strict=True)],
        ))  # fmt: skip
        slots, responses, results, positions = [], [], [], []
        for attempt_id in attempt_ids:
            drawn = rng.sample(pool, FORM)
            form = [FormItem(p, key, number, content) for p, (_i, key, _v, number, content)
                    in enumerate(drawn, start=1)]  # fmt: skip
            answers = {p: (content["key"] if rng.random() < 0.65 else rng.choice(OPTIONS))
                       for p, (_i, _k, _v, _n, content) in enumerate(drawn, start=1)}  # fmt: skip
            forms[attempt_id] = (form, answers, [item_id for item_id, *_ in drawn])
            for p, (item_id, _k, version_id, _n, _c) in enumerate(drawn, start=1):
                slots.append({"attempt_id": attempt_id, "position": p, "section": 0,
                              "item_id": item_id, "item_version_id": version_id,
                              "item_type": "single", "option_order": list(OPTIONS),
                              "answer_rules": {}, "pretest": False})  # fmt: skip
                responses.append({"attempt_id": attempt_id, "position": p,
                                  "answer": answers[p], "seq": 1, "saved_at": now,
                                  "flagged": False})  # fmt: skip
            scored = score_attempt(form, answers, rules)
            results.append((attempt_id, scored, drawn))
        db.session.execute(insert(AttemptItem), slots)
        db.session.execute(insert(Response), responses)
        result_ids = list(db.session.scalars(insert(Result).returning(Result.id), [
            {"attempt_id": a, "status": "scored", "raw": r.raw, "maximum": r.maximum,
             "percent": r.percent, "cut": r.cut.marks, "cut_percent": r.cut_percent,
             "cut_method": r.cut.method, "cut_description": r.cut.description,
             "cut_details": dict(r.cut.details), "passed": r.passed,
             "profile": [s.as_json() for s in r.profile],
             "items": [i.as_json() for i in r.items], "scoring_version": r.scoring_version,
             "revision": 1, "scored_at": now, "released_at": now}
            for a, r, _d in results
        ]))  # fmt: skip
        revisions = []
        for result_id, (attempt_id, scored, drawn) in zip(result_ids, results, strict=True):
            revisions.append({"result_id": result_id, "revision": 1, "raw": scored.raw,
                              "maximum": scored.maximum, "cut": scored.cut.marks,
                              "passed": scored.passed, "cause": "scored", "reason": "",
                              "at": now})  # fmt: skip
            for item, (item_id, _k, version_id, _n, _c) in zip(scored.items, drawn, strict=True):
                positions.append({"result_id": result_id, "revision": 1,
                                  "attempt_id": attempt_id, "position": item.position,
                                  "item_id": item_id, "item_version_id": version_id,
                                  "key": item.key, "answer": item.answer, "marks": item.marks,
                                  "max_marks": item.max_marks, "pending": False,
                                  "pretest": False, "void": False, "scored_at": now})  # fmt: skip
        db.session.execute(insert(ScoredPosition), positions)
        db.session.execute(insert(ResultRevision), revisions)
        db.session.commit()
    return forms


def run(attempts: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from accredit import create_app
    from accredit import worker as tasks
    from accredit.analysis import keys
    from accredit.catalogue.importer import import_tree
    from accredit.extensions import db
    from accredit.models import Item
    from accredit.models.results import Result
    from accredit.results.service import rules_of
    from accredit.scoring.attempt import Adjustment, score_attempt

    rng = random.Random(2027)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        app = create_app({
            "ENV": "testing", "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite'}",
            "SECRET_KEY": "b" * 40, "AUDIT_KEY": "a" * 40,
            "AUDIT_CHECKPOINT_FILE": str(root / "checkpoints.jsonl"),
        })  # fmt: skip
        with app.app_context():
            with contextlib.redirect_stderr(io.StringIO()):
                upgrade()
            report = import_tree(_tree(root, rng))
            assert report.succeeded, report.run.errors[:3]
            db.session.commit()
            started = time.perf_counter()
            forms = _store(app, attempts, rng)
            stored = time.perf_counter() - started
            voided = db.session.scalar(select(Item).filter_by(key="bi-007"))
            _decision, preview, job = keys.commit(
                keys.propose(KEY, "bi-007", "void", reason="Benchmark"), actor=None
            )
            db.session.commit()
            affected = preview.affected

            # The benchmark's own generated attempts sit in this process's heap, which a worker
            # does not carry: keep the collector from walking them during either timing.
            gc.collect()
            gc.freeze()
            started = time.perf_counter()
            tasks.run_rescore(job.id)
            through_db = time.perf_counter() - started

            version = db.session.scalar(select(Result)).attempt.assessment_version
            rules = rules_of(version)
            void = Adjustment("void")
            import dataclasses

            touched = [(form, answers) for form, answers, ids in forms.values() if voided.id in ids]
            started = time.perf_counter()
            expected = []
            for form, answers in touched:
                adjusted = [dataclasses.replace(slot, adjustment=void) if slot.item == "bi-007"
                            else slot for slot in form]  # fmt: skip
                expected.append(score_attempt(adjusted, answers, rules).raw)
            in_memory = time.perf_counter() - started
            stored_raws = sorted(
                row.raw for row in db.session.scalars(select(Result).where(Result.revision == 2))
            )
            assert stored_raws == sorted(expected), "the database and the core disagree"

    print(f"\nRescoring through the database ({attempts:,} stored attempts, SQLite)")
    print(f"  stored in {stored:.1f} s; voiding bi-007 touches {affected:,} attempts")
    print(f"  rescoring job (chunks, new revisions, audit): {through_db:.2f} s, "
          f"{affected / through_db:,.0f} attempts/s")  # fmt: skip
    print(f"  in-memory core on the same attempts: {in_memory:.3f} s, "
          f"{affected / in_memory:,.0f} attempts/s")  # fmt: skip
    print(f"  ratio (database ÷ in-memory core, attempts/s): {in_memory / through_db:.3f}")
