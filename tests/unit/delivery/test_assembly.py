"""Form assembly: seeded, fair, and never drawing an item twice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accredit.banks import ItemFacts, ScenarioFacts
from accredit.banks.schema import Assessment
from accredit.delivery.assembly import AssemblyError, ItemOptions, assemble


def make_bank(standalone_per_statement=6, scenarios=4, per_scenario=5):
    items, options = [], {}
    for statement in ("S1", "S2", "S3"):
        for number in range(standalone_per_statement):
            key = f"{statement.lower()}-{number}"
            items.append(ItemFacts(key, "single", "live", None, (statement,)))
            options[key] = ItemOptions("single", ("a", "b", "c", "d"))
    scenario_facts = []
    for number in range(scenarios):
        scenario = f"scn-{number}"
        scenario_facts.append(ScenarioFacts(scenario))
        for member in range(per_scenario):
            key = f"{scenario}-{member}"
            items.append(ItemFacts(key, "single", "live", scenario, ("S1",)))
            options[key] = ItemOptions("single", ("a", "b", "c", "d"))
    items.append(ItemFacts("order-1", "ordering", "live", None, ("S2",)))
    options["order-1"] = ItemOptions(
        "ordering", ("a", "b", "c", "d"), key_order=("a", "b", "c", "d")
    )
    items.append(ItemFacts("retired-1", "single", "retired", None, ("S1",)))
    options["retired-1"] = ItemOptions("single", ("a", "b"))
    return {"bank": (items, scenario_facts)}, options


def blueprint(**overrides):
    data = {
        "id": "test", "title": "Test", "framework": {"id": "fw", "version": "1"},
        "audience": "practitioner", "mode": "accreditation", "time_limit_minutes": 60,
        "sections": [
            {"title": "General", "draws": [
                {"bank": "bank", "statements": ["S1"], "count": 3},
                {"bank": "bank", "statements": ["S2"], "count": 3},
                {"bank": "bank", "statements": ["S1", "S3"], "count": 2},
            ]},
            {"title": "Applied", "draws": [{"bank": "bank", "scenarios": 2, "items_each": 3}]},
        ],
        "pass_mark": {"method": "angoff"}, "results": {"release": "immediate"},
    }  # fmt: skip
    data.update(overrides)
    return Assessment.model_validate(data)


def test_the_same_seed_gives_the_same_form():
    pools, options = make_bank()
    spec = blueprint()
    assert assemble(spec, pools, lambda keys: options, 1234) == assemble(
        spec, pools, lambda keys: options, 1234
    )


def test_different_seeds_give_different_forms():
    pools, options = make_bank()
    spec = blueprint()
    forms = {
        tuple(slot.item for slot in assemble(spec, pools, lambda keys: options, seed))
        for seed in range(20)
    }
    assert len(forms) > 15


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**62))
def test_every_form_follows_the_blueprint(seed):
    pools, options = make_bank()
    slots = assemble(blueprint(), pools, lambda keys: options, seed)
    items = [slot.item for slot in slots]
    assert len(items) == 3 + 3 + 2 + 6
    assert len(set(items)) == len(items), "an item is never drawn twice"
    assert [slot.position for slot in slots] == list(range(1, len(slots) + 1))
    assert "retired-1" not in items
    general, applied = slots[:8], slots[8:]
    assert all(slot.section == 0 and slot.scenario is None for slot in general)
    assert all(slot.section == 1 and slot.scenario for slot in applied)
    # Scenario items stay together, in the scenario's own order.
    for scenario in {slot.scenario for slot in applied}:
        members = [slot for slot in applied if slot.scenario == scenario]
        assert len(members) == 3
        assert [m.item for m in members] == sorted(m.item for m in members)
        first = applied.index(members[0])
        assert applied[first : first + 3] == members


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2**62))
def test_ordering_items_never_start_in_the_right_order(seed):
    pools, options = make_bank()
    spec = blueprint(sections=[{"title": "O", "draws": [{"bank": "bank", "fixed": ["order-1"]}]}])
    (slot,) = assemble(spec, pools, lambda keys: options, seed)
    assert slot.option_order != ("a", "b", "c", "d")
    assert sorted(slot.option_order) == ["a", "b", "c", "d"]


def test_options_keep_their_order_when_the_blueprint_says_so():
    pools, options = make_bank()
    spec = blueprint(shuffle={"items": False, "options": False})
    for slot in assemble(spec, pools, lambda keys: options, 99):
        if options[slot.item].type == "single":
            assert slot.option_order == ("a", "b", "c", "d")


def test_a_pool_exhausted_by_earlier_rules_is_an_error():
    pools, options = make_bank(standalone_per_statement=3)
    spec = blueprint(
        sections=[{"title": "G", "draws": [
            {"bank": "bank", "statements": ["S1"], "count": 3},
            {"bank": "bank", "statements": ["S1"], "count": 1},
        ]}]
    )  # fmt: skip
    with pytest.raises(AssemblyError, match="Only 0 items are left for S1"):
        assemble(spec, pools, lambda keys: options, 1)


def test_pretest_rules_mark_their_items():
    pools, options = make_bank()
    spec = blueprint(
        sections=[{"title": "G", "draws": [
            {"bank": "bank", "statements": ["S2"], "count": 2},
            {"bank": "bank", "statements": ["S3"], "count": 1, "pretest": True},
        ]}]
    )  # fmt: skip
    slots = assemble(spec, pools, lambda keys: options, 5)
    assert sum(slot.pretest for slot in slots) == 1
