"""Item analysis of an assessment's sittings, from the stored facts. Reads only.

The matrix is built from the current revision of each result's scored
positions (the marks actually given, against the key actually used), so an
analysis after a key decision shows the items as they now score. By default
only first attempts count, as in Moodle's statistics: a re-sit has seen the
items before. Pretest items are analysed against each candidate's operational
score, and count in no test statistic; written answers still awaiting marks are
left out, never counted as zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from accredit import audit, clock
from accredit.analysis.psychometrics import (
    Analysis,
    CandidateSpec,
    CompetencyStats,
    CriterionStats,
    Flag,
    FlagReport,
    ItemFlags,
    ItemSpec,
    ItemStats,
    OptionStats,
    ResponseRow,
    Responses,
    ScoreFlags,
    ScoreStats,
    Thresholds,
    analyse,
    flag_items,
)
from accredit.catalogue.queries import spec_of
from accredit.errors import Conflict, DomainError, NotFound
from accredit.extensions import db
from accredit.models import Assessment, AssessmentVersion, Item, ItemVersion, Role, User
from accredit.models.delivery import Attempt, AttemptItem
from accredit.models.marking import AgreedMark
from accredit.models.results import (
    AnalysisRun,
    AnalysisSignOff,
    KeyDecision,
    Result,
    ResultRevision,
    ScoredPosition,
)
from accredit.results.queries import criterion_marks_behind


@dataclass(frozen=True)
class AssessmentAnalysis:
    """The analysis of one assessment's sittings, with its flags and what it covered."""

    key: str
    title: str
    attempts: int
    first_attempts_only: bool
    analysis: Analysis
    flags: FlagReport
    thresholds: Thresholds
    item_types: Mapping[str, str]
    # Items seen by fewer candidates than the configured minimum: too few to flag.
    too_few: frozenset[str] = frozenset()
    min_candidates: int = 0

    def as_json(self) -> dict[str, Any]:
        """Every statistic, ready for ``json.dumps`` (the CLI's --json, kept runs, sign-offs).

        ``from_json`` reads it back into the same value.
        """
        analysis = self.analysis
        return {
            "assessment": self.key,
            "title": self.title,
            "attempts": self.attempts,
            "first_attempts_only": self.first_attempts_only,
            "min_candidates": self.min_candidates,
            "group_fraction": analysis.group_fraction,
            "thresholds": asdict(self.thresholds),
            "test": asdict(analysis.assessment),
            "forms": [asdict(form) for form in analysis.forms],
            "competencies": [asdict(c) for c in analysis.competencies],
            "items": [
                {
                    **asdict(item),
                    "type": self.item_types.get(item.item),
                    "flags": asdict(self.flags.for_item(item.item)),
                    "too_few_candidates": item.item in self.too_few,
                }
                for item in analysis.items
            ],
            "test_flags": [asdict(flags) for flags in self.flags.tests],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssessmentAnalysis:
        """The analysis ``as_json`` wrote, as it was (a kept run shows exactly what it found)."""

        def flags(found: Sequence[Mapping[str, Any]]) -> tuple[Flag, ...]:
            return tuple(Flag(**flag) for flag in found)

        def score(found: Mapping[str, Any]) -> ScoreStats:
            return ScoreStats(**found)

        items, item_flags = [], []
        types: dict[str, str] = {}
        too_few = set()
        for raw in data["items"]:
            fields = dict(raw)
            kind, flagged = fields.pop("type", None), fields.pop("flags")
            if fields.pop("too_few_candidates", False):
                too_few.add(fields["item"])
            if kind is not None:
                types[fields["item"]] = kind
            fields["options"] = tuple(OptionStats(**o) for o in fields["options"])
            fields["criteria"] = tuple(CriterionStats(**c) for c in fields["criteria"])
            fields["competencies"] = tuple(fields["competencies"])
            items.append(ItemStats(**fields))
            item_flags.append(
                ItemFlags(flagged["item"], flags(flagged["hard"]), flags(flagged["soft"]))
            )
        analysis = Analysis(
            items=tuple(items), assessment=score(data["test"]),
            forms=tuple(score(form) for form in data["forms"]),
            competencies=tuple(CompetencyStats(**c) for c in data["competencies"]),
            group_fraction=float(data.get("group_fraction", 0.27)),
        )  # fmt: skip
        tests = tuple(ScoreFlags(t["form"], flags(t["flags"])) for t in data["test_flags"])
        return cls(
            key=data["assessment"], title=data["title"], attempts=int(data["attempts"]),
            first_attempts_only=bool(data["first_attempts_only"]), analysis=analysis,
            flags=FlagReport(tuple(item_flags), tests), thresholds=Thresholds(**data["thresholds"]),
            item_types=types, too_few=frozenset(too_few),
            min_candidates=int(data.get("min_candidates", 0)),
        )  # fmt: skip


def _assessment(key: str) -> tuple[Assessment, AssessmentVersion]:
    found = db.session.execute(
        select(Assessment, AssessmentVersion)
        .join(AssessmentVersion, AssessmentVersion.assessment_id == Assessment.id)
        .where(Assessment.key == key, AssessmentVersion.version == Assessment.current_version)
    ).first()
    if found is None:
        raise NotFound(f"No assessment {key}")
    return found[0], found[1]


def configured_thresholds() -> Thresholds:
    """The flag thresholds the configuration sets (ACCREDIT_FLAG_*), or the defaults."""
    config = current_app.config
    return Thresholds(
        discrimination_min=config["ACCREDIT_FLAG_DISCRIMINATION_MIN"],
        hard_facility_max=config["ACCREDIT_FLAG_HARD_FACILITY_MAX"],
        hard_facility_min=config["ACCREDIT_FLAG_HARD_FACILITY_MIN"],
        soft_point_biserial_min=config["ACCREDIT_FLAG_POINT_BISERIAL_MIN"],
        soft_facility_min=config["ACCREDIT_FLAG_FACILITY_MIN"],
        soft_facility_max=config["ACCREDIT_FLAG_FACILITY_MAX"],
        distractor_min_rate=config["ACCREDIT_FLAG_DISTRACTOR_MIN_RATE"],
        alpha_min=config["ACCREDIT_FLAG_ALPHA_MIN"],
    )


# Attempts read per query: bounded parameter lists, and a step for the progress to show.
CHUNK = 2000
Progress = Callable[[int, int], None]


def attempts_to_analyse(assessment_key: str, *, first_attempts_only: bool = True) -> list[int]:
    """The scored attempts an analysis covers, in id order."""
    assessment, _version = _assessment(assessment_key)
    return _attempt_ids(assessment.id, first_attempts_only)


def _attempt_ids(assessment_id: int, first_attempts_only: bool) -> list[int]:
    query = (
        select(Result.attempt_id)
        .join(Attempt, Attempt.id == Result.attempt_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .where(AssessmentVersion.assessment_id == assessment_id)
        .order_by(Result.attempt_id)
    )
    if first_attempts_only:
        query = query.where(Attempt.number == 1)
    return list(db.session.scalars(query))


def run(
    assessment_key: str, *, first_attempts_only: bool = True,
    thresholds: Thresholds | None = None, progress: Progress | None = None,
) -> AssessmentAnalysis:  # fmt: skip
    """Analyse every scored attempt of the assessment (first attempts only, by default).

    The responses are read a chunk of attempts at a time; ``progress(done, total)``
    hears after each chunk, so a worker can report how far it has got.
    """
    assessment, version = _assessment(assessment_key)
    thresholds = thresholds or configured_thresholds()
    wanted = _attempt_ids(assessment.id, first_attempts_only)
    base = (
        select(
            ScoredPosition.attempt_id, Item.key, ScoredPosition.item_version_id,
            ScoredPosition.marks, ScoredPosition.max_marks, ScoredPosition.answer,
            ScoredPosition.key, ScoredPosition.position, ScoredPosition.pretest,
        )
        .join(Result, (Result.id == ScoredPosition.result_id)
              & (Result.revision == ScoredPosition.revision))
        .join(Item, Item.id == ScoredPosition.item_id)
        .where(ScoredPosition.pending.is_(False))
    )  # fmt: skip
    rows: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows.extend(db.session.execute(base.where(ScoredPosition.attempt_id.in_(chunk))).all())
        if progress is not None:
            progress(start + len(chunk), len(wanted))
    version_ids = {row[2] for row in rows}
    contents: dict[int, dict[str, Any]] = dict(
        db.session.execute(
            select(ItemVersion.id, ItemVersion.content).where(ItemVersion.id.in_(version_ids))
        ).all()
    )
    specs, types = _item_specs(rows, contents)
    attempts = sorted({row[0] for row in rows})
    cuts = {
        attempt_id: (cut, maximum)
        for start in range(0, len(attempts), CHUNK)
        for attempt_id, cut, maximum in db.session.execute(
            select(Result.attempt_id, Result.cut, Result.maximum).where(
                Result.attempt_id.in_(attempts[start : start + CHUNK])
            )
        )
    }
    criteria = _criterion_marks(attempts)
    responses = Responses.from_rows(
        [
            ResponseRow(
                candidate=str(attempt_id), item=item_key, marks=float(marks),
                option=answer if types[item_key] == "single" and isinstance(answer, str)
                and answer in specs[item_key].options else None,
                criterion_marks=criteria.get((attempt_id, position)), scored=not pretest,
            )
            for attempt_id, item_key, _v, marks, _max, answer, _key, position, pretest in rows
        ],
        list(specs.values()),
        [
            CandidateSpec(str(a), cut_marks=cuts[a][0], max_marks=cuts[a][1])
            for a in attempts
            if a in cuts
        ],
    )  # fmt: skip
    analysis = analyse(responses)
    minimum = int(current_app.config["ACCREDIT_FLAG_MIN_CANDIDATES"])
    too_few = frozenset(item.item for item in analysis.items if item.n < minimum)
    return AssessmentAnalysis(
        key=assessment.key, title=spec_of(version).title, attempts=len(attempts),
        first_attempts_only=first_attempts_only, analysis=analysis,
        flags=_without(flag_items(analysis, thresholds), too_few), thresholds=thresholds,
        item_types=types, too_few=too_few, min_candidates=minimum,
    )  # fmt: skip


def _without(report: FlagReport, items: frozenset[str]) -> FlagReport:
    """The report with no flags on these items: statistics over too few candidates mislead."""
    return FlagReport(
        tuple(
            ItemFlags(flags.item, (), ()) if flags.item in items else flags
            for flags in report.items
        ),
        report.tests,
    )


def _item_specs(
    rows: Sequence[Any], contents: Mapping[int, dict[str, Any]]
) -> tuple[dict[str, ItemSpec], dict[str, str]]:
    """One spec per item: its options and the key the latest marks used."""
    latest: dict[str, tuple[int, Any, float]] = {}
    for _attempt, item_key, version_id, _marks, maximum, _answer, key, _position, _pre in rows:
        if item_key not in latest or version_id >= latest[item_key][0]:
            latest[item_key] = (version_id, key, maximum)
    specs, types = {}, {}
    for item_key, (version_id, key, maximum) in sorted(latest.items()):
        content = contents[version_id]
        kind = content["type"]
        types[item_key] = kind
        options: tuple[str, ...] = ()
        keys: frozenset[str] = frozenset()
        if kind == "single":
            options = tuple(option["id"] for option in content["options"])
            chosen = key if isinstance(key, list) else [key]
            keys = frozenset(k for k in chosen if isinstance(k, str) and k in options)
        criteria = tuple(c["id"] for c in content.get("rubric", ()))
        specs[item_key] = ItemSpec(
            item=item_key, max_marks=float(maximum) or 1.0, options=options, keys=keys,
            competencies=tuple(content.get("competencies", ())), criteria=criteria,
            criterion_max_marks=tuple(float(c["marks"]) for c in content.get("rubric", ())),
        )  # fmt: skip
    return specs, types


def _criterion_marks(attempts: list[int]) -> dict[tuple[int, int], dict[str, float]]:
    """Each agreed written answer's marks per criterion, by attempt and position."""
    rows = [
        row
        for start in range(0, len(attempts), CHUNK)
        for row in db.session.execute(
            select(AttemptItem.attempt_id, AttemptItem.position, AgreedMark)
            .join(AgreedMark, AgreedMark.script_id == AttemptItem.id)
            .where(
                AttemptItem.attempt_id.in_(attempts[start : start + CHUNK]),
                AgreedMark.method != "blank",
            )
        ).all()
    ]
    behind = criterion_marks_behind(agreed for _a, _p, agreed in rows)
    return {
        (attempt_id, position): behind[agreed.script_id] for attempt_id, position, agreed in rows
    }


# ---- kept runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """The newest submission, key decision and result revision an analysis covered."""

    submitted_at: datetime | None
    decided_at: datetime | None
    revised_at: datetime | None


def _basis(assessment_id: int) -> Basis:
    """What the assessment's results rest on now: a later value means the analysis moved."""
    of_assessment = AssessmentVersion.assessment_id == assessment_id
    submitted = db.session.scalar(
        select(func.max(Attempt.submitted_at))
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .where(of_assessment)
    )
    decided = db.session.scalar(
        select(func.max(KeyDecision.decided_at)).where(KeyDecision.assessment_id == assessment_id)
    )
    revised = db.session.scalar(
        select(func.max(ResultRevision.at))
        .join(Result, Result.id == ResultRevision.result_id)
        .join(Attempt, Attempt.id == Result.attempt_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .where(of_assessment)
    )
    return Basis(submitted, decided, revised)


def _later(now: datetime | None, then: datetime | None) -> bool:
    if now is None:
        return False
    return then is None or now > then


def keep(
    assessment_key: str, *, actor: User | None, first_attempts_only: bool = True,
    job_id: int | None = None, progress: Progress | None = None,
) -> AnalysisRun:  # fmt: skip
    """Run the analysis and keep it, with what it covered. Flushes; the caller commits."""
    assessment, _version = _assessment(assessment_key)
    basis = _basis(assessment.id)  # before reading: anything later makes the run out of date
    done = run(assessment_key, first_attempts_only=first_attempts_only, progress=progress)
    row = AnalysisRun(
        assessment_id=assessment.id, first_attempts_only=first_attempts_only,
        attempts=done.attempts, statistics=json.loads(json.dumps(done.as_json(), default=str)),
        basis_submitted_at=basis.submitted_at, basis_decided_at=basis.decided_at,
        basis_revised_at=basis.revised_at, computed_at=clock.now(),
        computed_by_id=actor.id if actor else None, job_id=job_id,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def latest_run(assessment_key: str, *, first_attempts_only: bool = True) -> AnalysisRun | None:
    assessment, _version = _assessment(assessment_key)
    return db.session.scalar(
        select(AnalysisRun)
        .where(
            AnalysisRun.assessment_id == assessment.id,
            AnalysisRun.first_attempts_only.is_(first_attempts_only),
        )
        .order_by(AnalysisRun.computed_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    )


def run_stale_because(kept: AnalysisRun) -> str | None:
    """Why a kept run no longer shows the results as they stand, or None if it does."""
    now = _basis(kept.assessment_id)
    if _later(now.submitted_at, kept.basis_submitted_at):
        return "Attempts were submitted after this analysis was run"
    if _later(now.decided_at, kept.basis_decided_at):
        return "A key decision was made after this analysis was run"
    if _later(now.revised_at, kept.basis_revised_at):
        return "Results changed after this analysis was run"
    # Times alone can miss an attempt stamped earlier but committed later: count them too.
    if len(_attempt_ids(kept.assessment_id, kept.first_attempts_only)) != kept.attempts:
        return "The attempts to analyse have changed since this analysis was run"
    return None


@dataclass(frozen=True)
class Shown:
    """The analysis a page shows: a current kept run, a fresh computation, or an old run."""

    done: AssessmentAnalysis | None
    kept: AnalysisRun | None
    stale_because: str | None
    attempts: int  # how many attempts the analysis covers now
    computed_now: bool


def to_show(assessment_key: str) -> Shown:
    """What the analysis pages show, computing nothing large in the request (reads only).

    A kept run that is still current is shown as it is. Otherwise a cohort no
    larger than ACCREDIT_ANALYSIS_INLINE_MAX attempts is analysed now; a larger
    one shows its last kept run, marked out of date, until the worker runs it again.
    """
    assessment, _version = _assessment(assessment_key)
    kept = latest_run(assessment_key)
    stale = run_stale_because(kept) if kept is not None else "The analysis has not been run"
    if kept is not None and stale is None:
        return Shown(AssessmentAnalysis.from_json(kept.statistics), kept, None, kept.attempts,
                     computed_now=False)  # fmt: skip
    count = len(_attempt_ids(assessment.id, True))
    if count <= int(current_app.config["ACCREDIT_ANALYSIS_INLINE_MAX"]):
        return Shown(run(assessment_key), None, None, count, computed_now=True)
    old = AssessmentAnalysis.from_json(kept.statistics) if kept is not None else None
    return Shown(old, kept, stale, count, computed_now=False)


class NotSignedOff(Conflict):
    code = "not_signed_off"


class AnalysisOutOfDate(Conflict):
    code = "analysis_out_of_date"


class SignOffRefused(DomainError):
    code = "forbidden"
    status = 403


def latest_sign_off(assessment_key: str) -> AnalysisSignOff | None:
    return db.session.scalar(
        select(AnalysisSignOff)
        .join(Assessment, Assessment.id == AnalysisSignOff.assessment_id)
        .where(Assessment.key == assessment_key)
        .order_by(AnalysisSignOff.signed_at.desc(), AnalysisSignOff.id.desc())
        .limit(1)
    )


def sign_off_stale_because(assessment_key: str) -> str | None:
    """Why the assessment's item analysis is not signed off as things stand, or None if it is.

    A sign-off covers the attempts and key decisions there were when it was made:
    a later submission or decision needs the analysis reviewed again.
    """
    assessment, _version = _assessment(assessment_key)
    signed = latest_sign_off(assessment_key)
    if signed is None:
        return "The item analysis has not been signed off"
    last_submitted = db.session.scalar(
        select(func.max(Attempt.submitted_at))
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .where(AssessmentVersion.assessment_id == assessment.id)
    )
    last_decided = db.session.scalar(
        select(func.max(KeyDecision.decided_at)).where(KeyDecision.assessment_id == assessment.id)
    )
    if last_submitted is not None and last_submitted > signed.signed_at:
        return "Attempts were submitted after the item analysis was signed off"
    if last_decided is not None and last_decided > signed.signed_at:
        return "A key decision was made after the item analysis was signed off"
    return None


def ensure_signed_off(assessment_key: str) -> None:
    """Refuse to go on while the assessment's item analysis is not signed off."""
    why = sign_off_stale_because(assessment_key)
    if why is not None:
        raise NotSignedOff(f"{why}: a lead assessor signs it off before results are released")


def sign_off(assessment_key: str, *, actor: User | None, note: str = "") -> AnalysisSignOff:
    """A lead assessor (or administrator) signs off the analysis; the statistics are kept."""
    if actor is not None and not (
        (actor.has_role(Role.ASSESSOR) and actor.lead_assessor) or actor.has_role(Role.ADMIN)
    ):
        raise SignOffRefused("Only a lead assessor or an administrator signs off item analysis")
    assessment, _version = _assessment(assessment_key)
    kept = latest_run(assessment_key)
    if kept is None or run_stale_because(kept) is not None:
        count = len(_attempt_ids(assessment.id, True))
        if count > int(current_app.config["ACCREDIT_ANALYSIS_INLINE_MAX"]):
            raise AnalysisOutOfDate(
                "The item analysis is out of date: run it again, review it, then sign it off"
            )
        kept = keep(assessment_key, actor=actor)
    done = AssessmentAnalysis.from_json(kept.statistics)
    row = AnalysisSignOff(
        assessment_id=assessment.id, attempts=done.attempts, statistics=kept.statistics,
        note=note.strip(), signed_by_id=actor.id if actor else None, signed_at=clock.now(),
        run_id=kept.id,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    flagged = [flags.item for flags in done.flags.items if flags.hard]
    audit.record(
        "analysis.signed_off", actor=actor, subject_type="assessment", subject_id=assessment_key,
        details={"attempts": done.attempts, "hard_flags": flagged, "note": row.note,
                 "run": kept.id},
    )  # fmt: skip
    return row
