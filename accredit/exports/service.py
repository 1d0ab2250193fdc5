"""Make an export, record it, and find it again. Flushes only; the caller commits.

Rows stream from the database in batches straight into the CSV inside the ZIP,
so no export is ever built in memory, however large. Regulators' exports hold
accreditation results only once they are released or ratified; no export holds
a name, an email, an answer's text, an item's content or a key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, event, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from accredit import audit, clock
from accredit.catalogue.queries import spec_of
from accredit.config import development_secret
from accredit.errors import DomainError, NotFound
from accredit.exports import tables
from accredit.exports.formats import PackageInfo, Written, write_descriptor, write_table
from accredit.extensions import db
from accredit.models import (
    Assessment,
    AssessmentVersion,
    Enrolment,
    Item,
    ItemVersion,
    Organisation,
    User,
)
from accredit.models.delivery import Attempt, AttemptItem
from accredit.models.exports import EXPORT_KINDS, Export
from accredit.models.marking import AgreedMark, Mark, ModerationDecision
from accredit.models.results import Result, ResultRevision, ScoredPosition

BATCH = 1000
# A moderator's decision that finalises a result, released or not.
FINAL_DECISIONS = ("ratify", "amend", "withhold")
STATUSES = ("ratified", "all")
# A result changed after its release by one of these is "amended".
AMENDING = ("amended", "rekeyed", "recomputed")
Progress = Callable[[int], None]


class InvalidExport(DomainError):
    code = "invalid_export"
    status = 422


@dataclass(frozen=True)
class Filters:
    """Which rows an export holds. Dates are whole days, in UTC, both ends included."""

    assessment: str | None = None
    organisation: str | None = None
    window_from: date | None = None
    window_to: date | None = None
    status: str = "ratified"

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        for name in ("window_from", "window_to"):
            if found[name] is not None:
                found[name] = found[name].isoformat()
        return found

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Filters:
        """Filters from a form, the command line or JSON; each problem is a clear error."""

        def day(name: str) -> date | None:
            value = raw.get(name)
            if value in (None, ""):
                return None
            if isinstance(value, date):
                return value
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                raise InvalidExport(f"{name}: give a date as YYYY-MM-DD") from None

        def text(name: str) -> str | None:
            value = raw.get(name)
            if value in (None, ""):
                return None
            if not isinstance(value, str) or len(value) > 64 or not value.isprintable():
                raise InvalidExport(f"{name}: not a valid id")
            return value.strip()

        status = raw.get("status") or "ratified"
        if status not in STATUSES:
            raise InvalidExport(f"status: one of {', '.join(STATUSES)}")
        found = cls(text("assessment"), text("organisation"), day("window_from"),
                    day("window_to"), str(status))  # fmt: skip
        if found.window_from and found.window_to and found.window_from > found.window_to:
            raise InvalidExport("window_from: the window must start before it ends")
        return found


def export_dir() -> Path:
    configured = current_app.config.get("ACCREDIT_EXPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def research_key() -> bytes:
    """The key research pseudonyms are made with: kept in the instance folder, never exported."""
    configured = current_app.config.get("ACCREDIT_RESEARCH_KEY")
    text = str(configured or development_secret(Path(current_app.instance_path), "research_key"))
    if len(text.strip()) < 32:
        # An empty or short key would let anyone rebuild the pseudonyms from user ids.
        raise InvalidExport("The research key is missing or too short: set ACCREDIT_RESEARCH_KEY")
    return text.strip().encode()


def pseudonym(key: bytes, user_id: int) -> str:
    return hmac.new(key, f"candidate:{user_id}".encode(), hashlib.sha256).hexdigest()[:20]


# ---- which results a regulator may see ------------------------------------------------------


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _as_stored(column: Any) -> Any:
    """A time column as the driver hands it over: SQLite's UTC text is not parsed, only to be
    written out again as text (PostgreSQL's driver still gives an aware datetime)."""
    return type_coerce(column, String).label(column.key)


def _results_query(filters: Filters) -> Any:
    """Released or ratified accreditation results, with what each row needs, in id order.

    The first RESULT_COLUMNS columns are what ``_describe`` reads; callers may add more.
    """
    decision = aliased(ModerationDecision)
    revision = aliased(ResultRevision)
    query = (
        select(
            Result.id, Result.revision, Result.attempt_id, User.swe_registration_number,
            Organisation.code, Assessment.key, AssessmentVersion.id, AssessmentVersion.version,
            AssessmentVersion.title, Attempt.form_id, Attempt.number,
            _as_stored(Attempt.started_at), _as_stored(Attempt.submitted_at), Result.raw,
            Result.maximum, Result.cut, Result.cut_method, Result.cut_description,
            Result.passed, Result.status, _as_stored(Result.released_at), decision.decision,
            _as_stored(decision.decided_at), decision.reason, revision.cause, revision.reason,
            _as_stored(revision.at),
        )
        .join(Attempt, Attempt.id == Result.attempt_id)
        .join(User, User.id == Attempt.candidate_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(Assessment, Assessment.id == AssessmentVersion.assessment_id)
        .outerjoin(decision, and_(decision.result_id == Result.id,
                                  decision.revision == Result.revision))
        .outerjoin(revision, and_(revision.result_id == Result.id,
                                  revision.revision == Result.revision))
        .where(
            AssessmentVersion.mode == "accreditation",
            or_(Result.released_at.is_not(None), decision.decision.in_(FINAL_DECISIONS)),
        )
        .order_by(Result.id)
    )  # fmt: skip
    return _filtered(query, filters, Attempt.submitted_at)


RESULT_COLUMNS = 27


def _filtered(query: Any, filters: Filters, when: Any) -> Any:
    if filters.assessment:
        query = query.where(Assessment.key == filters.assessment)
    if filters.organisation:
        query = query.where(Organisation.code == filters.organisation)
    if filters.window_from:
        query = query.where(when >= _start(filters.window_from))
    if filters.window_to:
        query = query.where(when < _start(filters.window_to + timedelta(days=1)))
    return query


class _Releases:
    """Each assessment version's release rule, read once per export."""

    def __init__(self) -> None:
        self.found: dict[int, str] = {}

    def __call__(self, version_id: int) -> str:
        if version_id not in self.found:
            version = db.session.get_one(AssessmentVersion, version_id)
            self.found[version_id] = spec_of(version).results.release
        return self.found[version_id]


# What _describe makes of a result: its row id, status, outcome, ratified at, amendment reason.
Described = tuple[str, str, str, Any, str | None]


def _describe(row: Any, filters: Filters, releases: _Releases) -> Described | None:
    """The row's status and outcome, or None when it is not for this export."""
    (result_id, revision, _attempt, _registration, _organisation, _assessment, version_id,
     _version, _title, _form, _number, _started, _submitted, _raw, maximum, _cut, _method,
     _description, passed, state, released_at, decision, decided_at, decision_reason, cause,
     cause_reason, revised_at) = row[:RESULT_COLUMNS]  # fmt: skip
    # Times compare as stored: SQLite's fixed-width UTC text sorts as the times do.
    amended_after_release = (
        cause in AMENDING and released_at is not None and revised_at is not None
        and revised_at > released_at
    )  # fmt: skip
    if amended_after_release:
        status = "amended"
    elif decision is not None or releases(version_id) == "after_moderation":
        status = "ratified"
    else:
        status = "provisional"
    if status == "provisional" and filters.status == "ratified":
        return None
    if decision == "withhold" and released_at is None:
        outcome = "withheld"
    elif maximum == 0:
        outcome = "void"
    elif state == "pending" or passed is None:
        return None  # not finalised: still awaiting marks
    else:
        outcome = "passed" if passed else "not_passed"
    reason = cause_reason if amended_after_release else None
    if not reason and decision == "amend":
        reason = decision_reason
    return (f"R{result_id}.{revision}", status, outcome, decided_at or released_at,
            reason or None)  # fmt: skip


def _stream(query: Any) -> Iterator[Any]:
    """Rows a batch at a time: a server-side cursor on PostgreSQL, never all in memory.

    Plain rows on the session's connection (in its transaction): nothing here needs the
    ORM's bookkeeping per row.
    """
    # Options on the statement, not the connection: on the connection they would stay, and
    # every later statement in the transaction (the export's own record) would be a cursor.
    result = db.session.connection().execute(
        query.execution_options(stream_results=True, yield_per=BATCH)
    )
    try:
        yield from result
    finally:
        result.close()


def _with_status(query: Any, filters: Filters) -> Iterator[tuple[Any, Described]]:
    releases = _Releases()
    for row in _stream(query):
        described = _describe(row, filters, releases)
        if described is not None:
            yield row, described


def result_rows(filters: Filters) -> Iterator[list[Any]]:
    for row, (row_id, status, outcome, ratified_at, reason) in _with_status(
        _results_query(filters), filters
    ):
        (_id, _revision, _attempt, registration, organisation, assessment, _version_id,
         version, title, form_id, number, started, submitted, raw, maximum, cut, cut_method,
         cut_description) = row[:18]  # fmt: skip
        if outcome == "withheld":
            # What a withheld result scored is held back with it.
            raw = maximum = cut = cut_method = cut_description = None
        yield [
            row_id, registration, organisation, assessment, version, title, form_id, number,
            started, submitted, raw, maximum, cut, cut_method, cut_description, outcome, status,
            ratified_at, reason,
        ]  # fmt: skip
    yield from _absent_rows(filters)


def _absent_rows(filters: Filters) -> Iterator[list[Any]]:
    """Enrolments on an accreditation assessment whose window closed with no attempt."""
    now = clock.now()
    query = (
        select(Enrolment, User.swe_registration_number, Organisation.code, Assessment,
               AssessmentVersion)
        .join(User, User.id == Enrolment.candidate_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .join(Assessment, Assessment.id == Enrolment.assessment_id)
        .join(AssessmentVersion, (AssessmentVersion.assessment_id == Assessment.id)
              & (AssessmentVersion.version == Assessment.current_version))
        .where(
            AssessmentVersion.mode == "accreditation",
            ~select(Attempt.id).where(Attempt.enrolment_id == Enrolment.id).exists(),
        )
        .order_by(Enrolment.id)
    )  # fmt: skip
    if filters.assessment:
        query = query.where(Assessment.key == filters.assessment)
    if filters.organisation:
        query = query.where(Organisation.code == filters.organisation)
    for enrolment, registration, organisation, assessment, version in db.session.execute(query):
        spec = spec_of(version)
        closes = enrolment.closes_at or (spec.window.closes if spec.window else None)
        if closes is None or closes > now:
            continue
        day = closes.astimezone(UTC).date()
        if (filters.window_from and day < filters.window_from) or (
            filters.window_to and day > filters.window_to
        ):
            continue
        yield [
            f"E{enrolment.id}", registration, organisation, assessment.key, version.version,
            version.title, None, None, None, None, None, None, None, None, None, "absent",
            None, None, None,
        ]  # fmt: skip


def profile_rows(filters: Filters) -> Iterator[list[Any]]:
    query = _results_query(filters).add_columns(Result.profile)
    for row, (row_id, _status, outcome, _at, _reason) in _with_status(query, filters):
        if outcome == "withheld":
            continue  # what a withheld result scored is held back with it
        registration, organisation, assessment, version, number = (
            row[3],
            row[4],
            row[5],
            row[7],
            row[10],
        )
        for statement in row[RESULT_COLUMNS] or ():
            yield [
                f"{row_id}.{statement['statement']}", row_id, registration, organisation,
                assessment, version, number,
                statement["statement"], statement.get("title"),
                float(statement["earned"]), float(statement["possible"]),
                float(statement.get("percent", 0.0)), int(statement.get("items", 0)),
                float(statement.get("threshold_percent", 0.0)), bool(statement.get("met")),
            ]  # fmt: skip


def marking_rows(filters: Filters) -> Iterator[list[Any]]:
    """Marks of written answers on the results a regulator may see, by round."""
    for row, described in _with_status(_results_query(filters), filters):
        if described[2] != "withheld":
            yield from _marks_of(row, described[0])


def _marks_of(row: Any, row_id: str) -> Iterator[list[Any]]:
    attempt_id, assessment, version = row[2], row[5], row[7]
    marks = db.session.execute(
        select(AttemptItem.id, Item.key, ItemVersion.version, Mark.round, Mark.marker_id,
               Mark.total, Mark.marked_at, AgreedMark.mark, AgreedMark.method)
        .join(Mark, Mark.script_id == AttemptItem.id)
        .join(Item, Item.id == AttemptItem.item_id)
        .join(ItemVersion, ItemVersion.id == AttemptItem.item_version_id)
        .outerjoin(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.position, Mark.id)
    )  # fmt: skip
    for script, item, item_version, round_, marker, total, at, agreed, method in marks:
        yield [f"M{script}.{round_}", row_id, assessment, version, f"S{script}", item,
               item_version,
               round_, marker, total, at, agreed, method]  # fmt: skip


def item_rows(filters: Filters) -> Iterator[list[Any]]:
    from accredit.analysis import service as analysis

    if not filters.assessment:
        raise InvalidExport("assessment: the item statistics are for one assessment")
    done = analysis.run(filters.assessment)
    for stats in done.analysis.items:
        flags = done.flags.for_item(stats.item)
        yield [
            stats.item, done.item_types.get(stats.item), stats.pretest, stats.n, stats.facility,
            stats.sd, stats.point_biserial, stats.upper_facility, stats.lower_facility,
            stats.discrimination_index, stats.discriminative_efficiency, stats.omitted_rate,
            " ".join(f.code for f in flags.hard), " ".join(f.code for f in flags.soft),
        ]  # fmt: skip


# Only these answers are option ids; every other kind is typed by the candidate, and stays.
OPTION_ANSWERS = ("single", "multiple", "ordering")


def _research_query(filters: Filters) -> Any:
    decision = aliased(ModerationDecision)
    query = (
        select(Attempt.candidate_id, Assessment.key, AssessmentVersion.version,
               Attempt.number, Attempt.submitted_at, ScoredPosition.position, Item.key,
               ItemVersion.version, AttemptItem.item_type, ScoredPosition.pretest,
               ScoredPosition.answer, ScoredPosition.marks, ScoredPosition.max_marks,
               ScoredPosition.pending, AssessmentVersion.id, decision.decision)
        .select_from(Result)
        .join(ScoredPosition, (ScoredPosition.result_id == Result.id)
              & (ScoredPosition.revision == Result.revision))
        .join(Attempt, Attempt.id == Result.attempt_id)
        .join(AttemptItem, (AttemptItem.attempt_id == Attempt.id)
              & (AttemptItem.position == ScoredPosition.position))
        .join(User, User.id == Attempt.candidate_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(Assessment, Assessment.id == AssessmentVersion.assessment_id)
        .join(Item, Item.id == ScoredPosition.item_id)
        .join(ItemVersion, ItemVersion.id == ScoredPosition.item_version_id)
        .outerjoin(decision, and_(decision.result_id == Result.id,
                                  decision.revision == Result.revision))
        .where(
            AssessmentVersion.mode == "accreditation",
            # Withheld results are held back from research too.
            or_(Result.released_at.is_not(None), decision.decision.in_(("ratify", "amend"))),
        )
        .order_by(Result.id, ScoredPosition.position)
    )  # fmt: skip
    return _filtered(query, filters, Attempt.submitted_at)


def _answer(kind: str, answer: Any) -> str | None:
    """Option ids only: anything a candidate typed never leaves accredit."""
    if kind not in OPTION_ANSWERS or answer is None:
        return None
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(isinstance(part, str) for part in answer):
        return ";".join(answer)
    return None


class _Research:
    """Streams the responses and gathers the per item and month counts as it goes."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.key = research_key()
        # Per item and month: the candidates who answered it, its responses and their marks.
        self.people: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])

    def responses(self) -> Iterator[list[Any]]:
        releases = _Releases()
        for row in _stream(_research_query(self.filters)):
            (candidate, assessment, version, number, submitted, position, item, item_version,
             kind, pretest, answer, marks, max_marks, pending, version_id,
             decision) = row  # fmt: skip
            provisional = decision is None and releases(version_id) != "after_moderation"
            if provisional and self.filters.status == "ratified":
                continue
            month = submitted.astimezone(UTC).strftime("%Y-%m") if submitted else None
            if not pending and month is not None:
                self.people[(item, month)].add(candidate)
                total = self.sums[(item, month)]
                total[0] += 1
                total[1] += marks
            yield [pseudonym(self.key, candidate), assessment, version, number, month,
                   position, item, item_version, kind, pretest, _answer(kind, answer),
                   None if pending else marks, max_marks]  # fmt: skip

    def summary(self) -> Iterator[list[Any]]:
        for (item, month), (responses, total) in sorted(self.sums.items()):
            candidates = len(self.people[(item, month)])
            if candidates < 5:
                yield [item, month, "c", "c"]
            else:
                yield [item, month, candidates, total / responses]


# ---- making an export -----------------------------------------------------------------------


def _check_filters(filters: Filters) -> None:
    if (
        filters.assessment
        and db.session.scalar(select(Assessment.id).where(Assessment.key == filters.assessment))
        is None
    ):
        raise NotFound(f"No assessment {filters.assessment}")
    if (
        filters.organisation
        and db.session.scalar(
            select(Organisation.id).where(Organisation.code == filters.organisation)
        )
        is None
    ):
        raise NotFound(f"No organisation {filters.organisation}")


def check_request(kind: str, filters: Filters) -> None:
    """Refuse, with a clear error, an export that cannot be made as asked."""
    if kind not in EXPORT_KINDS:
        raise InvalidExport(f"No export called {kind}: one of {', '.join(EXPORT_KINDS)}")
    if kind == "items" and not filters.assessment:
        raise InvalidExport("assessment: the item statistics are for one assessment")
    _check_filters(filters)


def generate(
    kind: str, filters: Filters, *, actor: User | None, job_id: int | None = None
) -> Export:
    """Write the export's ZIP into the export folder and record it. Flushes; the caller commits."""
    check_request(kind, filters)
    at = clock.now()
    folder = export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"accredit-{kind}-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}.zip"
    partial = folder / (name + ".part")
    export = Export(
        kind=kind, schema_version=tables.SCHEMA_VERSION, filters=filters.as_json(), rows=0,
        bytes=0, sha256="", file_name=name, created_by_id=actor.id if actor else None,
        created_at=at, job_id=job_id,
    )  # fmt: skip
    db.session.add(export)
    db.session.flush()
    who = (
        {"user_id": actor.id, "role": actor.role} if actor else {"user_id": None, "role": "system"}
    )
    info = PackageInfo(
        name=f"accredit-{kind}", title=f"accredit: {tables.TITLES[kind]}",
        schema_version=tables.SCHEMA_VERSION, generated_at=at, generated_by=who,
        filters=filters.as_json(), export_id=export.id, notes=_notes(kind, filters),
    )  # fmt: skip
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            written = _write(kind, archive, filters)
            write_descriptor(archive, info, written)
        digest, size = _file_hash(partial)
        os.replace(partial, folder / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # If the transaction that records it does not commit, the file goes with it.
    _forget_if_rolled_back(folder / name)
    export.rows, export.bytes, export.sha256 = written[0].rows, size, digest
    db.session.flush()
    audit.record(
        "export.created", actor=actor, subject_type="export", subject_id=export.id,
        details={"kind": kind, "filters": filters.as_json(), "rows": export.rows,
                 "sha256": digest, "schema_version": tables.SCHEMA_VERSION},
    )  # fmt: skip
    return export


WRITTEN = "accredit.exports.written"


def _forget_if_rolled_back(path: Path) -> None:
    """Delete the file if this transaction rolls back; keep it once it commits."""
    session = db.session()
    session.info.setdefault(WRITTEN, []).append(path)
    if not event.contains(session, "after_commit", _kept):
        event.listen(session, "after_commit", _kept)
        event.listen(session, "after_rollback", _discarded)


def _kept(session: Session) -> None:
    session.info.pop(WRITTEN, None)


def _discarded(session: Session) -> None:
    for path in session.info.pop(WRITTEN, []):
        path.unlink(missing_ok=True)


def _notes(kind: str, filters: Filters) -> tuple[str, ...]:
    notes = ["Accreditation results only; practice attempts are never exported."]
    if kind in ("results", "profiles", "marking", "research"):
        notes.append(
            "Only results released or ratified"
            + (" (provisional ones too)" if filters.status == "all" else " or amended")
            + "; results still awaiting marks or moderation are left out."
        )
    if kind == "research":
        notes.append("Candidates are keyed pseudonyms; the key stays with accredit.")
        notes.append("item_months shows c where fewer than 5 candidates answered.")
    if kind == "items":
        notes.append("Statistics of every first attempt of the assessment.")
    return tuple(notes)


def _write(kind: str, archive: zipfile.ZipFile, filters: Filters) -> list[Written]:
    if kind == "research":
        research = _Research(filters)
        first = write_table(archive, tables.RESEARCH, research.responses())
        return [first, write_table(archive, tables.RESEARCH_SUMMARY, research.summary())]
    rows = {"results": result_rows, "profiles": profile_rows, "marking": marking_rows,
            "items": item_rows}[kind]  # fmt: skip
    (table,) = tables.CATALOGUE[kind]
    return [write_table(archive, table, rows(filters))]


def _file_hash(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# ---- the history ----------------------------------------------------------------------------


def history(limit: int = 100) -> list[Export]:
    return list(db.session.scalars(select(Export).order_by(Export.id.desc()).limit(limit)))


def made_by(job_id: int) -> Export | None:
    return db.session.scalar(select(Export).where(Export.job_id == job_id))


def get(export_id: int) -> Export:
    export = db.session.get(Export, export_id)
    if export is None:
        raise NotFound("No such export")
    return export


class ExportFileChanged(DomainError):
    code = "export_file_changed"
    status = 500


def file_of(export: Export) -> Path:
    """The export's file, checked against the hash recorded when it was made."""
    path = export_dir() / export.file_name
    if not path.exists():
        raise NotFound("The export's file is no longer kept")
    digest, size = _file_hash(path)
    if digest != export.sha256 or size != export.bytes:
        raise ExportFileChanged("The export's file differs from the one recorded: not served")
    return path
