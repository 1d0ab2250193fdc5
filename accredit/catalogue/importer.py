"""Import a question-bank tree into the database as versions, all or nothing.

The tree is validated first; with any error nothing is imported and the run is
recorded with every message, so admins see why. Otherwise everything is synced
by id in the caller's one transaction:

- a new item (scenario, assessment) becomes version 1;
- changed content, by hash, becomes a new version; unchanged content is left alone;
- anything no longer on disk is retired, never deleted.

Stored versions are never modified (the models refuse it), so an attempt that
used one always shows what the candidate saw.

An import that changes nothing records no run, unless the last recorded run
failed: then one successful run is recorded, so admins see that the problem
is gone. Running ``make run`` again and again therefore adds nothing.

One rule needs the database as well as the files: an item that was ever for
practice only has had its key shown to candidates, so a later version may never
make it available to accreditation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from accredit import audit
from accredit.banks import Assessment as AssessmentSpec
from accredit.banks import Framework as FrameworkSpec
from accredit.banks import Item as ItemSpec
from accredit.banks import (
    LoadResult,
    Problem,
    content_hash,
    load_tree,
    render_inline,
    render_markdown,
)
from accredit.banks import Scenario as ScenarioSpec
from accredit.extensions import db
from accredit.models import User
from accredit.models.banks import (
    Assessment,
    AssessmentVersion,
    Bank,
    Framework,
    FrameworkVersion,
    ImportRun,
    Item,
    ItemVersion,
    Scenario,
    ScenarioVersion,
    Statement,
)

KINDS = ("frameworks", "scenarios", "items", "assessments")
OUTCOMES = ("added", "changed", "unchanged", "retired")
MAX_ERROR_LENGTH = 2000
"""Longest message kept for an unexpected error (a database error can quote a whole statement)."""


@dataclass
class ImportReport:
    """What an import did, or the problems that stopped it.

    ``run`` is None when the import changed nothing and the last recorded run
    succeeded, so nothing was recorded.
    """

    run: ImportRun | None
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    result: LoadResult | None = None

    @property
    def succeeded(self) -> bool:
        return self.run is None or self.run.succeeded

    def lines(self) -> list[str]:
        """Return one line per kind: added, changed, unchanged and retired counts."""
        return [
            f"{kind:12} "
            + "  ".join(f"{outcome} {self.counts[kind][outcome]}" for outcome in OUTCOMES)
            for kind in KINDS
        ]


def import_tree(root: Path, *, actor: User | None = None) -> ImportReport:
    """Validate and import a tree, flushing but not committing.

    Problems in the content are reported, never raised. Any other exception is
    the caller's to handle: roll back, then call :func:`record_failure`.
    """
    result = load_tree(root)
    warnings = [str(problem) for problem in result.warnings]
    errors = list(result.errors) if not result.ok else exposure_problems(result)
    if errors:
        run = record_failure(root, [str(problem) for problem in errors], warnings, actor=actor)
        return ImportReport(run=run, result=result)

    sync = _Sync(root, actor, warnings)
    sync.frameworks(spec.value for spec in result.frameworks.values())
    sync.banks(result)
    sync.scenarios(result)
    sync.items(result)
    sync.assessments(spec.value for spec in result.assessments.values())
    if not sync.changed and _last_run_succeeded():
        return ImportReport(run=None, counts=sync.counts, result=result)
    run = sync.ensure_run()
    run.counts = {kind: dict(sync.counts[kind]) for kind in KINDS}
    db.session.flush()
    audit.record(
        "banks.imported", actor=actor, subject_type="import_run", subject_id=run.id,
        details={"source": str(root), "counts": run.counts},
    )  # fmt: skip
    return ImportReport(run=run, counts=sync.counts, result=result)


def record_failure(
    root: Path, errors: list[str], warnings: list[str] | None = None, *, actor: User | None = None
) -> ImportRun:
    """Record a failed run and its audit event, flushing but not committing.

    After an unexpected exception, roll the session back first, so the failure
    is recorded in a fresh transaction even when the database refused the import.
    """
    run = ImportRun(
        source=str(root)[:500], actor_id=actor.id if actor else None, succeeded=False,
        counts={}, errors=errors, warnings=warnings or [],
    )  # fmt: skip
    db.session.add(run)
    db.session.flush()
    audit.record(
        "banks.import_failed", actor=actor, subject_type="import_run", subject_id=run.id,
        details={"source": str(root), "errors": len(errors)},
    )  # fmt: skip
    return run


def unexpected_error(error: BaseException) -> str:
    """Describe an exception that stopped an import, for the run's list of errors."""
    text = f"the import stopped with an unexpected error ({type(error).__name__}): {error}"
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def exposure_problems(result: LoadResult) -> list[Problem]:
    """Report items that were once for practice only but would now be open to accreditation.

    A practice-only item's key and rationale are shown to candidates, so it can
    never become secret again: it needs a new item with a new id.
    """
    shown = dict(
        db.session.execute(
            select(Item.key, func.min(ItemVersion.version))
            .join(ItemVersion, ItemVersion.item_id == Item.id)
            .where(ItemVersion.for_practice.is_(True), ItemVersion.for_accreditation.is_(False))
            .group_by(Item.key)
        ).all()
    )
    problems = []
    for loaded in result.banks.values():
        for sourced in loaded.items.values():
            spec = sourced.value
            if "accreditation" in spec.use and spec.id in shown:
                message = (
                    f"item was for practice only at version {shown[spec.id]}, so candidates "
                    "may have seen its key; it can never be used for accreditation. "
                    "Write a new item with a new id instead"
                )
                problems.append(sourced.place.problem(message, "use"))
    return problems


def _last_run_succeeded() -> bool:
    last = db.session.scalar(select(ImportRun.succeeded).order_by(ImportRun.id.desc()).limit(1))
    return bool(last)


def render_item(spec: ItemSpec) -> dict[str, Any]:
    """Return the candidate-safe HTML of an item: stem and options only, never a key."""
    rendered: dict[str, Any] = {"stem": render_markdown(spec.stem)}
    options = getattr(spec, "options", None)
    if options:
        rendered["options"] = {option.id: render_inline(option.text) for option in options}
    return rendered


def _current_hashes(parent: Any, version: Any, parent_id: Any) -> dict[str, tuple[Any, str]]:
    """Map each stored key to its row and the content hash of its current version."""
    rows = db.session.execute(
        select(parent, version.content_hash).join(
            version, (parent_id == parent.id) & (version.version == parent.current_version)
        )
    )
    return {row[0].key: (row[0], row[1]) for row in rows}


class _Sync:
    """Bring the database in line with one validated tree.

    The run is created only when a version needs its id, or at the end when
    anything else changed; ``changed`` says whether anything did.
    """

    def __init__(self, root: Path, actor: User | None, warnings: list[str]) -> None:
        self.root, self.actor, self.warnings = root, actor, warnings
        self.run: ImportRun | None = None
        self.changed = False
        self.counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        self.framework_ids: dict[str, int] = {}
        self.framework_versions: dict[tuple[str, str], FrameworkVersion] = {}
        self.bank_ids: dict[str, int] = {}
        self.scenario_ids: dict[str, int] = {}

    def ensure_run(self) -> ImportRun:
        """Return this import's run, creating it the first time it is needed."""
        if self.run is None:
            self.run = ImportRun(
                source=str(self.root)[:500], actor_id=self.actor.id if self.actor else None,
                succeeded=True, counts={}, errors=[], warnings=self.warnings,
            )  # fmt: skip
            db.session.add(self.run)
            db.session.flush()
        return self.run

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1
        if outcome != "unchanged":
            self.changed = True

    def frameworks(self, specs: Iterable[FrameworkSpec]) -> None:
        existing = {f.key: f for f in db.session.scalars(select(Framework))}
        versions = {
            (version.framework.key, version.version): version
            for version in db.session.scalars(select(FrameworkVersion).join(Framework))
        }
        for spec in specs:
            framework = existing.get(spec.id) or Framework(key=spec.id)
            db.session.add(framework)
            digest = content_hash(spec)
            stored = versions.get((spec.id, spec.version))
            if stored is None:
                stored = FrameworkVersion(
                    framework=framework, version=spec.version, content_hash=""
                )
                db.session.add(stored)
                self.count("frameworks", "added")
            elif stored.content_hash == digest:
                self.count("frameworks", "unchanged")
            else:
                self.count("frameworks", "changed")
            if stored.content_hash != digest:
                self._apply_framework(stored, spec, digest)
            self.framework_versions[(spec.id, spec.version)] = stored
        db.session.flush()
        self.framework_ids = {f.key: f.id for f in db.session.scalars(select(Framework))}

    @staticmethod
    def _apply_framework(stored: FrameworkVersion, spec: FrameworkSpec, digest: str) -> None:
        # A framework version's wording may be corrected in place; statements are
        # matched by their ids, which items refer to.
        stored.title, stored.source_url, stored.status = spec.title, spec.source_url, spec.status
        stored.audience, stored.content_hash = spec.audience, digest
        current = {statement.key: statement for statement in stored.statements}
        wanted = {statement.id for statement in spec.statements}
        stored.statements = [s for s in stored.statements if s.key in wanted]
        for statement in spec.statements:
            row = current.get(statement.id) or Statement(key=statement.id)
            row.number, row.title, row.summary = (
                statement.number,
                statement.title,
                statement.summary,
            )
            if statement.id not in current:
                stored.statements.append(row)

    def banks(self, result: LoadResult) -> None:
        existing = {bank.key: bank for bank in db.session.scalars(select(Bank))}
        for loaded in result.banks.values():
            bank = existing.get(loaded.id) or Bank(key=loaded.id)
            framework_id = self.framework_ids[loaded.bank.framework]
            if loaded.id not in existing:
                self.changed = True
            self._update(bank, title=loaded.bank.title, framework_id=framework_id)
            db.session.add(bank)
        db.session.flush()
        self.bank_ids = {bank.key: bank.id for bank in db.session.scalars(select(Bank))}

    def scenarios(self, result: LoadResult) -> None:
        stored = _current_hashes(Scenario, ScenarioVersion, ScenarioVersion.scenario_id)
        seen = set()
        for loaded in result.banks.values():
            for sourced in loaded.scenarios.values():
                spec = sourced.value
                seen.add(spec.id)
                self._sync_scenario(spec, self.bank_ids[loaded.id], stored.get(spec.id))
        self._retire(
            "scenarios", (scenario for key, (scenario, _d) in stored.items() if key not in seen)
        )
        db.session.flush()
        self.scenario_ids = {s.key: s.id for s in db.session.scalars(select(Scenario))}

    def _sync_scenario(
        self, spec: ScenarioSpec, bank_id: int, stored: tuple[Scenario, str] | None
    ) -> None:
        digest = content_hash(spec)
        if stored is None:
            scenario = Scenario(key=spec.id, bank_id=bank_id, status=spec.status, current_version=1)
            db.session.add(scenario)
            self._scenario_version(scenario, spec, 1, digest)
            self.count("scenarios", "added")
            return
        scenario, current_digest = stored
        self._update(scenario, bank_id=bank_id, status=spec.status)
        if current_digest == digest:
            self.count("scenarios", "unchanged")
            return
        scenario.current_version += 1
        self._scenario_version(scenario, spec, scenario.current_version, digest)
        self.count("scenarios", "changed")

    def _scenario_version(
        self, scenario: Scenario, spec: ScenarioSpec, version: int, digest: str
    ) -> None:
        db.session.add(
            ScenarioVersion(
                scenario=scenario, version=version, content_hash=digest, title=spec.title,
                vignette=spec.vignette, vignette_html=render_markdown(spec.vignette),
                import_run_id=self.ensure_run().id,
            )
        )  # fmt: skip

    def _update(self, row: Any, **values: Any) -> None:
        """Set columns that are not versioned (status, bank), noting whether any changed."""
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                self.changed = True

    def items(self, result: LoadResult) -> None:
        stored = _current_hashes(Item, ItemVersion, ItemVersion.item_id)
        seen = set()
        for loaded in result.banks.values():
            bank_id = self.bank_ids[loaded.id]
            for sourced in loaded.items.values():
                seen.add(sourced.value.id)
                self._sync_item(sourced.value, bank_id, stored.get(sourced.value.id))
        self._retire("items", (item for key, (item, _d) in stored.items() if key not in seen))
        db.session.flush()

    def _sync_item(self, spec: ItemSpec, bank_id: int, stored: tuple[Item, str] | None) -> None:
        digest = content_hash(spec)
        if stored is None:
            item = Item(
                key=spec.id, bank_id=bank_id, type=spec.type, status=spec.status, current_version=1
            )
            db.session.add(item)
            self._item_version(item, spec, 1, digest)
            self.count("items", "added")
            return
        item, current_digest = stored
        self._update(item, bank_id=bank_id, status=spec.status, type=spec.type)
        if current_digest == digest:
            self.count("items", "unchanged")
            return
        item.current_version += 1
        self._item_version(item, spec, item.current_version, digest)
        self.count("items", "changed")

    def _item_version(self, item: Item, spec: ItemSpec, version: int, digest: str) -> None:
        db.session.add(
            ItemVersion(
                item=item, version=version, content_hash=digest,
                scenario_id=self.scenario_ids.get(spec.scenario) if spec.scenario else None,
                competencies=list(spec.competencies),
                for_accreditation="accreditation" in spec.use, for_practice="practice" in spec.use,
                content=spec.model_dump(mode="json", exclude={"status"}),
                rendered=render_item(spec), import_run_id=self.ensure_run().id,
            )
        )  # fmt: skip

    def assessments(self, specs: Iterable[AssessmentSpec]) -> None:
        stored = _current_hashes(Assessment, AssessmentVersion, AssessmentVersion.assessment_id)
        seen = set()
        for spec in specs:
            seen.add(spec.id)
            self._sync_assessment(spec, stored.get(spec.id))
        self._retire("assessments", (a for key, (a, _d) in stored.items() if key not in seen))
        db.session.flush()

    def _sync_assessment(self, spec: AssessmentSpec, stored: tuple[Assessment, str] | None) -> None:
        digest = content_hash(spec)
        if stored is None:
            assessment = Assessment(key=spec.id, status="active", current_version=1)
            db.session.add(assessment)
            self.count("assessments", "added")
        else:
            assessment, current_digest = stored
            self._update(assessment, status="active")
            if current_digest == digest:
                self.count("assessments", "unchanged")
                return
            assessment.current_version += 1
            self.count("assessments", "changed")
        framework_version = self.framework_versions[(spec.framework.id, spec.framework.version)]
        db.session.add(
            AssessmentVersion(
                assessment=assessment, version=assessment.current_version, content_hash=digest,
                framework_version=framework_version, title=spec.title, mode=spec.mode,
                audience=spec.audience, time_limit_minutes=spec.time_limit_minutes,
                content=spec.model_dump(mode="json"), import_run_id=self.ensure_run().id,
            )
        )  # fmt: skip

    def _retire(self, kind: str, rows: Iterable[Any]) -> None:
        retired_status = "retired"
        for row in rows:
            if row.status != retired_status:
                row.status = retired_status
                self.count(kind, "retired")
