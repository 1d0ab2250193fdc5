"""A summary of a loaded tree: what it holds and how well it covers each framework."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from accredit.banks.checks import item_facts
from accredit.banks.loader import LoadResult
from accredit.banks.pools import (
    items_drawn,
    live_standalone_by_statement,
    possible_per_statement,
    required_per_statement,
)
from accredit.banks.schema import ITEM_STATUSES, ITEM_TYPES, USES


@dataclass(frozen=True)
class FrameworkSummary:
    """One framework and how many statements it has."""

    id: str
    version: str
    status: str
    audience: str
    statements: int


@dataclass(frozen=True)
class BankSummaryRow:
    """One bank's counts of scenarios and of items by type and by status."""

    id: str
    framework: str
    scenarios: int
    by_type: dict[str, int]
    by_status: dict[str, int]

    @property
    def items(self) -> int:
        """Return the number of items in the bank."""
        return sum(self.by_status.values())


@dataclass(frozen=True)
class AssessmentSummary:
    """One assessment's mode, framework, pass-mark method and items per form."""

    id: str
    mode: str
    framework: str
    pass_mark: str
    items_per_form: int


@dataclass(frozen=True)
class Coverage:
    """One statement: its live items, and how many items assessments draw from it.

    ``accreditation`` and ``practice`` count the live items of each use (an
    item meant for both counts in both). ``drawn`` counts the items every form
    must take from the statement (rules naming only it); ``up_to`` adds rules
    that name it among others.
    """

    framework: str
    statement: str
    title: str
    live_items: int
    accreditation: int
    practice: int
    live_standalone: int
    drawn: int
    up_to: int


@dataclass(frozen=True)
class BankSummary:
    """Counts across the whole tree, for the command line and the admin pages."""

    frameworks: tuple[FrameworkSummary, ...]
    banks: tuple[BankSummaryRow, ...]
    assessments: tuple[AssessmentSummary, ...]
    coverage: tuple[Coverage, ...]
    errors: int
    warnings: int

    @property
    def statements(self) -> int:
        """Return the number of statements across all frameworks."""
        return sum(f.statements for f in self.frameworks)


def summarise(result: LoadResult) -> BankSummary:
    """Summarise a loaded tree."""
    return BankSummary(
        frameworks=tuple(_framework_rows(result)),
        banks=tuple(_bank_rows(result)),
        assessments=tuple(_assessment_rows(result)),
        coverage=tuple(_coverage(result)),
        errors=len(result.errors),
        warnings=len(result.warnings),
    )


def _framework_rows(result: LoadResult) -> list[FrameworkSummary]:
    return [
        FrameworkSummary(f.id, f.version, f.status, f.audience, len(f.statements))
        for f in (s.value for s in result.frameworks.values())
    ]


def _bank_rows(result: LoadResult) -> list[BankSummaryRow]:
    rows = []
    for bank in result.banks.values():
        items = [s.value for s in bank.items.values()]
        by_type = Counter(item.type for item in items)
        by_status = Counter(item.status for item in items)
        rows.append(
            BankSummaryRow(
                bank.id,
                bank.bank.framework,
                len(bank.scenarios),
                {t: by_type[t] for t in ITEM_TYPES},
                {s: by_status[s] for s in ITEM_STATUSES},
            )
        )
    return rows


def _assessment_rows(result: LoadResult) -> list[AssessmentSummary]:
    rows = []
    for sourced in result.assessments.values():
        a = sourced.value
        per_form = sum(items_drawn(rule) for _, _, rule in a.draw_rules())
        framework = f"{a.framework.id} {a.framework.version}"
        rows.append(AssessmentSummary(a.id, a.mode, framework, a.pass_mark.method, per_form))
    return rows


def _coverage(result: LoadResult) -> list[Coverage]:
    live: Counter[tuple[str, str]] = Counter()
    by_use: dict[str, Counter[tuple[str, str]]] = {use: Counter() for use in USES}
    standalone: Counter[tuple[str, str]] = Counter()
    for bank in result.banks.values():
        facts = [item_facts(s.value) for s in bank.items.values()]
        for fact in facts:
            if fact.live:
                keys = [(bank.bank.framework, st) for st in fact.competencies]
                live.update(keys)
                for use in fact.uses:
                    by_use[use].update(keys)
        for statement, count in live_standalone_by_statement(facts).items():
            standalone[(bank.bank.framework, statement)] += count
    drawn: Counter[tuple[str, str]] = Counter()
    up_to: Counter[tuple[str, str]] = Counter()
    for sourced in result.assessments.values():
        a = sourced.value
        rules = [rule for _, _, rule in a.draw_rules()]
        drawn.update({(a.framework.id, st): n for st, n in required_per_statement(rules).items()})
        up_to.update({(a.framework.id, st): n for st, n in possible_per_statement(rules).items()})
    accreditation, practice = by_use["accreditation"], by_use["practice"]
    return [
        Coverage(
            framework=f.id,
            statement=s.id,
            title=s.title,
            live_items=live[key],
            accreditation=accreditation[key],
            practice=practice[key],
            live_standalone=standalone[key],
            drawn=drawn[key],
            up_to=up_to[key],
        )
        for f in (sourced.value for sourced in result.frameworks.values())
        for s in f.statements
        for key in [(f.id, s.id)]
    ]


def format_summary(summary: BankSummary) -> str:
    """Format a summary as plain-text tables for the command line."""
    parts = [
        _frameworks_table(summary),
        _banks_table(summary),
        _assessments_table(summary),
        _coverage_table(summary),
        f"{_count(summary.errors, 'error')}, {_count(summary.warnings, 'warning')}",
    ]
    return "\n\n".join(parts) + "\n"


def _frameworks_table(summary: BankSummary) -> str:
    header = ["framework", "version", "status", "audience", "statements"]
    rows = [[f.id, f.version, f.status, f.audience, f.statements] for f in summary.frameworks]
    return _table("Frameworks", header, rows)


def _banks_table(summary: BankSummary) -> str:
    header = ["bank", "framework", "scenarios", "items", *ITEM_TYPES, *ITEM_STATUSES]
    rows = [
        [b.id, b.framework, b.scenarios, b.items, *b.by_type.values(), *b.by_status.values()]
        for b in summary.banks
    ]
    return _table("Banks", header, rows)


def _assessments_table(summary: BankSummary) -> str:
    header = ["assessment", "mode", "framework", "pass mark", "items per form"]
    rows = [[a.id, a.mode, a.framework, a.pass_mark, a.items_per_form] for a in summary.assessments]
    return _table("Assessments", header, rows)


def _coverage_table(summary: BankSummary) -> str:
    title = (
        "Coverage (live items per statement, all and by use; "
        "items per form that assessments draw from it)"
    )
    header = [
        "framework", "statement", "live", "accreditation", "practice", "standalone", "drawn",
        "up to", "title",
    ]  # fmt: skip
    rows = [
        [c.framework, c.statement, c.live_items, c.accreditation, c.practice, c.live_standalone,
         c.drawn, c.up_to, c.title]
        for c in summary.coverage
    ]  # fmt: skip
    return _table(title, header, rows)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Lay out a titled table; numbers align right, text left."""
    cells = [list(header), *[[str(c) for c in row] for row in rows]]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(header))]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(row, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    body = [line(row) for row in cells]
    rule = "  ".join("-" * w for w in widths)
    empty = ["(none)"] if not rows else []
    return "\n".join([title, "", body[0], rule, *body[1:], *empty])
