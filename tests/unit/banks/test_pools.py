"""Pools: which items and scenarios each kind of draw rule may choose from."""

from __future__ import annotations

from accredit.banks.pools import (
    ItemFacts,
    ScenarioFacts,
    draw_count,
    for_use,
    item_pool,
    items_drawn,
    live_items_by_scenario,
    live_standalone_by_statement,
    pool_size,
    possible_per_statement,
    required_per_statement,
    scenario_pool,
)
from accredit.banks.schema import FixedDraw, ScenarioDraw, StatementDraw


def fact(
    item_id: str,
    competencies: tuple[str, ...] = ("P1",),
    *,
    kind: str = "single",
    status: str = "live",
    scenario: str | None = None,
) -> ItemFacts:
    return ItemFacts(item_id, kind, status, scenario, competencies)


ITEMS = [
    fact("i-1", ("P1",)),
    fact("i-2", ("P1", "P2")),
    fact("i-3", ("P2",), kind="numeric"),
    fact("i-4", ("P1",), status="draft"),
    fact("i-5", ("P1",), status="retired"),
    fact("i-6", ("P1",), scenario="s-1"),
    fact("i-7", ("P2",), scenario="s-1"),
    fact("i-8", ("P3",), scenario="s-2"),
    fact("i-9", ("P3",), scenario="s-2", status="draft"),
    fact("i-10", ("P3",), scenario="s-3"),
]
SCENARIOS = [ScenarioFacts("s-1"), ScenarioFacts("s-2"), ScenarioFacts("s-3", status="retired")]


def statements(*ids: str, count: int = 1, types: list[str] | None = None) -> StatementDraw:
    return StatementDraw.model_validate(
        {"bank": "bank", "statements": list(ids), "count": count, "types": types}
    )


def test_statement_pool_is_live_standalone_items_for_any_statement_in_bank_order() -> None:
    assert item_pool(statements("P1"), ITEMS) == ["i-1", "i-2"]
    assert item_pool(statements("P2", "P1"), ITEMS) == ["i-1", "i-2", "i-3"]
    assert item_pool(statements("P3"), ITEMS) == []


def test_statement_pool_can_be_limited_to_types() -> None:
    assert item_pool(statements("P1", "P2", types=["numeric"]), ITEMS) == ["i-3"]


def test_fixed_pool_keeps_the_listed_live_items_in_rule_order() -> None:
    rule = FixedDraw(bank="bank", fixed=("i-3", "i-4", "i-1", "nope"))

    assert item_pool(rule, ITEMS) == ["i-3", "i-1"]


def test_scenario_pool_needs_live_scenarios_with_enough_live_items() -> None:
    assert scenario_pool(
        ScenarioDraw(bank="bank", scenarios=1, items_each=1), SCENARIOS, ITEMS
    ) == [
        "s-1",
        "s-2",
    ]
    assert scenario_pool(
        ScenarioDraw(bank="bank", scenarios=1, items_each=2), SCENARIOS, ITEMS
    ) == ["s-1"]


def test_scenario_pool_can_be_limited_to_ids() -> None:
    rule = ScenarioDraw(bank="bank", scenarios=1, items_each=1, ids=("s-2", "s-3"))

    assert scenario_pool(rule, SCENARIOS, ITEMS) == ["s-2"]


def test_pool_size_dispatches_on_the_kind_of_rule() -> None:
    assert pool_size(statements("P1"), ITEMS) == 2
    assert pool_size(FixedDraw(bank="bank", fixed=("i-1", "i-4")), ITEMS) == 1
    assert pool_size(ScenarioDraw(bank="bank", scenarios=1, items_each=1), ITEMS, SCENARIOS) == 2
    assert pool_size(ScenarioDraw(bank="bank", scenarios=1, items_each=1), ITEMS) == 0


def test_draw_counts() -> None:
    scenario = ScenarioDraw(bank="bank", scenarios=2, items_each=3)
    fixed = FixedDraw(bank="bank", fixed=("a-1", "a-2"))

    assert (draw_count(scenario), items_drawn(scenario)) == (2, 6)
    assert (draw_count(fixed), items_drawn(fixed)) == (2, 2)
    assert (draw_count(statements("P1", count=4)), items_drawn(statements("P1", count=4))) == (4, 4)


def test_per_statement_counts() -> None:
    rules = [statements("P1", count=2), statements("P1", "P2", count=3), statements("P1", count=1)]

    assert required_per_statement(rules) == {"P1": 3}
    assert possible_per_statement(rules) == {"P1": 6, "P2": 3}
    assert live_standalone_by_statement(ITEMS) == {"P1": 2, "P2": 2}
    assert live_items_by_scenario(ITEMS) == {"s-1": ["i-6", "i-7"], "s-2": ["i-8"], "s-3": ["i-10"]}


def test_facts_say_whether_they_are_live() -> None:
    assert fact("x").live
    assert not fact("x", status="draft").live
    assert ScenarioFacts("s").live
    assert not ScenarioFacts("s", status="retired").live


def test_for_use_keeps_the_items_of_that_use_in_order() -> None:
    items = [
        ItemFacts("a", "single", "live", None, ("P1",)),
        ItemFacts("b", "single", "live", None, ("P1",), uses=("practice",)),
        ItemFacts("c", "single", "live", None, ("P1",), uses=("accreditation", "practice")),
    ]

    assert [item.id for item in for_use(items, "accreditation")] == ["a", "c"]
    assert [item.id for item in for_use(items, "practice")] == ["b", "c"]


def test_a_scenario_counts_only_the_items_of_the_use_asked_for() -> None:
    items = [
        fact("p-1", scenario="s-1"),
        ItemFacts("p-2", "single", "live", "s-1", ("P1",), uses=("practice",)),
        ItemFacts("p-3", "single", "live", "s-1", ("P1",), uses=("practice",)),
    ]
    rule = ScenarioDraw.model_validate({"bank": "bank", "scenarios": 1, "items_each": 2})

    assert scenario_pool(rule, [ScenarioFacts("s-1")], for_use(items, "practice")) == ["s-1"]
    assert scenario_pool(rule, [ScenarioFacts("s-1")], for_use(items, "accreditation")) == []
