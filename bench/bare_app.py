"""The bare stack for the exam-day baseline: Flask, gunicorn and one PostgreSQL upsert.

One endpoint stores an answer the way accredit's autosave does, with the same
conditional upsert (``ON CONFLICT ... DO UPDATE ... WHERE seq < excluded.seq``)
on a table of the same shape, and replies in the same form. There is no ORM,
no session, no sign-in, no CSRF check and no validation beyond the body's shape:
it is the least any save over this stack can cost.

    BARE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/db \\
        .venv/bin/gunicorn --workers 4 --worker-class sync --chdir bench 'bare_app:create_app()'

``bench/exam_day.py`` creates the table (``TABLE``) and runs this app itself.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb
from werkzeug.wrappers import Response

TABLE = """
CREATE TABLE IF NOT EXISTS bare_responses (
    attempt_id integer NOT NULL,
    position integer NOT NULL,
    answer jsonb,
    seq bigint NOT NULL DEFAULT 0,
    saved_at timestamptz,
    PRIMARY KEY (attempt_id, position)
)
"""

UPSERT = """
INSERT INTO bare_responses AS stored (attempt_id, position, answer, seq, saved_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (attempt_id, position) DO UPDATE
    SET answer = excluded.answer, seq = excluded.seq, saved_at = excluded.saved_at
    WHERE stored.seq < excluded.seq
RETURNING seq, saved_at
"""

CURRENT = "SELECT seq, saved_at FROM bare_responses WHERE attempt_id = %s AND position = %s"


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["BARE_DATABASE_URL"]
    # One connection per worker process, opened on its first request (after the fork).
    held: list[psycopg.Connection[Any]] = []

    def connection() -> psycopg.Connection[Any]:
        if not held or held[0].closed:
            held[:] = [psycopg.connect(url, autocommit=True)]
        return held[0]

    @app.put("/saves/<int:attempt_id>/<int:position>")
    def save(attempt_id: int, position: int) -> Response | tuple[Response, int]:
        body = request.get_json(silent=True)
        seq = body.get("seq") if isinstance(body, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or "answer" not in body:
            return jsonify(
                {"error": {"code": "bad_request", "message": "Send answer and seq"}}
            ), 400
        at = datetime.now(UTC)
        with connection().cursor() as cursor:
            cursor.execute(UPSERT, (attempt_id, position, Jsonb(body["answer"]), seq, at))
            row = cursor.fetchone()
            stored = row is not None
            if row is None:
                cursor.execute(CURRENT, (attempt_id, position))
                row = cursor.fetchone()
        assert row is not None
        return jsonify({"seq": row[0], "saved_at": row[1].isoformat(), "stored": stored})

    @app.get("/healthz")
    def health() -> Response:
        connection().execute("SELECT 1")
        return jsonify({"status": "ok"})

    return app
