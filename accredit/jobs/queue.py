"""The job queue: Huey, with its storage chosen once, when the process starts.

``ACCREDIT_REDIS_URL`` set: Redis, shared by every node and worker (production).
Otherwise SQLite in the instance folder (``ACCREDIT_JOBS_FILE`` to move it),
which ``make run``'s worker and the web server share on one machine. Tests run
tasks at once, in process (``huey.immediate``).
"""

from __future__ import annotations

import os
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey

NAME = "accredit"


def _instance() -> Path:
    return Path(__file__).resolve().parents[2] / "instance"


def make_queue() -> Huey:
    redis_url = os.environ.get("ACCREDIT_REDIS_URL")
    if redis_url:
        return RedisHuey(NAME, url=redis_url)
    path = Path(os.environ.get("ACCREDIT_JOBS_FILE") or _instance() / "jobs.sqlite")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(path))


huey = make_queue()
