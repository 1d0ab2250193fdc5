"""Import a question-bank tree into the database as versions, all or nothing.

The tree is validated first; with any error nothing is imported and the run is
recorded with every message, so admins see why. Otherwise everything is synced
by id in the caller's one transaction:

- a new item (scenario, assessment) becomes version 1;
- changed content, by hash, becomes a new version; unchanged content is left alone;
- anything no longer on disk is retired, never deleted.

Stored versions are never modified (the models refuse it), so an attempt that
used one always shows what the candidate saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from accredit import audit
from accredit.banks import Assessment as AssessmentSpec
from accredit.banks import Framework as FrameworkSpec
from accredit.banks import Item as ItemSpec
from accredit.banks import (
    LoadResult,
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


@dataclass
class ImportReport:
    """What an import did, or the problems that stopped it."""

    run: ImportRun
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    result: LoadResult | None = None

    @property
    def succeeded(self) -> bool:
        return self.run.succeeded

    def lines(self) -> list[str]:
        """Return one line per kind: added, changed, unchanged and retired counts."""
        return [
            f"{kind:12} "
            + "  ".join(f"{outcome} {self.counts[kind][outcome]}" for outcome in OUTCOMES)
            for kind in KINDS
        ]


def import_tree(root: Path, *, actor: User | None = None) -> ImportReport:
    """Validate and import a tree, flushing but not committing."""
    result = load_tree(root)
    warnings = [str(problem) for problem in result.warnings]
    if not result.ok:
        run = ImportRun(
            source=str(root), actor_id=actor.id if actor else None, succeeded=False,
            counts={}, errors=[str(problem) for problem in result.errors], warnings=warnings,
        )  # fmt: skip
        db.session.add(run)
        db.session.flush()
        audit.record(
            "banks.import_failed", actor=actor, subject_type="import_run", subject_id=run.id,
            details={"source": str(root), "errors": len(result.errors)},
        )  # fmt: skip
        return ImportReport(run=run, result=result)

    run = ImportRun(
        source=str(root), actor_id=actor.id if actor else None, succeeded=True,
        counts={}, errors=[], warnings=warnings,
    )  # fmt: skip
    db.session.add(run)
    db.session.flush()
    sync = _Sync(run)
    sync.frameworks(spec.value for spec in result.frameworks.values())
    sync.banks(result)
    sync.scenarios(result)
    sync.items(result)
    sync.assessments(spec.value for spec in result.assessments.values())
    run.counts = {kind: dict(sync.counts[kind]) for kind in KINDS}
    db.session.flush()
    audit.record(
        "banks.imported", actor=actor, subject_type="import_run", subject_id=run.id,
        details={"source": str(root), "counts": run.counts},
    )  # fmt: skip
    return ImportReport(run=run, counts=sync.counts, result=result)


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
    """Bring the database in line with one validated tree."""

    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
        self.framework_ids: dict[str, int] = {}
        self.framework_versions: dict[tuple[str, str], FrameworkVersion] = {}
        self.bank_ids: dict[str, int] = {}
        self.scenario_ids: dict[str, int] = {}

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
                self.counts["frameworks"]["added"] += 1
            elif stored.content_hash == digest:
                self.counts["frameworks"]["unchanged"] += 1
            else:
                self.counts["frameworks"]["changed"] += 1
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
            bank.title = loaded.bank.title
            bank.framework_id = self.framework_ids[loaded.bank.framework]
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
            self.counts["scenarios"]["added"] += 1
            return
        scenario, current_digest = stored
        scenario.bank_id, scenario.status = bank_id, spec.status
        if current_digest == digest:
            self.counts["scenarios"]["unchanged"] += 1
            return
        scenario.current_version += 1
        self._scenario_version(scenario, spec, scenario.current_version, digest)
        self.counts["scenarios"]["changed"] += 1

    def _scenario_version(
        self, scenario: Scenario, spec: ScenarioSpec, version: int, digest: str
    ) -> None:
        db.session.add(
            ScenarioVersion(
                scenario=scenario, version=version, content_hash=digest, title=spec.title,
                vignette=spec.vignette, vignette_html=render_markdown(spec.vignette),
                import_run_id=self.run.id,
            )
        )  # fmt: skip

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
            self.counts["items"]["added"] += 1
            return
        item, current_digest = stored
        item.bank_id, item.status, item.type = bank_id, spec.status, spec.type
        if current_digest == digest:
            self.counts["items"]["unchanged"] += 1
            return
        item.current_version += 1
        self._item_version(item, spec, item.current_version, digest)
        self.counts["items"]["changed"] += 1

    def _item_version(self, item: Item, spec: ItemSpec, version: int, digest: str) -> None:
        db.session.add(
            ItemVersion(
                item=item, version=version, content_hash=digest,
                scenario_id=self.scenario_ids.get(spec.scenario) if spec.scenario else None,
                competencies=list(spec.competencies),
                content=spec.model_dump(mode="json", exclude={"status"}),
                rendered=render_item(spec), import_run_id=self.run.id,
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
            self.counts["assessments"]["added"] += 1
        else:
            assessment, current_digest = stored
            assessment.status = "active"
            if current_digest == digest:
                self.counts["assessments"]["unchanged"] += 1
                return
            assessment.current_version += 1
            self.counts["assessments"]["changed"] += 1
        framework_version = self.framework_versions[(spec.framework.id, spec.framework.version)]
        db.session.add(
            AssessmentVersion(
                assessment=assessment, version=assessment.current_version, content_hash=digest,
                framework_version=framework_version, title=spec.title, mode=spec.mode,
                audience=spec.audience, time_limit_minutes=spec.time_limit_minutes,
                content=spec.model_dump(mode="json"), import_run_id=self.run.id,
            )
        )  # fmt: skip

    def _retire(self, kind: str, rows: Iterable[Any]) -> None:
        retired_status = "retired"
        for row in rows:
            if row.status != retired_status:
                row.status = retired_status
                self.counts[kind]["retired"] += 1
