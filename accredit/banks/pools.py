"""Which items and scenarios a draw rule may choose from.

These functions take plain facts rather than pydantic models or database rows,
so the validator, form assembly and the admin pages all share one definition
of a pool. Pass the items and scenarios of the rule's bank, in bank order; the
pools keep that order.

An assessment draws only items meant for its mode: pass the items through
:func:`for_use` first (the catalogue's ``bank_facts`` does this in SQL), so a
scenario counts only the items of that use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from accredit.banks.schema import FixedDraw, ScenarioDraw, StatementDraw

DrawRuleKind = StatementDraw | ScenarioDraw | FixedDraw

LIVE = "live"
ACCREDITATION = "accreditation"


@dataclass(frozen=True)
class ItemFacts:
    """What pools need to know about an item."""

    id: str
    type: str
    status: str
    scenario_id: str | None
    competencies: tuple[str, ...]
    uses: tuple[str, ...] = (ACCREDITATION,)

    @property
    def live(self) -> bool:
        """Say whether the item may be drawn."""
        return self.status == LIVE


@dataclass(frozen=True)
class ScenarioFacts:
    """What pools need to know about a scenario."""

    id: str
    status: str = LIVE

    @property
    def live(self) -> bool:
        """Say whether the scenario may be drawn."""
        return self.status == LIVE


def for_use(items: Iterable[ItemFacts], use: str) -> list[ItemFacts]:
    """Return the items that an assessment of this mode ("accreditation" or "practice") may use."""
    return [item for item in items if use in item.uses]


def item_pool(rule: StatementDraw | FixedDraw, items: Iterable[ItemFacts]) -> list[str]:
    """Return the ids of the items ``rule`` may draw."""
    if isinstance(rule, FixedDraw):
        return fixed_pool(rule, items)
    return statement_pool(rule, items)


def statement_pool(rule: StatementDraw, items: Iterable[ItemFacts]) -> list[str]:
    """Return the live standalone items mapped to the rule's statements and types."""
    statements = set(rule.statements)
    types = set(rule.types) if rule.types else None
    return [
        item.id
        for item in items
        if item.live
        and item.scenario_id is None
        and (types is None or item.type in types)
        and not statements.isdisjoint(item.competencies)
    ]


def fixed_pool(rule: FixedDraw, items: Iterable[ItemFacts]) -> list[str]:
    """Return the listed items that exist and are live, in the rule's order."""
    live = {item.id for item in items if item.live}
    return [item_id for item_id in rule.fixed if item_id in live]


def live_items_by_scenario(items: Iterable[ItemFacts]) -> dict[str, list[str]]:
    """Group the live items that belong to a scenario, keeping their order."""
    grouped: dict[str, list[str]] = {}
    for item in items:
        if item.live and item.scenario_id is not None:
            grouped.setdefault(item.scenario_id, []).append(item.id)
    return grouped


def scenario_pool(
    rule: ScenarioDraw, scenarios: Iterable[ScenarioFacts], items: Iterable[ItemFacts]
) -> list[str]:
    """Return the live scenarios with at least ``items_each`` live items (from ``ids`` if given)."""
    allowed = set(rule.ids) if rule.ids else None
    grouped = live_items_by_scenario(items)
    return [
        scenario.id
        for scenario in scenarios
        if scenario.live
        and (allowed is None or scenario.id in allowed)
        and len(grouped.get(scenario.id, ())) >= rule.items_each
    ]


def pool_size(
    rule: DrawRuleKind,
    items: Sequence[ItemFacts],
    scenarios: Sequence[ScenarioFacts] = (),
) -> int:
    """Return how many items (or, for a scenario rule, scenarios) the rule may draw from."""
    if isinstance(rule, ScenarioDraw):
        return len(scenario_pool(rule, scenarios, items))
    return len(item_pool(rule, items))


def draw_count(rule: DrawRuleKind) -> int:
    """Return how many pool members the rule draws: items, or whole scenarios."""
    if isinstance(rule, ScenarioDraw):
        return rule.scenarios
    if isinstance(rule, FixedDraw):
        return len(rule.fixed)
    return rule.count


def items_drawn(rule: DrawRuleKind) -> int:
    """Return how many items the rule puts on each form."""
    if isinstance(rule, ScenarioDraw):
        return rule.scenarios * rule.items_each
    return draw_count(rule)


def required_per_statement(rules: Iterable[DrawRuleKind]) -> dict[str, int]:
    """Return, per statement, how many items rules naming only that statement draw.

    Every form must take these items from the statement, whatever the seed.
    """
    required: dict[str, int] = {}
    for rule in rules:
        if isinstance(rule, StatementDraw) and len(rule.statements) == 1:
            statement = rule.statements[0]
            required[statement] = required.get(statement, 0) + rule.count
    return required


def possible_per_statement(rules: Iterable[DrawRuleKind]) -> dict[str, int]:
    """Return, per statement, the most items the statement rules may draw from it.

    A rule over several statements may take all of its items from any one of
    them, so each of its statements counts the rule's full ``count``.
    """
    possible: dict[str, int] = {}
    for rule in rules:
        if isinstance(rule, StatementDraw):
            for statement in rule.statements:
                possible[statement] = possible.get(statement, 0) + rule.count
    return possible


def live_standalone_by_statement(items: Iterable[ItemFacts]) -> dict[str, int]:
    """Count, per statement, the live standalone items mapped to it."""
    counts: dict[str, int] = {}
    for item in items:
        if item.live and item.scenario_id is None:
            for statement in item.competencies:
                counts[statement] = counts.get(statement, 0) + 1
    return counts
