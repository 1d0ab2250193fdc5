"""Checks across files, run after every file has passed (or failed) its own schema.

The loader hands over everything that validated, plus the ids found in content
that did not (:class:`Broken`). Those ids are known to exist, so a reference to
one is not reported again: the file that failed already has its own error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Generic, TypeVar

from accredit.banks.pools import (
    ItemFacts,
    ScenarioFacts,
    fixed_pool,
    for_use,
    live_items_by_scenario,
    pool_size,
    scenario_pool,
    statement_pool,
)
from accredit.banks.schema import (
    Assessment,
    Bank,
    FixedDraw,
    Framework,
    Item,
    Scenario,
    ScenarioDraw,
    StatementDraw,
)
from accredit.banks.yamlsource import Place, Problem, render_field

T = TypeVar("T")
Rule = StatementDraw | ScenarioDraw | FixedDraw
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A validated model and the place in the files it came from."""

    value: T
    place: Place

    @property
    def path(self) -> str:
        """Return the file the model came from."""
        return self.place.path

    @property
    def line(self) -> int:
        """Return the line the model starts on."""
        return self.place.line

    @property
    def where(self) -> str:
        """Return ``path:line``, for messages that point elsewhere."""
        return f"{self.place.path}:{self.place.line}"


@dataclass
class BankFolder:
    """One ``banks/<name>/`` folder as read from disk."""

    name: str
    bank: Sourced[Bank] | None
    scenarios: list[Sourced[Scenario]] = field(default_factory=list)
    items: list[Sourced[Item]] = field(default_factory=list)


@dataclass(frozen=True)
class LoadedBank:
    """A bank with its scenarios and items, each keyed by id in bank order."""

    bank: Bank
    place: Place
    scenarios: dict[str, Sourced[Scenario]]
    items: dict[str, Sourced[Item]]

    @property
    def id(self) -> str:
        """Return the bank's id."""
        return self.bank.id


@dataclass
class Broken:
    """Ids read from content that failed validation, to avoid knock-on errors."""

    frameworks: set[str] = field(default_factory=set)
    banks: set[str] = field(default_factory=set)
    scenarios: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)
    items_per_bank: dict[str, int] = field(default_factory=dict)
    unreadable_banks: set[str] = field(default_factory=set)
    """Banks with a file that could not be read at all, so their content is unknown."""


@dataclass
class Tree:
    """Everything the loader validated, in file order."""

    frameworks: list[Sourced[Framework]]
    folders: list[BankFolder]
    assessments: list[Sourced[Assessment]]
    broken: Broken = field(default_factory=Broken)


@dataclass
class Checked:
    """The indexed tree and the problems the cross-file checks found."""

    frameworks: dict[str, Sourced[Framework]]
    banks: dict[str, LoadedBank]
    assessments: dict[str, Sourced[Assessment]]
    errors: list[Problem]
    warnings: list[Problem]


def check_tree(tree: Tree) -> Checked:
    """Index the tree by id and run every cross-file check."""
    return _Checker(tree).run()


def item_facts(item: Item) -> ItemFacts:
    """Return the facts pools need about an item."""
    return ItemFacts(
        item.id, item.type, item.status, item.scenario, item.competencies, uses=item.use
    )


def scenario_facts(scenario: Scenario) -> ScenarioFacts:
    """Return the facts pools need about a scenario."""
    return ScenarioFacts(scenario.id, scenario.status)


def unique_by_id(
    kind: str, entries: Iterable[Sourced[T]], key: str = "id"
) -> tuple[dict[str, Sourced[T]], list[Problem]]:
    """Index entries by id, keeping the first and reporting each later duplicate."""
    index: dict[str, Sourced[T]] = {}
    problems: list[Problem] = []
    for entry in entries:
        value_id = getattr(entry.value, key)
        first = index.get(value_id)
        if first is None:
            index[value_id] = entry
        else:
            message = f"duplicate {kind} id {value_id!r} (first defined at {first.where})"
            problems.append(entry.place.problem(message, key))
    return index, problems


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """Suggest the closest known value, as a clause to end a message with."""
    close = difflib.get_close_matches(value, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class _BankFacts:
    """Facts about one bank's content, built once and shared by every rule."""

    def __init__(self, bank: LoadedBank) -> None:
        self.all_items = [item_facts(s.value) for s in bank.items.values()]
        self.scenarios = [scenario_facts(s.value) for s in bank.scenarios.values()]
        self._items: dict[str, list[ItemFacts]] = {}
        self._by_scenario: dict[str, dict[str, list[str]]] = {}

    def items(self, use: str) -> list[ItemFacts]:
        """Return the items an assessment of this mode may draw from, in bank order."""
        if use not in self._items:
            self._items[use] = for_use(self.all_items, use)
        return self._items[use]

    def by_scenario(self, use: str) -> dict[str, list[str]]:
        """Return the live items of this use in each scenario."""
        if use not in self._by_scenario:
            self._by_scenario[use] = live_items_by_scenario(self.items(use))
        return self._by_scenario[use]


class _Checker:
    """Hold the indexes and collect the problems of one run."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.broken = tree.broken
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.frameworks: dict[str, Sourced[Framework]] = {}
        self.banks: dict[str, LoadedBank] = {}
        self.items: dict[str, tuple[str, Sourced[Item]]] = {}
        self.scenarios: dict[str, tuple[str, Sourced[Scenario]]] = {}
        self.facts: dict[str, _BankFacts] = {}
        self.warned_unrated: set[str] = set()

    def run(self) -> Checked:
        self.index_frameworks()
        self.index_banks()
        for bank in self.banks.values():
            self.check_bank(bank)
        assessments = self.index_assessments()
        for assessment in assessments.values():
            self.check_assessment(assessment)
        return Checked(self.frameworks, self.banks, assessments, self.errors, self.warnings)

    # Indexes -------------------------------------------------------------

    def index_frameworks(self) -> None:
        self.frameworks, problems = unique_by_id("framework", self.tree.frameworks)
        self.errors += problems

    def index_banks(self) -> None:
        for folder in self.tree.folders:
            bank_id = self.index_folder(folder)
            if bank_id is not None:
                self.facts[bank_id] = _BankFacts(self.banks[bank_id])

    def index_folder(self, folder: BankFolder) -> str | None:
        """Index one folder's content globally; return its bank id if it is usable."""
        bank_id = folder.bank.value.id if folder.bank else folder.name
        scenarios = self.index_content("scenario", folder.scenarios, self.scenarios, bank_id)
        items = self.index_content("item", folder.items, self.items, bank_id)
        if folder.bank is None:
            return None
        bank = folder.bank
        if bank.value.id != folder.name:
            message = f"bank id {bank.value.id!r} does not match its folder name {folder.name!r}"
            self.errors.append(bank.place.problem(message, "id"))
            # References by folder name are covered by this one error.
            self.broken.banks.add(folder.name)
        if bank.value.id in self.banks:
            first = self.banks[bank.value.id].place
            message = f"duplicate bank id {bank.value.id!r} (first defined at {first.path}:1)"
            self.errors.append(bank.place.problem(message, "id"))
            return None
        self.banks[bank_id] = LoadedBank(bank.value, bank.place, scenarios, items)
        return bank_id

    def index_content(
        self,
        kind: str,
        entries: Sequence[Sourced[T]],
        index: dict[str, tuple[str, Sourced[T]]],
        bank_id: str,
    ) -> dict[str, Sourced[T]]:
        """Add a folder's items or scenarios to the index of all banks; report duplicates."""
        kept: dict[str, Sourced[T]] = {}
        for entry in entries:
            entry_id: str = getattr(entry.value, "id")  # noqa: B009 - T is an item or a scenario
            if entry_id in index:
                first = index[entry_id][1]
                message = f"duplicate {kind} id {entry_id!r} (first defined at {first.where})"
                self.errors.append(entry.place.problem(message, "id"))
                continue
            index[entry_id] = (bank_id, entry)
            kept[entry_id] = entry
        return kept

    def index_assessments(self) -> dict[str, Sourced[Assessment]]:
        for sourced in self.tree.assessments:
            stem = PurePosixPath(sourced.path).stem
            if sourced.value.id != stem:
                message = (
                    f"assessment id {sourced.value.id!r} does not match its file name {stem!r}"
                )
                self.errors.append(sourced.place.problem(message, "id"))
        assessments, problems = unique_by_id("assessment", self.tree.assessments)
        self.errors += problems
        return assessments

    # Banks ---------------------------------------------------------------

    def check_bank(self, bank: LoadedBank) -> None:
        framework = self.bank_framework(bank)
        if bank.id in self.broken.unreadable_banks:
            message = (
                "a file of this bank could not be read, so draw rules using it were not checked"
            )
            self.warnings.append(bank.place.problem(message))
        elif not bank.items and not self.broken.items_per_bank.get(bank.id):
            self.warnings.append(bank.place.problem("bank has no items"))
        for item in bank.items.values():
            if framework is not None:
                self.check_competencies(item, framework)
            self.check_scenario_reference(item, bank)
            self.warn_incomplete(item)
        self.warn_unused_scenarios(bank)

    def warn_unused_scenarios(self, bank: LoadedBank) -> None:
        """Warn about a live scenario that no live item uses: it can never be drawn."""
        if bank.id in self.broken.unreadable_banks or self.broken.items_per_bank.get(bank.id):
            return  # the items that use it may be among those that could not be read
        used = {item.value.scenario for item in bank.items.values() if item.value.status == "live"}
        for scenario in bank.scenarios.values():
            if scenario.value.status == "live" and scenario.value.id not in used:
                message = "live scenario has no live items, so it is never drawn"
                self.warnings.append(scenario.place.problem(message, "id"))

    def bank_framework(self, bank: LoadedBank) -> Framework | None:
        """Return the bank's framework, reporting it when it does not exist."""
        framework_id = bank.bank.framework
        found = self.frameworks.get(framework_id)
        if found is None and framework_id not in self.broken.frameworks:
            message = f"framework {framework_id!r} does not exist" + did_you_mean(
                framework_id, self.frameworks
            )
            self.errors.append(bank.place.problem(message, "framework"))
        return found.value if found else None

    def check_competencies(self, item: Sourced[Item], framework: Framework) -> None:
        known = {s.id for s in framework.statements}
        for index, statement in enumerate(item.value.competencies):
            if statement not in known:
                message = f"statement {statement!r} is not in framework {framework.id!r}"
                message += did_you_mean(statement, known)
                self.errors.append(item.place.problem(message, "competencies", index))

    def check_scenario_reference(self, item: Sourced[Item], bank: LoadedBank) -> None:
        scenario_id = item.value.scenario
        if scenario_id is None or scenario_id in self.broken.scenarios:
            return
        if scenario_id not in bank.scenarios and bank.id in self.broken.unreadable_banks:
            return  # it may be defined in the file that could not be read
        if scenario_id in bank.scenarios:
            if item.value.status == "live" and bank.scenarios[scenario_id].value.status != "live":
                status = bank.scenarios[scenario_id].value.status
                message = (
                    f"live item belongs to {status} scenario {scenario_id!r}, so it is never drawn"
                )
                self.warnings.append(item.place.problem(message, "scenario"))
            return
        owner = self.scenarios.get(scenario_id)
        if owner is not None:
            message = (
                f"scenario {scenario_id!r} is in bank {owner[0]!r}; "
                f"an item may use only a scenario of its own bank {bank.id!r}"
            )
        else:
            message = f"scenario {scenario_id!r} does not exist in bank {bank.id!r}"
            message += did_you_mean(scenario_id, bank.scenarios)
        self.errors.append(item.place.problem(message, "scenario"))

    def warn_incomplete(self, item: Sourced[Item]) -> None:
        if item.value.status != "live":
            return
        if item.value.rationale is None:
            self.warnings.append(item.place.problem("live item has no rationale", "rationale"))
        if item.value.references is None:
            self.warnings.append(item.place.problem("live item has no references", "references"))

    # Assessments -------------------------------------------------------------

    def check_assessment(self, sourced: Sourced[Assessment]) -> None:
        framework = self.assessment_framework(sourced)
        usable: list[tuple[Loc, Rule, LoadedBank]] = []
        for s, r, rule in sourced.value.draw_rules():
            at: Loc = ("sections", s, "draws", r)
            known = True
            if framework is not None and isinstance(rule, StatementDraw):
                known = self.check_rule_statements(sourced, rule, framework, at)
            bank = self.rule_bank(sourced, rule, at)
            # A pool over an unknown statement is short for that reason alone.
            if bank is not None and known and self.check_rule_content(sourced, rule, bank, at):
                usable.append((at, rule, bank))
        self.check_shared_statements(sourced, usable)
        if sourced.value.pass_mark.method == "angoff":
            self.warn_unrated(sourced)

    def check_rule_content(
        self, sourced: Sourced[Assessment], rule: Rule, bank: LoadedBank, at: Loc
    ) -> bool:
        """Check what a rule draws from its bank; return whether its pool is big enough."""
        if bank.id in self.broken.unreadable_banks:
            return False
        if isinstance(rule, FixedDraw):
            self.check_fixed(sourced, rule, bank, at)
            return True
        if isinstance(rule, ScenarioDraw):
            self.check_scenario_ids(sourced, rule, bank, at)
        elif len(rule.statements) > 1:
            self.warn_empty_statements(sourced, rule, bank, at)
        return self.check_pool(sourced, rule, bank, at)

    def assessment_framework(self, sourced: Sourced[Assessment]) -> Framework | None:
        """Return the framework the assessment names, checking version and audience."""
        ref = sourced.value.framework
        found = self.frameworks.get(ref.id)
        if found is None:
            if ref.id not in self.broken.frameworks:
                message = f"framework {ref.id!r} does not exist" + did_you_mean(
                    ref.id, self.frameworks
                )
                self.errors.append(sourced.place.problem(message, "framework", "id"))
            return None
        framework = found.value
        if framework.version != ref.version:
            message = (
                f"framework {ref.id!r} is at version {framework.version!r} "
                f"({found.where}), not {ref.version!r}"
            )
            self.errors.append(sourced.place.problem(message, "framework", "version"))
        if framework.audience != sourced.value.audience:
            message = (
                f"audience {sourced.value.audience!r} does not match framework "
                f"{ref.id!r}, whose audience is {framework.audience!r}"
            )
            self.errors.append(sourced.place.problem(message, "audience"))
        return framework

    def rule_bank(self, sourced: Sourced[Assessment], rule: Rule, at: Loc) -> LoadedBank | None:
        """Return the rule's bank if it exists and uses the assessment's framework."""
        bank = self.banks.get(rule.bank)
        if bank is None:
            if rule.bank not in self.broken.banks:
                message = f"bank {rule.bank!r} does not exist" + did_you_mean(rule.bank, self.banks)
                self.errors.append(sourced.place.problem(message, *at, "bank"))
            return None
        wanted = sourced.value.framework.id
        if bank.bank.framework != wanted:
            # An unknown framework on either side has been reported already.
            if bank.bank.framework not in self.frameworks or wanted not in self.frameworks:
                return None
            message = f"bank {bank.id!r} uses framework {bank.bank.framework!r}, not {wanted!r}"
            self.errors.append(sourced.place.problem(message, *at, "bank"))
            return None
        return bank

    def check_rule_statements(
        self,
        sourced: Sourced[Assessment],
        rule: StatementDraw,
        framework: Framework,
        at: Loc,
    ) -> bool:
        """Report statements the framework lacks; return whether all are known."""
        known = {s.id for s in framework.statements}
        all_known = True
        for index, statement in enumerate(rule.statements):
            if statement not in known:
                all_known = False
                message = f"statement {statement!r} is not in framework {framework.id!r}"
                message += did_you_mean(statement, known)
                self.errors.append(sourced.place.problem(message, *at, "statements", index))
        return all_known

    def check_fixed(
        self,
        sourced: Sourced[Assessment],
        rule: FixedDraw,
        bank: LoadedBank,
        at: Loc,
    ) -> None:
        for index, item_id in enumerate(rule.fixed):
            message = self.fixed_item_problem(item_id, bank, sourced.value.mode)
            if message:
                self.errors.append(sourced.place.problem(message, *at, "fixed", index))

    def fixed_item_problem(self, item_id: str, bank: LoadedBank, mode: str) -> str | None:
        found = self.items.get(item_id)
        if found is None:
            if item_id in self.broken.items:
                return None
            return f"item {item_id!r} does not exist" + did_you_mean(item_id, bank.items)
        owner, item = found
        if owner != bank.id:
            return f"item {item_id!r} is in bank {owner!r}, not {bank.id!r}"
        if item.value.status != "live":
            return f"item {item_id!r} is {item.value.status}, not live ({item.where})"
        if mode not in item.value.use:
            uses = ", ".join(item.value.use)
            return f"item {item_id!r} is for {uses} use, not {mode} ({item.where})"
        return None

    def check_scenario_ids(
        self,
        sourced: Sourced[Assessment],
        rule: ScenarioDraw,
        bank: LoadedBank,
        at: Loc,
    ) -> None:
        for index, scenario_id in enumerate(rule.ids or ()):
            if scenario_id in bank.scenarios or scenario_id in self.broken.scenarios:
                continue
            message = f"scenario {scenario_id!r} does not exist in bank {bank.id!r}"
            message += did_you_mean(scenario_id, bank.scenarios)
            self.errors.append(sourced.place.problem(message, *at, "ids", index))

    def check_pool(
        self,
        sourced: Sourced[Assessment],
        rule: StatementDraw | ScenarioDraw,
        bank: LoadedBank,
        at: Loc,
    ) -> bool:
        """Report a pool smaller than its draw; return whether the pool is big enough."""
        facts = self.facts[bank.id]
        mode = sourced.value.mode
        size = pool_size(rule, facts.items(mode), facts.scenarios)
        wanted = rule.count if isinstance(rule, StatementDraw) else rule.scenarios
        if size >= wanted:
            return True
        message = f"pool has {_describe_pool(rule, size, mode)} but the rule draws {wanted}"
        left_out = self.broken.items_per_bank.get(bank.id, 0)
        if left_out:
            verb = "has" if left_out == 1 else "have"
            broken = _plural(left_out, "item")
            message += f" (not counting {broken} of bank {bank.id!r} that {verb} errors)"
        self.errors.append(sourced.place.problem(message, *at))
        return False

    # Across the rules of one assessment ----------------------------------------

    def check_shared_statements(
        self, sourced: Sourced[Assessment], usable: Sequence[tuple[Loc, Rule, LoadedBank]]
    ) -> None:
        """Report single-statement rules that each fit their pool but together do not.

        An item already drawn is never drawn again, so two rules drawing 2 items
        each for P1 need 4 different items for P1.
        """
        groups: dict[tuple[str, str], list[tuple[Loc, StatementDraw]]] = {}
        for at, rule, bank in usable:
            if isinstance(rule, StatementDraw) and len(rule.statements) == 1:
                groups.setdefault((bank.id, rule.statements[0]), []).append((at, rule))
        for (bank_id, statement), members in groups.items():
            if len(members) < 2:
                continue
            mode = sourced.value.mode
            items = self.facts[bank_id].items(mode)
            pool = set().union(*(statement_pool(rule, items) for _, rule in members))
            total = sum(rule.count for _, rule in members)
            if len(pool) < total:
                others = " and ".join(render_field(at) for at, _ in members[:-1])
                message = (
                    f"with {others} this rule draws {total} items for {statement}, but the pool "
                    f"has {_plural(len(pool), f'live standalone {mode} item')} for it"
                )
                self.errors.append(sourced.place.problem(message, *members[-1][0]))

    def warn_empty_statements(
        self, sourced: Sourced[Assessment], rule: StatementDraw, bank: LoadedBank, at: Loc
    ) -> None:
        """Warn about a statement a rule names but can never draw from."""
        types = set(rule.types) if rule.types else None
        mode = sourced.value.mode
        covered = {
            statement
            for item in self.facts[bank.id].items(mode)
            if item.live and item.scenario_id is None and (types is None or item.type in types)
            for statement in item.competencies
        }
        for index, statement in enumerate(rule.statements):
            if statement not in covered:
                kind = f" of type {', '.join(rule.types)}" if rule.types else ""
                message = (
                    f"statement {statement!r} has no live standalone {mode} items{kind} in bank "
                    f"{bank.id!r}, so this rule never draws from it"
                )
                self.warnings.append(sourced.place.problem(message, *at, "statements", index))

    def warn_unrated(self, sourced: Sourced[Assessment]) -> None:
        """Warn about live items an Angoff assessment may draw that have no ratings."""
        for bank_id, item_id in self.scored_pool_items(sourced.value):
            item = self.banks[bank_id].items[item_id]
            if item.value.angoff is None and item_id not in self.warned_unrated:
                self.warned_unrated.add(item_id)
                message = (
                    f"live item has no angoff ratings, but assessment {sourced.value.id!r} "
                    "sets its pass mark by Angoff and may draw it"
                )
                self.warnings.append(item.place.problem(message, "angoff"))

    def scored_pool_items(self, assessment: Assessment) -> list[tuple[str, str]]:
        """Return (bank, item) for every live item a scored rule may draw, without repeats."""
        seen: dict[tuple[str, str], None] = {}
        for _, _, rule in assessment.draw_rules():
            facts = self.facts.get(rule.bank)
            if rule.pretest or facts is None:
                continue
            for item_id in _rule_items(rule, facts, assessment.mode):
                seen[(rule.bank, item_id)] = None
        return list(seen)


def _rule_items(rule: Rule, facts: _BankFacts, use: str) -> list[str]:
    """Return every live item of this use that the rule could put on a form."""
    items = facts.items(use)
    if isinstance(rule, StatementDraw):
        return statement_pool(rule, items)
    if isinstance(rule, FixedDraw):
        return fixed_pool(rule, items)
    scenarios = scenario_pool(rule, facts.scenarios, items)
    by_scenario = facts.by_scenario(use)
    return [item_id for scenario_id in scenarios for item_id in by_scenario[scenario_id]]


def _describe_pool(rule: StatementDraw | ScenarioDraw, size: int, use: str) -> str:
    if isinstance(rule, ScenarioDraw):
        noun = _plural(size, "live scenario")
        only = f" among {', '.join(rule.ids)}" if rule.ids else ""
        return f"{noun} with at least {_plural(rule.items_each, f'live {use} item')}{only}"
    noun = _plural(size, f"live standalone {use} item")
    types = f" of type {', '.join(rule.types)}" if rule.types else ""
    return f"{noun}{types} for {', '.join(rule.statements)}"
