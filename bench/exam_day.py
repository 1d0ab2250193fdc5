"""Benchmark: exam day. Thousands of candidates sit at once; no acknowledged answer is lost.

    .venv/bin/python bench/exam_day.py [--candidates 2000] [--saves 10] [--workers 4]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The run creates a throwaway database on the server named by --database-url,
builds it with the app's own code (migrations, the bank importer, one
organisation, the candidates and their enrolments), serves the app with
gunicorn's sync workers, and drives it from one asyncio process:

1. Sign in and start. Each candidate reads /login for its CSRF token, signs in,
   reads its home page for the new session's token and starts its attempt.
   Arrivals are spread over ``--ramp`` seconds: the start-of-exam spike, bounded.
2. Sitting. Every candidate who started now autosaves ``--saves`` answers, each
   at a random position with a valid answer and a rising seq, with think time
   between saves. One save in ten is a quick change of mind: two saves of the
   same position in flight together, the second newer. Every save acknowledged
   (HTTP 200, returned seq at least the seq sent) is recorded.
3. Closed loop. A fixed number of clients save as fast as they can, with no
   think time, first through accredit's save endpoint and then through
   ``bench/bare_app.py`` (one bare upsert of the same shape, no ORM, no sign-in)
   under the same gunicorn command: the ratio of the two is the price of the
   app's request path.
4. Submit. Every candidate submits.
5. Verify. Reading the database directly, every acknowledged save must still be
   there: the stored seq is at least the acknowledged one and, when equal, the
   stored answer is the one sent. The audit chain must verify too.

Choices, for a default run of about three and a half minutes on this two-core
machine when nothing else is running on it (up to five when something is):

- Ten saves a candidate with 7.5 to 12.5 s of think time (``--think 10``), all
  2,000 candidates sitting at once: about 200 saves a second for two minutes. A
  real candidate saves once or twice a minute (30 questions in 60 minutes, some
  answers changed), so this is the load of 6,000 to 12,000 candidates at once,
  while staying under what four sync workers serve here (the closed loop below
  measures that, and the report prints the share), so save latencies measure the
  app and not a queue of the run's own making.
- Arrivals spread over 60 s (``--ramp``): about 33 candidates a second, near
  what the server can sign in and start (each start assembles and writes a
  30-item form), so the start-of-exam spike is real but bounded.
- Sign-in cost is lowered (argon2id with one pass and 8 KiB). The real setting
  costs tens of milliseconds of CPU per sign-in, which would make the start
  phase measure argon2 instead of the sitting.
- At most 256 connections in flight (``--connections``), taken in turn. gunicorn's
  sync workers serve one request at a time each and close every connection, so
  more would only move the queue from this process into the kernel's backlog.
- Submissions spread over 20 s: a submit costs several saves' worth of CPU.
- The baseline uses 64 clients and 5,000 requests a side: enough to keep every
  worker busy and to give stable percentiles within the time budget.

Every request has a timeout (``--timeout``, 60 s). gunicorn runs in its own
process group and is stopped, and the database dropped, however the run ends.
The report gives the CPU each phase cost the load generator, gunicorn,
PostgreSQL and the rest of the machine, read from /proc, so a run disturbed by
other work shows up as such.

The load generator shares the two cores with the server and PostgreSQL. It costs
a similar amount per request on both sides of the baseline (the report shows
how much), which narrows the ratio a little; the ratio is still the fair
comparison, while the absolute rates are not a capacity figure for a dedicated
server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ASSESSMENT = "kssp-accreditation"
PASSWORD = "tidal-copper-meadow-41"
SECRET_KEY = "9c4f1e27b6a05d83e1f2c7a9b4d60e35f8a1c2d7e9b3f4a50c6d8e1f2a3b4c5d"
# The run keeps its own audit key and checkpoints, so it never meets the instance folder's.
AUDIT_KEY = "exam-day-benchmark-audit-key-0123456789abcdef"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
CHANGE_OF_MIND = 0.1  # share of saves sent as two overlapping saves of one position
SUBMIT_SPREAD_SECONDS = 20.0


class BenchError(RuntimeError):
    """The run could not be set up or carried out."""


# Measurements.


@dataclass
class Reply:
    status: int
    body: bytes
    headers: Any

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or an empty one if it is not one."""
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass
class Recorder:
    """Latency of every answered request and the count of every failure, by operation."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    async def request(
        self,
        http: aiohttp.ClientSession,
        operation: str,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...] = (200,),
        **options: Any,
    ) -> Reply | None:
        """Send one request; return the reply if its status is expected, else record why not."""
        self.sent[operation] += 1
        started = time.perf_counter()
        # Yield once first, so a client that was waiting for a connection takes the one just
        # freed: without this, the task that freed it would take it straight back, and the
        # wait for a connection would fall on new arrivals only, not in turn as at a server.
        await asyncio.sleep(0)
        try:
            async with http.request(method, url, allow_redirects=False, **options) as response:
                reply = Reply(response.status, await response.read(), response.headers)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            self.fail(operation, type(error).__name__, str(error))
            return None
        self.latencies[operation].append(time.perf_counter() - started)
        if reply.status not in expect:
            self.fail(operation, f"HTTP {reply.status}{_error_code(reply)}", _excerpt(reply.body))
            return None
        return reply

    def fail(self, operation: str, kind: str, detail: str = "") -> None:
        self.errors[operation, kind] += 1
        self.examples.setdefault((operation, kind), detail[:200])


def _error_code(reply: Reply) -> str:
    with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
        return f" {reply.json()['error']['code']}"
    return ""


def _excerpt(body: bytes) -> str:
    return " ".join(body.decode("utf-8", "replace").split())[:200]


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (1.0 gives the largest)."""
    if not ordered:
        return float("nan")
    rank = math.ceil(fraction * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def table(headings: list[str], rows: list[list[str]], indent: str = "") -> None:
    """Print a table: the first column to the left, the others to the right."""
    widths = [max(len(row[n]) for row in [headings, *rows]) for n in range(len(headings))]
    for row in [headings, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print(indent + "  ".join(cells))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


# The candidates.


@dataclass(frozen=True)
class Ack:
    attempt_id: int
    position: int
    seq: int
    item_type: str
    answer: Any


@dataclass
class Candidate:
    number: int
    email: str
    rng: random.Random
    http: aiohttp.ClientSession | None = None
    csrf: str = ""
    attempt_id: int | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    submitted: bool = False

    def next_seq(self) -> int:
        # One counter for the whole attempt: it rises at every position, as the page's does.
        self.seq += 1
        return self.seq

    def answer_for(self, item: dict[str, Any], seq: int) -> Any:
        """A valid answer to the item, different from save to save where the type allows."""
        options = [option["id"] for option in item["options"]]
        kind = item["type"]
        if kind == "single":
            return self.rng.choice(options)
        if kind == "multiple":
            chosen = set(self.rng.sample(options, min(int(item["select"]), len(options))))
            return [option for option in options if option in chosen]  # the stored order
        if kind == "ordering":
            return self.rng.sample(options, len(options))
        if kind == "numeric":
            return "26"
        return f"answer {seq} from candidate {self.number}"


def expected_stored(item_type: str, answer: Any) -> Any:
    """The form the app stores a sent answer in (numbers are stored as floats)."""
    if item_type == "numeric":
        return float(str(answer).replace(",", ""))
    return answer


def csrf_token(reply: Reply) -> str | None:
    found = CSRF_FIELD.search(reply.body)
    return found.group(1).decode() if found else None


class Exam:
    """Drives candidates through the app and keeps every acknowledged save."""

    def __init__(self, base_url: str, connector: aiohttp.TCPConnector, timeout: float) -> None:
        self.base_url = base_url
        self.connector = connector
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.recorder = Recorder()
        self.acks: list[Ack] = []

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            self.base_url,
            connector=self.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: cookies from an IP address
            timeout=self.timeout,
        )

    async def sign_in_and_start(self, candidate: Candidate, delay: float) -> bool:
        await asyncio.sleep(delay)
        record = self.recorder
        candidate.http = http = self.session()
        page = await record.request(http, "login page", "GET", "/login")
        token = csrf_token(page) if page else None
        if page and token is None:
            record.fail("login page", "no csrf_token")
        if token is None:
            return False
        form = {"email": candidate.email, "password": PASSWORD, "csrf_token": token}
        signed_in = await record.request(
            http, "sign in", "POST", "/login", data=form, expect=(302,)
        )
        if signed_in is None:
            return False
        if not signed_in.headers.get("Location", "").endswith("/candidate/"):
            record.fail("sign in", "not signed in", signed_in.headers.get("Location", ""))
            return False
        home = await record.request(http, "home page", "GET", "/candidate/")
        token = csrf_token(home) if home else None
        if home and token is None:
            record.fail("home page", "no csrf_token")
        if token is None:
            return False
        candidate.csrf = token
        started = await record.request(
            http, "start", "POST", f"/api/v1/assessments/{ASSESSMENT}/attempts",
            headers={"X-CSRFToken": token}, expect=(201, 200),
        )  # fmt: skip
        if started is None:
            return False
        attempt = started.json()
        candidate.attempt_id, candidate.items = attempt.get("id"), attempt.get("items") or []
        if not isinstance(candidate.attempt_id, int) or not candidate.items:
            record.fail("start", "no attempt or no items", _excerpt(started.body))
            return False
        return True

    async def save(
        self, candidate: Candidate, item: dict[str, Any], operation: str = "save"
    ) -> bool:
        """Save a fresh answer at the item's position; record it if acknowledged."""
        assert candidate.http is not None
        assert candidate.attempt_id is not None
        seq = candidate.next_seq()
        answer = candidate.answer_for(item, seq)
        reply = await self.recorder.request(
            candidate.http, operation, "PUT",
            f"/api/v1/attempts/{candidate.attempt_id}/responses/{item['position']}",
            json={"answer": answer, "seq": seq}, headers={"X-CSRFToken": candidate.csrf},
        )  # fmt: skip
        if reply is None:
            return False
        returned = reply.json().get("seq")
        if not isinstance(returned, int) or returned < seq:
            self.recorder.fail(operation, "not acknowledged", _excerpt(reply.body))
            return False
        self.acks.append(Ack(candidate.attempt_id, item["position"], seq, item["type"], answer))
        return True

    async def sit(
        self, candidate: Candidate, saves: int, think: tuple[float, float], delay: float
    ) -> None:
        await asyncio.sleep(delay)
        rng, done = candidate.rng, 0
        while done < saves:
            item = rng.choice(candidate.items)
            if done + 2 <= saves and rng.random() < CHANGE_OF_MIND:
                await asyncio.gather(self.save(candidate, item), self.save(candidate, item))
                done += 2
            else:
                await self.save(candidate, item)
                done += 1
            if done < saves:
                await asyncio.sleep(rng.uniform(*think))

    async def submit(self, candidate: Candidate, delay: float) -> None:
        await asyncio.sleep(delay)
        assert candidate.http is not None
        reply = await self.recorder.request(
            candidate.http, "submit", "POST", f"/api/v1/attempts/{candidate.attempt_id}/submit",
            headers={"X-CSRFToken": candidate.csrf},
        )  # fmt: skip
        if reply is not None:
            candidate.submitted = reply.json().get("status") == "submitted"
            if not candidate.submitted:
                self.recorder.fail("submit", "not submitted", _excerpt(reply.body))


@dataclass(frozen=True)
class LoopResult:
    label: str
    ok: int
    usage: Usage
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.usage.seconds

    def cpu_per_save(self, group: str) -> float:
        return self.usage.cpu.get(group, 0.0) / max(self.ok, 1)


async def closed_loop(clients: int, requests: int, send: Callable[[int], Awaitable[bool]]) -> int:
    """Send ``requests`` times from ``clients`` clients, each sending again once answered."""
    tickets: Iterator[int] = iter(range(requests))
    ok = 0

    async def client(number: int) -> None:
        nonlocal ok
        for _ in tickets:
            answered = await send(number)  # read ok only after the await: others add meanwhile
            ok += answered

    await asyncio.gather(*(client(number) for number in range(clients)))
    return ok


# The database and the servers.


def create_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create ``accredit_bench_<random>`` on the server; return its URL and its dropper."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(server_url)
    name = f"accredit_bench_{secrets.token_hex(5)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def libpq_url(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def build_database(url: str, candidates: int, checkpoints: Path) -> Any:
    """Migrate, import the banks, add the candidates and enrol them; return the app."""
    from bare_app import TABLE
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from accredit import create_app
    from accredit.accounts import service as accounts
    from accredit.catalogue.importer import import_tree
    from accredit.extensions import db
    from accredit.models import Assessment, Role, User
    from accredit.models.delivery import Enrolment

    app = create_app(
        {
            "ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
            "AUDIT_KEY": AUDIT_KEY, "AUDIT_CHECKPOINT_FILE": str(checkpoints),
            "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8,
        }
    )  # fmt: skip
    with app.app_context():
        log = io.StringIO()
        try:
            with contextlib.redirect_stderr(log):
                upgrade()
        except Exception:
            print(log.getvalue(), file=sys.stderr)
            raise
        report = import_tree(ROOT / "question_banks")
        if not report.succeeded:
            raise BenchError(f"question_banks did not import: {report.run.errors[:3]}")
        organisation = accounts.add_organisation("BENCH", "Benchmark Borough Council")
        password_hash = accounts.hasher().hash(PASSWORD)  # once, shared by every candidate
        db.session.execute(
            insert(User),
            [
                {
                    "email": candidate_email(number), "name": f"Candidate {number}",
                    "role": Role.CANDIDATE.value, "organisation_id": organisation.id,
                    "password_hash": password_hash,
                }
                for number in range(1, candidates + 1)
            ],
        )  # fmt: skip
        ids = db.session.scalars(
            select(User.id).where(User.organisation_id == organisation.id)
        ).all()
        assessment_id = db.session.scalar(select(Assessment.id).filter_by(key=ASSESSMENT))
        db.session.execute(
            insert(Enrolment),
            [{"candidate_id": user_id, "assessment_id": assessment_id} for user_id in ids],
        )
        db.session.execute(db.text(TABLE))
        db.session.commit()
    return app


def candidate_email(number: int) -> str:
    return f"candidate{number:05d}@bench.example.org"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One gunicorn, in its own process group, logging to a file."""

    def __init__(
        self, name: str, app: str, workers: int, env: dict[str, str], log: Path, chdir: Path
    ) -> None:
        self.name, self.log, self.port = name, log, free_port()
        self.command = [
            GUNICORN, "--workers", str(workers), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{self.port}", "--chdir", str(chdir), app,
        ]  # fmt: skip
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
        self.env = {**inherited, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited at start:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                opener.open(f"{self.url}/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer /healthz in {timeout:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def server_problems(log: Path) -> Counter[str]:
    """Count the signs of trouble in a gunicorn log."""
    marks = {
        "worker timeouts": "WORKER TIMEOUT",
        "workers killed": "was sent SIGKILL",
        "tracebacks": "Traceback (most recent call last)",
        "error lines": "[ERROR]",
        "critical lines": "[CRITICAL]",
    }
    counts: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        for name, mark in marks.items():
            if mark in line:
                counts[name] += 1
    return counts


# Verification.


def verify(url: str, acks: list[Ack]) -> tuple[int, list[str]]:
    """Compare every acknowledged save with the database; return the lost count and examples."""
    import psycopg

    with psycopg.connect(libpq_url(url)) as connection:
        rows = connection.execute("SELECT attempt_id, position, seq, answer FROM responses")
        stored = {(row[0], row[1]): (row[2], row[3]) for row in rows}
    lost, examples = 0, []
    for ack in acks:
        seq, answer = stored.get((ack.attempt_id, ack.position), (None, None))
        expected = expected_stored(ack.item_type, ack.answer)
        if seq is None:
            problem = "no row"
        elif seq < ack.seq:
            problem = f"stored seq {seq} is older"
        elif seq == ack.seq and answer != expected:
            problem = f"stored answer {answer!r} differs"
        else:
            continue
        lost += 1
        if len(examples) < 10:
            examples.append(
                f"attempt {ack.attempt_id} position {ack.position} seq {ack.seq} "
                f"answer {expected!r}: {problem}"
            )
    return lost, examples


def verify_audit(app: Any) -> tuple[int, str | None]:
    from accredit import audit

    with app.app_context():
        checked, problem = audit.verify()
    return checked, str(problem) if problem else None


def database_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(libpq_url(url)) as connection:
        submitted = connection.execute(
            "SELECT count(*) FROM attempts WHERE submitted_at IS NOT NULL"
        ).fetchone()
        deadlocks = connection.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return {
        "submitted": submitted[0] if submitted else 0,
        "deadlocks": deadlocks[0] if deadlocks else 0,
    }


# The run.


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> tuple[int, float] | None:
    """Return a process's parent id and the CPU seconds it has used, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since it booted."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLOCK_TICKS  # all but idle and iowait


@dataclass
class Usage:
    seconds: float
    cpu: dict[str, float]


@dataclass
class Phases:
    """Wall time of each phase, and the CPU the load generator, gunicorn and PostgreSQL used."""

    servers: list[Server] = field(default_factory=list)
    database: str = ""  # a libpq URL of the bench database, once it exists
    usage: dict[str, Usage] = field(default_factory=dict)

    def snapshot(self) -> dict[str, dict[int, float]]:
        masters = {s.process.pid for s in self.servers if s.process and s.process.poll() is None}
        workers: dict[int, float] = {}
        for entry in os.listdir("/proc") if masters else []:
            found = cpu_of(int(entry)) if entry.isdigit() else None
            if found and found[0] in masters:
                workers[int(entry)] = found[1]
        backends: dict[int, float] = {}
        if self.database:
            for pid in backend_pids(self.database):
                found = cpu_of(pid)
                if found:
                    backends[pid] = found[1]
        return {
            "load generator": {os.getpid(): time.process_time()},
            "gunicorn": workers,
            "postgres": backends,
            "machine": {0: machine_busy()},
        }

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[Usage]:
        usage = Usage(0.0, {})
        before, started = self.snapshot(), time.perf_counter()
        try:
            yield usage
        finally:
            usage.seconds = time.perf_counter() - started
            after = self.snapshot()
            usage.cpu = {
                group: sum(cpu - before[group].get(pid, 0.0) for pid, cpu in pids.items())
                for group, pids in after.items()
            }
            ours = sum(usage.cpu[group] for group in ("load generator", "gunicorn", "postgres"))
            usage.cpu["rest"] = max(0.0, usage.cpu.pop("machine") - ours)
            self.usage[name] = usage


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (this query's own among them)."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()
    return [row[0] for row in rows]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--saves", type=int, default=10, help="saves per candidate")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server URL; the run creates and drops its own database there",
    )  # fmt: skip
    parser.add_argument("--think", type=float, default=10.0, help="mean think time, seconds")
    parser.add_argument("--ramp", type=float, default=60.0, help="arrivals spread, seconds")
    parser.add_argument("--connections", type=int, default=256, help="connections in flight")
    parser.add_argument("--baseline-clients", type=int, default=64)
    parser.add_argument("--baseline-requests", type=int, default=5_000)
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parsed = parser.parse_args()
    if parsed.candidates < 1 or parsed.saves < 1 or parsed.workers < 1:
        parser.error("--candidates, --saves and --workers must be at least 1")
    if not parsed.database_url.startswith(("postgresql:", "postgresql+psycopg:")):
        parser.error("--database-url must be a postgresql+psycopg:// URL")
    return parsed


@dataclass
class Report:
    """Everything the run measured, for printing at the end."""

    phases: Phases
    database: str = ""
    exam: Exam | None = None
    started: int = 0
    sitting_acks: int = 0
    submitted: int = 0
    loops: list[LoopResult] = field(default_factory=list)
    lost: int = 0
    lost_examples: list[str] = field(default_factory=list)
    audit_events: int = 0
    audit_problem: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    server_problems: Counter[str] = field(default_factory=Counter)


SETUP = "set-up (database, banks, accounts)"
SITTING = "sitting (autosaves with think time)"
VERIFY = "verification"


def think_range(mean: float) -> tuple[float, float]:
    """Think time is uniform within a quarter of its mean either side."""
    return mean * 0.75, mean * 1.25


async def run(options: argparse.Namespace, report: Report, url: str, folder: Path) -> None:
    phases = report.phases
    sessions: list[aiohttp.ClientSession] = []
    connector = aiohttp.TCPConnector(limit=options.connections, force_close=True)
    app_env = {
        "ACCREDIT_DATABASE_URL": url,
        "ACCREDIT_SECRET_KEY": SECRET_KEY,
        "ACCREDIT_AUDIT_KEY": AUDIT_KEY,
        "ACCREDIT_AUDIT_CHECKPOINT_FILE": str(folder / "audit-checkpoints.jsonl"),
        "ACCREDIT_ENV": "development",  # production would mark cookies Secure over plain http
        "ACCREDIT_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",  # every candidate is 127.0.0.1
        "ACCREDIT_PASSWORD_HASH_TIME_COST": "1",
        "ACCREDIT_PASSWORD_HASH_MEMORY_KIB": "8",
    }
    accredit = Server(
        "accredit", "accredit:create_app()", options.workers, app_env, folder / "accredit.log",
        ROOT,
    )  # fmt: skip
    bare = Server(
        "bare app", "bare_app:create_app()", options.workers,
        {"BARE_DATABASE_URL": libpq_url(url)}, folder / "bare.log", ROOT / "bench",
    )  # fmt: skip
    phases.servers += [accredit, bare]
    try:
        with phases.measure("server start"):
            accredit.start()
        exam = report.exam = Exam(accredit.url, connector, options.timeout)
        rng = random.Random(options.seed)
        candidates = [
            Candidate(number, candidate_email(number), random.Random(rng.getrandbits(64)))
            for number in range(1, options.candidates + 1)
        ]

        with phases.measure(f"sign in and start (arrivals over {options.ramp:g} s)"):
            started = await asyncio.gather(
                *(exam.sign_in_and_start(c, rng.uniform(0, options.ramp)) for c in candidates)
            )
        sessions += [c.http for c in candidates if c.http is not None]
        sitting = [c for c, ok in zip(candidates, started, strict=True) if ok]
        report.started = len(sitting)
        if not sitting:
            raise BenchError("no candidate could start an attempt")

        think = think_range(options.think)
        with phases.measure(SITTING):
            await asyncio.gather(
                *(exam.sit(c, options.saves, think, rng.uniform(0, options.think)) for c in sitting)
            )
        report.sitting_acks = len(exam.acks)

        # The closed loop saves through the sessions of candidates still sitting.
        async def accredit_save(number: int) -> bool:
            candidate = sitting[number % len(sitting)]
            return await exam.save(candidate, candidate.rng.choice(candidate.items), label)

        label = "warm-up"
        await closed_loop(options.baseline_clients, 2 * options.baseline_clients, accredit_save)
        label = "closed loop: accredit"
        with phases.measure("closed loop: accredit save endpoint") as usage:
            ok = await closed_loop(
                options.baseline_clients, options.baseline_requests, accredit_save
            )
        report.loops.append(LoopResult(label, ok, usage, exam.recorder.latencies[label]))

        with phases.measure(f"submit (spread over {SUBMIT_SPREAD_SECONDS:g} s)"):
            await asyncio.gather(
                *(exam.submit(c, rng.uniform(0, SUBMIT_SPREAD_SECONDS)) for c in sitting)
            )
        report.submitted = sum(c.submitted for c in sitting)
        accredit.stop()

        bare_http = aiohttp.ClientSession(
            bare.url, connector=connector, connector_owner=False, timeout=exam.timeout
        )
        sessions.append(bare_http)
        bare_seq: Counter[int] = Counter()

        async def bare_save(number: int) -> bool:
            # The same bodies as accredit's: answers to the same candidates' items.
            candidate = sitting[number % len(sitting)]
            item = candidate.rng.choice(candidate.items)
            bare_seq[number] += 1
            seq = bare_seq[number]
            reply = await exam.recorder.request(
                bare_http, label, "PUT", f"/saves/{number + 1}/{item['position']}",
                json={"answer": candidate.answer_for(item, seq), "seq": seq},
            )  # fmt: skip
            return reply is not None and reply.json().get("seq", 0) >= seq

        with phases.measure("bare app start"):
            bare.start()
        label = "warm-up"
        await closed_loop(options.baseline_clients, 2 * options.baseline_clients, bare_save)
        label = "closed loop: bare"
        with phases.measure("closed loop: bare upsert endpoint") as usage:
            ok = await closed_loop(options.baseline_clients, options.baseline_requests, bare_save)
        report.loops.append(LoopResult(label, ok, usage, exam.recorder.latencies[label]))
        bare.stop()
    finally:
        for http in sessions:
            await http.close()
        await connector.close()


def print_report(options: argparse.Namespace, report: Report) -> int:
    assert report.exam is not None
    exam, record = report.exam, report.exam.recorder
    print(
        f"exam day: {options.candidates} candidates, {options.saves} saves each, "
        f"{options.workers} gunicorn sync workers, PostgreSQL database {report.database}"
    )
    print(
        "sign-in cost is lowered (argon2id time_cost=1, memory 8 KiB) so the run measures "
        "the sitting, not password hashing"
    )
    print()
    groups = ["load generator", "gunicorn", "postgres", "rest"]
    table(
        ["phase", "seconds", "CPU s: load gen", "gunicorn", "postgres", "rest of machine"],
        [
            [name, f"{usage.seconds:.1f}", *(f"{usage.cpu.get(g, 0.0):.1f}" for g in groups)]
            for name, usage in report.phases.usage.items()
        ],
    )
    busy = [u for name, u in report.phases.usage.items() if name != SETUP and name != VERIFY]
    rest = sum(u.cpu["rest"] for u in busy) / sum(u.seconds for u in busy)
    if rest > 0.25:
        print(
            f"note: other processes used {rest:.1f} of this machine's {os.cpu_count()} cores "
            "on average while the app was under load, so rates are lower and latencies higher "
            "than on a quiet machine"
        )

    print()
    rows = []
    for operation in record.sent:
        if operation == "warm-up":
            continue
        times = sorted(record.latencies[operation])
        failed = sum(n for (op, _kind), n in record.errors.items() if op == operation)
        rows.append(
            [operation, str(record.sent[operation]), str(failed)]
            + [ms(percentile(times, q)) for q in (0.5, 0.95, 0.99, 1.0)]
        )
    table(["requests", "sent", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)

    sitting = report.phases.usage[SITTING]
    saves = sorted(record.latencies["save"])
    print()
    print(
        f"sitting: {report.started} of {options.candidates} candidates started and sat at once; "
        f"{record.sent['save']} saves attempted, {report.sitting_acks} acknowledged"
    )
    low, high = think_range(options.think)
    offered = report.started / options.think
    capacity = report.loops[0].rate
    print(
        f"  {report.sitting_acks / sitting.seconds:.0f} acknowledged saves/s over the "
        f"{sitting.seconds:.1f} s saving phase; think time {low:g} to {high:g} s, so about "
        f"{offered:.0f} saves/s offered\n  while everyone sits: {offered / capacity:.0%} of the "
        f"{capacity:.0f} saves/s the closed loop below got from the same server"
    )
    print(
        f"  save latency p50 {ms(percentile(saves, 0.5))} ms, "
        f"p95 {ms(percentile(saves, 0.95))} ms, p99 {ms(percentile(saves, 0.99))} ms, "
        f"max {ms(saves[-1] if saves else float('nan'))} ms"
    )
    print(f"submitted: {report.submitted} of {report.started} attempts")

    print()
    if record.errors:
        print("errors by kind:")
        for (operation, kind), count in sorted(record.errors.items()):
            example = record.examples.get((operation, kind), "")
            print(f"  {operation:22} {kind:30} {count:6d}  e.g. {example[:90]}")
    else:
        print("errors by kind: none")

    accredit_loop, bare_loop = report.loops
    print()
    print(
        f"baseline, measured in this run: {options.baseline_clients} clients in a closed loop "
        f"(no think time), {options.baseline_requests} saves on each side, the same gunicorn "
        f"command with {options.workers} sync workers, the same PostgreSQL"
    )
    rows = []
    for loop, name in [
        (accredit_loop, "accredit PUT /api/v1/…/responses/<n>"),
        (bare_loop, "bare Flask + psycopg upsert"),
    ]:
        times = sorted(loop.latencies)
        rows.append(
            [name, f"{loop.rate:.0f}", ms(percentile(times, 0.5)), ms(percentile(times, 0.99))]
            + [f"{loop.cpu_per_save(group) * 1000:.2f}" for group in groups[2::-1]]
        )
    headings = ["endpoint", "saves/s", "p50 ms", "p99 ms", "CPU ms/save: postgres"]
    table([*headings, "gunicorn", "load gen"], rows, indent="  ")
    ratio = accredit_loop.rate / bare_loop.rate
    cpu_ratio = accredit_loop.cpu_per_save("gunicorn") / bare_loop.cpu_per_save("gunicorn")
    print(
        f"  ratio (accredit ÷ bare): {ratio:.2f} in saves per second; "
        f"{cpu_ratio:.1f}x the gunicorn CPU per save"
    )
    meaning = (
        f"What it means: with the same clients, the same workers and the same database, "
        f"accredit's autosave endpoint serves {ratio:.0%} as many saves per second as a bare "
        f"Flask endpoint doing the same upsert, and each save costs {cpu_ratio:.1f} times the "
        "bare save's server CPU. The difference is accredit's own work per save: loading the "
        "session and the user, the CSRF check, reading the attempt and checking its owner, "
        "state and deadline, validating the answer, the ORM and the commit. A ratio of 1.00 "
        "would mean the app added nothing to the upsert. The load generator shares the two "
        "cores and costs a similar amount per request on both sides, which narrows the ratio "
        "a little; the CPU per save is measured per process and does not depend on it."
    )
    print(textwrap.fill(meaning, width=100, initial_indent="  ", subsequent_indent="  "))

    print()
    print(f"verification: {len(exam.acks)} acknowledged saves checked against the database")
    print(f"lost acknowledged saves: {report.lost}")
    for example in report.lost_examples:
        print(f"  {example}")
    print(
        f"audit chain: {'BROKEN: ' + report.audit_problem if report.audit_problem else 'intact'} "
        f"({report.audit_events} events verified)"
    )
    print(
        f"database: {report.counts['submitted']} attempts submitted, "
        f"{report.counts['deadlocks']} deadlocks"
    )
    problems = report.server_problems
    print(
        "server logs: "
        + (", ".join(f"{n} {name}" for name, n in problems.items()) if problems else "clean")
    )

    failures = []
    if report.lost:
        failures.append(f"{report.lost} acknowledged saves lost")
    if report.audit_problem:
        failures.append("the audit chain is broken")
    if record.errors:
        failures.append(f"{sum(record.errors.values())} requests failed")
    print()
    print("result: " + (f"FAIL ({'; '.join(failures)})" if failures else "PASS"))
    return 1 if failures else 0


def main() -> int:
    options = arguments()
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    report = Report(Phases())
    phases = report.phases
    with contextlib.ExitStack() as cleanup, tempfile.TemporaryDirectory() as folder:
        with phases.measure(SETUP):
            url, drop = create_database(options.database_url)
            cleanup.callback(drop)
            report.database = url.rsplit("/", 1)[-1]
            app = build_database(url, options.candidates, Path(folder) / "audit-checkpoints.jsonl")
            cleanup.callback(dispose, app)
        phases.database = libpq_url(url)
        try:
            asyncio.run(run(options, report, url, Path(folder)))
        finally:
            for server in phases.servers:
                server.stop()
        assert report.exam is not None
        with phases.measure(VERIFY):
            report.lost, report.lost_examples = verify(url, report.exam.acks)
            report.audit_events, report.audit_problem = verify_audit(app)
            report.counts = database_counts(url)
            for server in phases.servers:
                report.server_problems += server_problems(server.log)
        return print_report(options, report)


def dispose(app: Any) -> None:
    from accredit.extensions import db

    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: the servers are stopped and the bench database is dropped")
        sys.exit(130)
