"""Read the catalogue for the admin pages: overviews, item lists, previews and blueprints."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from accredit.banks import Assessment as AssessmentSpec
from accredit.banks import ItemFacts, ScenarioFacts, pool_size
from accredit.banks.pools import items_drawn
from accredit.banks.schema import FixedDraw, ScenarioDraw
from accredit.extensions import db
from accredit.models import (
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
)

PAGE_SIZE = 50


def spec_of(version: AssessmentVersion) -> AssessmentSpec:
    """Return an assessment version's blueprint, as the bank format describes it.

    Versions never change once imported, so each is validated once per process,
    keyed by its content hash: loops over many attempts pay for it once.
    """
    return _spec(version.content_hash, version.content)


# Blueprints by content hash: the same hash is the same blueprint, whatever the database.
_SPECS: dict[str, AssessmentSpec] = {}


def _spec(content_hash: str, content: dict[str, Any]) -> AssessmentSpec:
    cached = _SPECS.get(content_hash)
    if cached is None:
        cached = _SPECS[content_hash] = AssessmentSpec.model_validate(content)
    return cached


def current_item_versions() -> Select[Item, ItemVersion]:
    """Return a query of every item joined to its current version."""
    return select(Item, ItemVersion).join(
        ItemVersion,
        (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version),
    )


def framework_versions() -> list[FrameworkVersion]:
    query = select(FrameworkVersion).join(Framework).order_by(Framework.key, FrameworkVersion.id)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class BankRow:
    bank: Bank
    by_status: Counter[str]
    by_type: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def bank_rows() -> list[BankRow]:
    """Return every bank with its item counts by status and type, in one query."""
    counts = db.session.execute(
        select(Item.bank_id, Item.status, Item.type, func.count()).group_by(
            Item.bank_id, Item.status, Item.type
        )
    ).all()
    by_status: dict[int, Counter[str]] = defaultdict(Counter)
    by_type: dict[int, Counter[str]] = defaultdict(Counter)
    for bank_id, status, kind, number in counts:
        by_status[bank_id][status] += number
        by_type[bank_id][kind] += number
    banks = db.session.scalars(select(Bank).order_by(Bank.key))
    return [BankRow(bank, by_status[bank.id], by_type[bank.id]) for bank in banks]


def last_import() -> ImportRun | None:
    return db.session.scalar(select(ImportRun).order_by(ImportRun.id.desc()).limit(1))


@dataclass(frozen=True)
class ItemFilter:
    bank: str = ""
    statement: str = ""
    type: str = ""
    status: str = ""
    page: int = 1


def item_page(chosen: ItemFilter) -> tuple[list[tuple[Item, ItemVersion]], int]:
    """Return one page of items matching the filter, and how many match in all."""
    rows = db.session.execute(
        current_item_versions().join(Bank, Bank.id == Item.bank_id).order_by(Item.key)
        .where(*_conditions(chosen))
    ).all()  # fmt: skip
    if chosen.statement:
        # Competencies are a JSON list on the version; filter in Python, which
        # stays fast for banks of tens of thousands of items.
        rows = [row for row in rows if chosen.statement in row[1].competencies]
    start = (max(chosen.page, 1) - 1) * PAGE_SIZE
    return [(row[0], row[1]) for row in rows[start : start + PAGE_SIZE]], len(rows)


def _conditions(chosen: ItemFilter) -> list[Any]:
    conditions = []
    if chosen.bank:
        conditions.append(Bank.key == chosen.bank)
    if chosen.type:
        conditions.append(Item.type == chosen.type)
    if chosen.status:
        conditions.append(Item.status == chosen.status)
    return conditions


def statement_choices() -> list[tuple[str, str]]:
    """Return (key, label) for every statement of every framework version."""
    choices = []
    for version in framework_versions():
        for statement in version.statements:
            label = f"{statement.key}: {statement.title} ({version.framework.key})"
            choices.append((statement.key, label))
    return choices


@dataclass(frozen=True)
class ItemPreview:
    item: Item
    version: ItemVersion
    scenario: ScenarioVersion | None
    versions: list[ItemVersion]


def item_preview(key: str, version_number: int | None = None) -> ItemPreview | None:
    """Return an item at its current (or a given) version, with its scenario and history."""
    item = db.session.scalar(select(Item).filter_by(key=key))
    if item is None:
        return None
    versions = list(item.versions)
    wanted = version_number or item.current_version
    version = next((v for v in versions if v.version == wanted), None)
    if version is None:
        return None
    scenario = None
    if version.scenario is not None:
        scenario = db.session.scalar(
            select(ScenarioVersion).filter_by(
                scenario_id=version.scenario.id, version=version.scenario.current_version
            )
        )
    return ItemPreview(item, version, scenario, versions)


@dataclass(frozen=True)
class DrawRow:
    rule: Any
    kind: str
    pool: int
    draws: int
    items_on_form: int

    @property
    def short(self) -> bool:
        return self.pool < self.draws


@dataclass(frozen=True)
class Blueprint:
    assessment: Assessment
    version: AssessmentVersion
    spec: AssessmentSpec
    sections: list[tuple[str, list[DrawRow]]]

    @property
    def items_per_form(self) -> int:
        return sum(row.items_on_form for _title, rows in self.sections for row in rows)


def blueprint(key: str) -> Blueprint | None:
    """Return an assessment's current blueprint with the pool size of every draw rule."""
    assessment = db.session.scalar(select(Assessment).filter_by(key=key))
    if assessment is None:
        return None
    version = next(v for v in assessment.versions if v.version == assessment.current_version)
    spec = spec_of(version)
    banks = {rule.bank for section in spec.sections for rule in section.draws}
    facts = bank_facts(banks, use=spec.mode)
    sections = []
    for section in spec.sections:
        rows = []
        for rule in section.draws:
            items, scenarios = facts.get(rule.bank, ([], []))
            kind = _rule_kind(rule)
            draws = rule.scenarios if isinstance(rule, ScenarioDraw) else items_drawn(rule)
            pool = pool_size(rule, items, scenarios)
            rows.append(DrawRow(rule, kind, pool, draws, items_drawn(rule)))
        sections.append((section.title, rows))
    return Blueprint(assessment, version, spec, sections)


def _rule_kind(rule: Any) -> str:
    if isinstance(rule, ScenarioDraw):
        return "scenarios"
    if isinstance(rule, FixedDraw):
        return "fixed"
    return "statements"


USE_COLUMNS = {"accreditation": ItemVersion.for_accreditation, "practice": ItemVersion.for_practice}


def bank_facts(
    bank_keys: set[str], *, use: str
) -> dict[str, tuple[list[ItemFacts], list[ScenarioFacts]]]:
    """Return the pool facts of the given banks from the database, in key order.

    Only items whose current version is for ``use`` (an assessment's mode:
    "accreditation" or "practice") are returned, so a practice form can never
    draw an accreditation item, and a scenario counts only the items of that use.
    """
    if use not in USE_COLUMNS:
        raise ValueError(f"unknown use {use!r}")
    scenario_keys = dict(db.session.execute(select(Scenario.id, Scenario.key)).all())
    facts: dict[str, tuple[list[ItemFacts], list[ScenarioFacts]]] = {
        key: ([], []) for key in bank_keys
    }
    # Columns only: pools never need an item's content, which is most of a version row.
    rows = db.session.execute(
        select(Item.key, Item.type, Item.status, ItemVersion.scenario_id,
               ItemVersion.competencies, ItemVersion.for_accreditation, ItemVersion.for_practice,
               Bank.key)
        .join(ItemVersion, (ItemVersion.item_id == Item.id)
              & (ItemVersion.version == Item.current_version))
        .join(Bank, Bank.id == Item.bank_id)
        .where(Bank.key.in_(bank_keys), USE_COLUMNS[use].is_(True)).order_by(Item.key)
    ).all()  # fmt: skip
    for key, kind, status, scenario_id, competencies, accreditation, practice, bank_key in rows:
        uses = tuple(
            name for name, on in zip(USE_COLUMNS, (accreditation, practice), strict=True) if on
        )
        facts[bank_key][0].append(
            ItemFacts(
                id=key, type=kind, status=status,
                scenario_id=scenario_keys.get(scenario_id) if scenario_id else None,
                competencies=tuple(competencies), uses=uses,
            )
        )  # fmt: skip
    scenarios = db.session.execute(
        select(Scenario.key, Scenario.status, Bank.key)
        .join(Bank, Bank.id == Scenario.bank_id)
        .where(Bank.key.in_(bank_keys))
        .order_by(Scenario.key)
    ).all()
    for scenario_key, status, bank_key in scenarios:
        facts[bank_key][1].append(ScenarioFacts(id=scenario_key, status=status))
    return facts


def accreditation_eligible_item_ids(item_ids: Iterable[int]) -> set[int]:
    """Return which of these items an accreditation test may draw, now or after a status change.

    An item is eligible when its current version is for accreditation, whatever
    its status: a draft or retired item can go live again without a new version.
    A candidate must never see the key, rationale or accepted answers of these.
    """
    wanted = set(item_ids)
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            select(Item.id)
            .join(
                ItemVersion,
                (ItemVersion.item_id == Item.id) & (ItemVersion.version == Item.current_version),
            )
            .where(Item.id.in_(wanted), ItemVersion.for_accreditation.is_(True))
        )
    )


def assessments() -> list[tuple[Assessment, AssessmentVersion]]:
    query = (
        select(Assessment, AssessmentVersion)
        .join(
            AssessmentVersion,
            (AssessmentVersion.assessment_id == Assessment.id)
            & (AssessmentVersion.version == Assessment.current_version),
        )
        .order_by(Assessment.key)
    )
    return [(row[0], row[1]) for row in db.session.execute(query)]
