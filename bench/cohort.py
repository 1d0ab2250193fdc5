"""Benchmark: a practice leader's cohort view of 2,000 candidates with 10 released results each.

A fresh SQLite database is migrated, a small question bank imported, and an
organisation of 2,000 candidates written straight into it, each with ten
released accreditation results a quarter apart (20,000 results). The bench then
times ``accredit.cohort.queries.cohort`` (the heat map, the trend over windows
and the standings, as the leader's page reads them) against a bare SQL
aggregate of the same headline numbers: the share of people meeting each
statement on their latest result, computed in SQLite with a window function and
``json_each``. The two must agree. It prints both times and the ratio.

    .venv/bin/python bench/cohort.py [--candidates 2000] [--attempts 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE = """
WITH ranked AS (
  SELECT a.candidate_id, r.profile,
         ROW_NUMBER() OVER (PARTITION BY a.candidate_id
                            ORDER BY a.submitted_at DESC, a.id DESC) AS n
  FROM results r JOIN attempts a ON a.id = r.attempt_id JOIN users u ON u.id = a.candidate_id
  WHERE u.organisation_id = :organisation AND r.released_at IS NOT NULL
)
SELECT json_extract(s.value, '$.statement') AS statement,
       SUM(json_extract(s.value, '$.met')) AS met, COUNT(*) AS judged
FROM ranked, json_each(ranked.profile) AS s
WHERE ranked.n = 1 AND json_extract(s.value, '$.items') >= 4
GROUP BY statement ORDER BY statement
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import text

    from accredit import create_app
    from accredit.cohort import queries
    from accredit.extensions import db
    from accredit.models import Organisation
    from tests.big_cohort import build
    from tests.cohort import KEY, import_cohort

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
            import_cohort(root)
            organisation = Organisation(code="BIG", name="Big council")
            db.session.add(organisation)
            db.session.commit()
            started = time.perf_counter()
            build(organisation, KEY, arguments.candidates, arguments.attempts)
            stored = time.perf_counter() - started

            view_times, bare_times = [], []
            for _ in range(arguments.repeat):
                db.session.expire_all()
                started = time.perf_counter()
                view = queries.cohort(organisation)
                view_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                bare = db.session.execute(text(BARE), {"organisation": organisation.id}).all()
                bare_times.append(time.perf_counter() - started)
            for statement, met, judged in bare:
                share = view.overall[statement]
                assert (share.met, share.judged) == (met, judged), statement

    view_s, bare_s = min(view_times), min(bare_times)
    results = arguments.candidates * arguments.attempts
    print(f"Cohort view of {arguments.candidates:,} candidates, {results:,} released results "
          f"(SQLite; stored in {stored:.1f} s); best of {arguments.repeat}")  # fmt: skip
    print(f"  cohort view (heat map, {len(view.windows)} windows, standings): {view_s:.3f} s")
    print(f"  bare SQL share per statement (window function, json_each):  {bare_s:.3f} s")
    print(f"  the two agree on every statement's share; ratio (bare ÷ view): {bare_s / view_s:.2f}")


if __name__ == "__main__":
    main()
