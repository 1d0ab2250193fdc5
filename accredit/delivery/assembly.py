"""Assemble an attempt's form from a blueprint and a seed. Plain Python: no Flask, no database.

The same blueprint, pools and seed always give the same form, so any form can
be explained and rebuilt from what the attempt recorded.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from accredit.banks import ItemFacts, ScenarioFacts
from accredit.banks.pools import scenario_pool, statement_pool
from accredit.banks.schema import Assessment, FixedDraw, ScenarioDraw, StatementDraw
from accredit.errors import DomainError

# Types whose options are shown in an order of the form's choosing.
SHUFFLED_TYPES = ("single", "multiple")


class AssemblyError(DomainError):
    code = "form_unavailable"
    status = 409


@dataclass(frozen=True)
class Slot:
    """One position on a form."""

    position: int
    section: int
    item: str
    scenario: str | None
    pretest: bool
    option_order: tuple[str, ...]


@dataclass(frozen=True)
class ItemOptions:
    """What assembly needs to order an item's options."""

    type: str
    options: tuple[str, ...]
    # For ordering items, the right order: the form never shows options already in it.
    key_order: tuple[str, ...] = ()


Pools = Mapping[str, tuple[Sequence[ItemFacts], Sequence[ScenarioFacts]]]
_Block = list[tuple[str, str | None, bool]]  # (item, scenario, pretest)


OptionsFor = Callable[[list[str]], Mapping[str, ItemOptions]]


def assemble(spec: Assessment, pools: Pools, options_for: OptionsFor, seed: int) -> list[Slot]:
    """Return the form for this seed, or raise AssemblyError if a pool is too small.

    Items are drawn first; ``options_for`` is then asked once, for the drawn items
    only, for what is needed to order their options.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible from the recorded seed, which is secret)
    used: set[str] = set()
    drawn: list[tuple[int, str, str | None, bool]] = []
    for section_index, section in enumerate(spec.sections):
        blocks: list[_Block] = []
        for rule in section.draws:
            items, scenarios = pools.get(rule.bank, ((), ()))
            blocks.extend(_draw(rule, items, scenarios, used, rng))
        if spec.shuffle.items:
            rng.shuffle(blocks)
        drawn.extend((section_index, *entry) for block in blocks for entry in block)
    options = options_for([item for _section, item, _scenario, _pretest in drawn])
    return [
        Slot(position, section, item, scenario, pretest,
             _option_order(options[item], spec.shuffle.options, rng))
        for position, (section, item, scenario, pretest) in enumerate(drawn, start=1)
    ]  # fmt: skip


def _draw(
    rule: StatementDraw | ScenarioDraw | FixedDraw,
    items: Sequence[ItemFacts],
    scenarios: Sequence[ScenarioFacts],
    used: set[str],
    rng: random.Random,
) -> list[_Block]:
    if isinstance(rule, ScenarioDraw):
        return _draw_scenarios(rule, items, scenarios, used, rng)
    if isinstance(rule, FixedDraw):
        live = {item.id for item in items if item.live}
        missing = [item for item in rule.fixed if item not in live or item in used]
        if missing:
            raise AssemblyError(f"Fixed items are not available: {', '.join(missing)}")
        used.update(rule.fixed)
        return [[(item, None, rule.pretest)] for item in rule.fixed]
    pool = [item for item in statement_pool(rule, items) if item not in used]
    if len(pool) < rule.count:
        raise AssemblyError(
            f"Only {len(pool)} items are left for {', '.join(rule.statements)}; "
            f"the blueprint draws {rule.count}"
        )
    chosen = rng.sample(sorted(pool), rule.count)
    used.update(chosen)
    return [[(item, None, rule.pretest)] for item in chosen]


def _draw_scenarios(
    rule: ScenarioDraw,
    items: Sequence[ItemFacts],
    scenarios: Sequence[ScenarioFacts],
    used: set[str],
    rng: random.Random,
) -> list[_Block]:
    by_scenario: dict[str, list[str]] = {}
    for item in items:
        if item.live and item.scenario_id is not None and item.id not in used:
            by_scenario.setdefault(item.scenario_id, []).append(item.id)
    pool = [
        scenario
        for scenario in scenario_pool(rule, scenarios, items)
        if len(by_scenario.get(scenario, ())) >= rule.items_each
    ]
    if len(pool) < rule.scenarios:
        raise AssemblyError(
            f"Only {len(pool)} scenarios are available; the blueprint draws {rule.scenarios}"
        )
    blocks = []
    for scenario in rng.sample(sorted(pool), rule.scenarios):
        members = by_scenario[scenario]
        chosen = set(rng.sample(members, rule.items_each))
        kept = [item for item in members if item in chosen]  # in the scenario's own order
        used.update(kept)
        block: _Block = [(item, scenario, rule.pretest) for item in kept]
        blocks.append(block)
    return blocks


def _option_order(item: ItemOptions, shuffle: bool, rng: random.Random) -> tuple[str, ...]:
    order = list(item.options)
    if item.type == "ordering":
        # Always shuffled, and never already in the right order, which would give it away.
        avoid = {item.key_order, item.options} if len(order) > 2 else {item.key_order}
        while tuple(order) in avoid and len(order) > 1:
            rng.shuffle(order)
        return tuple(order)
    if shuffle and item.type in SHUFFLED_TYPES:
        rng.shuffle(order)
    return tuple(order)


def form_id(positions: Iterable[tuple[int, int]]) -> str:
    """A short, stable id of a drawn form from its (position, item version id) pairs.

    Two attempts that drew the same item versions in the same positions share it,
    whatever order their options were shown in.
    """
    text = ";".join(f"{position}:{version}" for position, version in sorted(positions))
    return "F" + hashlib.sha256(text.encode()).hexdigest()[:15]
