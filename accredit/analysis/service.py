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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from accredit import audit, clock
from accredit.analysis.psychometrics import (
    Analysis,
    CandidateSpec,
    FlagReport,
    ItemFlags,
    ItemSpec,
    ResponseRow,
    Responses,
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
from accredit.models.results import AnalysisSignOff, KeyDecision, Result, ScoredPosition
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
        """Every statistic, ready for ``json.dumps`` (for the CLI's --json and for sign-off)."""
        from dataclasses import asdict

        analysis = self.analysis
        return {
            "assessment": self.key,
            "title": self.title,
            "attempts": self.attempts,
            "first_attempts_only": self.first_attempts_only,
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


def run(
    assessment_key: str, *, first_attempts_only: bool = True,
    thresholds: Thresholds | None = None,
) -> AssessmentAnalysis:  # fmt: skip
    """Analyse every scored attempt of the assessment (first attempts only, by default)."""
    assessment, version = _assessment(assessment_key)
    thresholds = thresholds or configured_thresholds()
    query = (
        select(
            ScoredPosition.attempt_id, Item.key, ScoredPosition.item_version_id,
            ScoredPosition.marks, ScoredPosition.max_marks, ScoredPosition.answer,
            ScoredPosition.key, ScoredPosition.position, ScoredPosition.pretest,
        )
        .join(Result, (Result.id == ScoredPosition.result_id)
              & (Result.revision == ScoredPosition.revision))
        .join(Attempt, Attempt.id == ScoredPosition.attempt_id)
        .join(AssessmentVersion, AssessmentVersion.id == Attempt.assessment_version_id)
        .join(Item, Item.id == ScoredPosition.item_id)
        .where(
            AssessmentVersion.assessment_id == assessment.id,
            ScoredPosition.pending.is_(False),
        )
    )  # fmt: skip
    if first_attempts_only:
        query = query.where(Attempt.number == 1)
    rows = db.session.execute(query).all()
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
        for attempt_id, cut, maximum in db.session.execute(
            select(Result.attempt_id, Result.cut, Result.maximum).where(
                Result.attempt_id.in_(attempts)
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
    if not attempts:
        return {}
    rows = db.session.execute(
        select(AttemptItem.attempt_id, AttemptItem.position, AgreedMark)
        .join(AgreedMark, AgreedMark.script_id == AttemptItem.id)
        .where(AttemptItem.attempt_id.in_(attempts), AgreedMark.method != "blank")
    ).all()
    behind = criterion_marks_behind(agreed for _a, _p, agreed in rows)
    return {
        (attempt_id, position): behind[agreed.script_id] for attempt_id, position, agreed in rows
    }


class NotSignedOff(Conflict):
    code = "not_signed_off"


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
    done = run(assessment_key)
    row = AnalysisSignOff(
        assessment_id=assessment.id, attempts=done.attempts,
        statistics=json.loads(json.dumps(done.as_json(), default=str)), note=note.strip(),
        signed_by_id=actor.id if actor else None, signed_at=clock.now(),
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    flagged = [flags.item for flags in done.flags.items if flags.hard]
    audit.record(
        "analysis.signed_off", actor=actor, subject_type="assessment", subject_id=assessment_key,
        details={"attempts": done.attempts, "hard_flags": flagged, "note": row.note},
    )  # fmt: skip
    return row
