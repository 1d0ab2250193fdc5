"""Benchmark: the regulators' results export of 1,000,000 released results, against a bare SELECT.

A fresh SQLite database is migrated with Alembic, a small question bank is
imported, and then organisations, candidates (each with a Social Work England
registration number), enrolments, submitted attempts, released results (with
the profile, per-position detail and cut details the scoring core stores) and
each result's first revision are written straight into it, a large batch at a
time. The assessment is in accreditation mode and releases results at once;
every other result also has a moderator's ratification, so the export holds
ratified and provisional rows alike (status filter ``all``).

The export is then timed in a fresh process, as the worker would run it
(``accredit.exports.service.generate``, then a commit): rows per second, the
process's peak resident memory, and apart from it the peak during the export
itself, after the app's start-up. The ZIP it writes is checked with
``accredit.exports.formats.verify`` and must hold one row per result. The
baseline, in another fresh process, runs the export's own SELECT through a
plain ``sqlite3`` connection, ``fetchmany(5000)`` into ``csv.writer``, to an
uncompressed file. The goals: the export's peak RSS under 100 MB, and at least
half the bare rate.

    .venv/bin/python bench/exports.py [--rows 1000000] [--batch 50000] [--profile]

``--profile`` adds a third run of the export under cProfile (its timing is not
used) and prints the functions with the most time of their own. Each result
takes about 9 KB of database: the default needs some 9 GB free in the
temporary folder, and a few minutes to build.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "bench-exports"
POOL, FORM, OPTIONS = 60, 30, ("a", "b", "c", "d")
STATEMENTS = [f"E{n}" for n in range(1, 11)]
ORGANISATIONS = 150
FORMS = 40
TEMPLATES = 400
RSS_GOAL_MB = 100
RATE_GOAL = 0.5


def _config(folder: Path) -> dict[str, Any]:
    return {
        "ENV": "testing", "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
        "SECRET_KEY": "b" * 40, "AUDIT_KEY": "a" * 40,
        "AUDIT_CHECKPOINT_FILE": str(folder / "checkpoints.jsonl"),
        "ACCREDIT_EXPORT_DIR": str(folder / "exports"),
    }  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _restart_peak() -> bool:
    """Start the peak over from the present resident size (Linux 4.0 on; False if refused)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- the database -----------------------------------------------------------------------------


def _tree(root: Path, rng: random.Random) -> Path:
    import yaml

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
        {"id": f"ex-{n:03d}", "type": "single", "status": "live", "author": "bench",
         "competencies": [STATEMENTS[n % 10]], "stem": f"Stem {n}", "rationale": "Why.",
         "references": [{"title": "Children Act 1989"}],
         "angoff": [round(rng.uniform(0.4, 0.8), 2) for _ in range(3)],
         "options": [{"id": o, "text": f"Option {o}"} for o in OPTIONS],
         "key": rng.choice(OPTIONS)}
        for n in range(POOL)
    ]  # fmt: skip
    dump(base / "banks/bench/items.yaml", {"items": items})
    dump(base / f"assessments/{KEY}.yaml", {
        "id": KEY, "title": "Export benchmark", "framework": {"id": "bench", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 60,
        "sections": [{"title": "All", "draws": [
            {"bank": "bench", "statements": STATEMENTS, "count": FORM}]}],
        "pass_mark": {"method": "angoff"}, "attempts": {"max_attempts": 3},
        "results": {"release": "immediate"},
    })  # fmt: skip
    return base


def _templates(version: Any, rng: random.Random) -> list[dict[str, Any]]:
    """Results as the scoring core makes them, for a few forms and many answer patterns.

    Each stored result copies one: its JSON columns are serialised here, once.
    """
    import hashlib

    from sqlalchemy import select

    from accredit.extensions import db
    from accredit.models import Item, ItemVersion
    from accredit.results.service import rules_of
    from accredit.scoring.attempt import FormItem, score_attempt

    rules = rules_of(version)
    pool = [
        (item.key, iv.id, iv.version, iv.content)
        for item, iv in db.session.execute(
            select(Item, ItemVersion).join(ItemVersion, ItemVersion.item_id == Item.id)
        )
    ]
    forms = []
    for _ in range(FORMS):
        drawn = rng.sample(pool, FORM)
        digest = hashlib.sha256(",".join(str(v) for _k, v, _n, _c in drawn).encode())
        form = [FormItem(p, key, number, content)
                for p, (key, _v, number, content) in enumerate(drawn, start=1)]  # fmt: skip
        forms.append((digest.hexdigest()[:16], form))
    found = []
    for n in range(TEMPLATES):
        form_id, form = forms[n % FORMS]
        ability = rng.uniform(0.45, 0.95)
        answers = {slot.position: slot.content["key"] if rng.random() < ability
                   else rng.choice(OPTIONS) for slot in form}  # fmt: skip
        r = score_attempt(form, answers, rules)
        found.append({
            "form_id": form_id, "status": "scored", "raw": r.raw, "maximum": r.maximum,
            "percent": r.percent, "cut": r.cut.marks, "cut_percent": r.cut_percent,
            "cut_method": r.cut.method, "cut_description": r.cut.description,
            "passed": r.passed, "scoring_version": r.scoring_version,
            "profile_text": json.dumps([s.as_json() for s in r.profile]),
            "items_text": json.dumps([i.as_json() for i in r.items]),
            "details_text": json.dumps(dict(r.cut.details)),
        })  # fmt: skip
    return found


def _store(rows: int, batch: int, rng: random.Random) -> dict[str, Any]:
    """Write ``rows`` released results and all they rest on, one transaction per batch."""
    from sqlalchemy import Text, bindparam, func, insert, select

    from accredit.extensions import db
    from accredit.models import Assessment, AssessmentVersion, Enrolment, Organisation, User
    from accredit.models.delivery import Attempt
    from accredit.models.marking import ModerationDecision
    from accredit.models.results import Result, ResultRevision

    assessment = db.session.scalar(select(Assessment).filter_by(key=KEY))
    version = db.session.scalar(select(AssessmentVersion).filter_by(assessment_id=assessment.id))
    assert version.mode == "accreditation"
    templates = _templates(version, rng)
    first = {
        model: (db.session.scalar(select(func.max(model.id))) or 0) + 1
        for model in (Organisation, User, Enrolment, Attempt, Result)
    }
    assessment_id, version_id = assessment.id, version.id
    db.session.commit()

    start = datetime(2025, 12, 1, 9, tzinfo=UTC)
    store_result = insert(Result).values(
        profile=bindparam("profile_text", type_=Text()),
        items=bindparam("items_text", type_=Text()),
        cut_details=bindparam("details_text", type_=Text()),
    )
    ratified = passed = 0
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA synchronous = OFF")
        connection.commit()
        with connection.begin():
            connection.execute(insert(Organisation), [
                {"id": first[Organisation] + n, "code": f"LA{n:03d}",
                 "name": f"Council {n}", "created_at": start}
                for n in range(ORGANISATIONS)
            ])  # fmt: skip
        for low in range(0, rows, batch):
            users, enrolments, attempts, results, revisions, decisions = [], [], [], [], [], []
            for n in range(low, min(low + batch, rows)):
                user_id, enrolment_id = first[User] + n, first[Enrolment] + n
                attempt_id, result_id = first[Attempt] + n, first[Result] + n
                template = templates[rng.randrange(TEMPLATES)]
                started = start + timedelta(seconds=30 * n)
                submitted = started + timedelta(minutes=rng.randint(20, 59))
                users.append({
                    "id": user_id, "email": f"c{n}@bench.example", "name": f"Candidate {n}",
                    "swe_registration_number": f"SW{100000 + n}", "password_hash": "x",
                    "role": "candidate",
                    "organisation_id": first[Organisation] + n % ORGANISATIONS,
                    "active": True, "lead_assessor": False, "session_version": 1,
                    "created_at": start, "password_changed_at": start,
                })  # fmt: skip
                enrolments.append({
                    "id": enrolment_id, "candidate_id": user_id,
                    "assessment_id": assessment_id, "created_at": start,
                })  # fmt: skip
                attempts.append({
                    "id": attempt_id, "enrolment_id": enrolment_id, "candidate_id": user_id,
                    "assessment_version_id": version_id, "number": 1,
                    "seed": rng.getrandbits(40), "started_at": started,
                    "deadline_at": started + timedelta(hours=1), "submitted_at": submitted,
                    "submission": "candidate", "form_id": template["form_id"],
                })  # fmt: skip
                results.append({
                    **{k: v for k, v in template.items() if k != "form_id"},
                    "id": result_id, "attempt_id": attempt_id, "revision": 1,
                    "scored_at": submitted, "released_at": submitted,
                })  # fmt: skip
                revisions.append({
                    "result_id": result_id, "revision": 1, "raw": template["raw"],
                    "maximum": template["maximum"], "cut": template["cut"],
                    "passed": template["passed"], "cause": "scored", "reason": "",
                    "at": submitted,
                })  # fmt: skip
                if n % 2 == 0:
                    decisions.append({
                        "result_id": result_id, "decision": "ratify", "reason": "",
                        "revision": 1, "decided_at": submitted + timedelta(days=10),
                        "moderator_id": None,
                    })  # fmt: skip
                passed += bool(template["passed"])
            ratified += len(decisions)
            with connection.begin():
                connection.execute(insert(User), users)
                connection.execute(insert(Enrolment), enrolments)
                connection.execute(insert(Attempt), attempts)
                connection.execute(store_result, results)
                connection.execute(insert(ResultRevision), revisions)
                connection.execute(insert(ModerationDecision), decisions)
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.commit()
    return {"ratified": ratified, "passed": passed}


def build(folder: Path, rows: int, batch: int) -> dict[str, Any]:
    """Migrate, import the bank and store the results; return what was stored."""
    import contextlib
    import io

    from flask_migrate import upgrade

    from accredit import create_app
    from accredit.catalogue.importer import import_tree
    from accredit.exports.service import Filters, _results_query
    from accredit.extensions import db

    rng = random.Random(2028)
    app = create_app(_config(folder))
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        report = import_tree(_tree(folder, rng))
        assert report.succeeded, report.run.errors[:3]
        db.session.commit()
        stored = _store(rows, batch, rng)
        query = _results_query(Filters(status="all"))
        sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        db.session.remove()
        db.engine.dispose()
    (folder / "results.sql").write_text(sql)
    return stored


# ---- the two measured runs, each in its own process -------------------------------------------


def measure_export(folder: Path, profile: bool) -> dict[str, Any]:
    from accredit import create_app
    from accredit.exports.service import Filters, export_dir, generate
    from accredit.extensions import db

    app = create_app(_config(folder))
    with app.app_context():
        # The app's own start (its imports) has a peak of its own:
        # kept, then started over, so the export's share can be told apart.
        loaded_peak, before = _peak_mb(), _rss_now_mb()
        restarted = _restart_peak()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        export = generate("results", Filters(status="all"), actor=None)
        db.session.commit()
        seconds = time.perf_counter() - started
        during = _peak_mb() if restarted else None
        found = {"rows": export.rows, "seconds": seconds, "before_mb": before,
                 "peak_mb": max(loaded_peak, _peak_mb()), "loaded_peak_mb": loaded_peak,
                 "during_mb": during, "after_mb": _rss_now_mb(), "bytes": export.bytes,
                 "path": str(export_dir() / export.file_name)}  # fmt: skip
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
            found["profile"] = text.getvalue()
    return found


def measure_bare(folder: Path) -> dict[str, Any]:
    import csv
    import sqlite3

    sql = (folder / "results.sql").read_text()
    before = _rss_now_mb()
    started = time.perf_counter()
    connection = sqlite3.connect(folder / "bench.sqlite")
    cursor = connection.execute(sql)
    rows = 0
    with (folder / "bare.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([column[0] for column in cursor.description])
        while chunk := cursor.fetchmany(5000):
            writer.writerows(chunk)
            rows += len(chunk)
    connection.close()
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "peak_mb": _peak_mb(), "before_mb": before,
            "bytes": (folder / "bare.csv").stat().st_size}  # fmt: skip


def _in_child(kind: str, folder: Path, *extra: str) -> Any:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--folder", str(folder), *extra],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {kind} run failed (exit status {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- the report -------------------------------------------------------------------------------


def run(rows: int, batch: int, profile: bool) -> None:
    # Every measured process starts from this one, and Linux counts the parent's resident
    # memory at the fork in a child's ru_maxrss: so this process stays small, and even the
    # database is built in a process of its own.
    with tempfile.TemporaryDirectory(prefix="accredit-exports-") as name:
        folder = Path(name)
        print(f"Storing {rows:,} results in a fresh SQLite database in {folder}", flush=True)
        started = time.perf_counter()
        stored = _in_child("build", folder, "--rows", str(rows), "--batch", str(batch))
        setup = time.perf_counter() - started
        size = (folder / "bench.sqlite").stat().st_size / 1e6
        export = _in_child("export", folder)
        bare = _in_child("bare", folder)
        profiled = _in_child("export", folder, "--profile") if profile else None

        from accredit.exports.formats import verify

        started = time.perf_counter()
        problems = verify(export["path"])
        checked = time.perf_counter() - started
    assert problems == [], problems[:5]
    assert export["rows"] == rows, f"the export holds {export['rows']:,} rows, not {rows:,}"
    assert bare["rows"] == rows, f"the bare SELECT found {bare['rows']:,} rows, not {rows:,}"

    export_rate, bare_rate = rows / export["seconds"], rows / bare["seconds"]
    ratio = export_rate / bare_rate
    verdict = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    print(f"\nResults export, {rows:,} released accreditation results (SQLite, status filter all)")
    print(f"  stored in {setup:.1f} s, {size:,.0f} MB: {stored['ratified']:,} ratified by a "
          f"moderator, {rows - stored['ratified']:,} provisional")  # fmt: skip
    print("  (released at once, unmoderated: included by status all); "
          f"{stored['passed']:,} passed")  # fmt: skip
    print(f"  {'':32}{'rows':>11}{'seconds':>10}{'rows/s':>11}{'peak RSS':>11}{'file':>10}")
    for label, found in (("export (generate, ZIP deflate)", export),
                         ("bare SELECT to CSV (sqlite3)", bare)):  # fmt: skip
        print(f"  {label:32}{found['rows']:>11,}{found['seconds']:>10.2f}"
              f"{found['rows'] / found['seconds']:>11,.0f}{found['peak_mb']:>8.1f} MB"
              f"{found['bytes'] / 1e6:>7.0f} MB")  # fmt: skip
    print(f"  the export's process: {export['loaded_peak_mb']:.1f} MB peak as the app started "
          f"(its imports),")  # fmt: skip
    print(f"    {export['before_mb']:.1f} MB resident once it had, "
          + (f"{export['during_mb']:.1f} MB peak during the export itself, "
             if export["during_mb"] is not None else "")
          + f"{export['after_mb']:.1f} MB resident after it")  # fmt: skip
    print(f"  verify() on the export's ZIP: no problems ({checked:.1f} s)")
    print(f"  ratio (export rows/s ÷ bare rows/s): {ratio:.3f}")
    print(f"  goal: peak RSS under {RSS_GOAL_MB} MB: "
          f"{verdict(export['peak_mb'] < RSS_GOAL_MB)} ({export['peak_mb']:.1f} MB)")  # fmt: skip
    print(f"  goal: at least half the bare rate: {verdict(ratio >= RATE_GOAL)} ({ratio:.2f})")
    if export["during_mb"] is not None:
        grown = export["during_mb"] - export["before_mb"]
        print(f"  the export's own share of memory: {grown:.1f} MB over the started app")
    if profiled is not None:
        print(f"\nThe export under cProfile ({profiled['seconds']:.1f} s with the profiler), "
              "by time spent in each function itself:")  # fmt: skip
        print(profiled["profile"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="results to export")
    parser.add_argument("--batch", type=int, default=50_000, help="rows per insert transaction")
    parser.add_argument("--profile", action="store_true", help="also profile the export")
    parser.add_argument("--measure", choices=("build", "export", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure == "build":
        print(json.dumps(build(args.folder, args.rows, args.batch)))
    elif args.measure == "export":
        print(json.dumps(measure_export(args.folder, args.profile)))
    elif args.measure == "bare":
        print(json.dumps(measure_bare(args.folder)))
    else:
        run(args.rows, args.batch, args.profile)


if __name__ == "__main__":
    main()
