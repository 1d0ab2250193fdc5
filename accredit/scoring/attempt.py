"""Score a whole attempt: items, competency profile, pass mark and outcome. Plain Python.

``score_attempt`` is what the web, the command line, rescoring and the tests
all call. Given the frozen form (each position's item content, with its key and
ratings), the responses, any assessor marks and the assessment's rules, it
returns the result, deterministically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from accredit.scoring.items import ItemScore, max_marks, score_item

# Bumped whenever a scoring rule changes meaning, so a stored result says which rules made it.
SCORING_VERSION = "2026.11"


class ScoringError(ValueError):
    """The form cannot be scored by its rules (for example, an item with no Angoff ratings)."""


@dataclass(frozen=True)
class Adjustment:
    """A key decision on an item, applied when scoring: never an edit of the item or answer.

    ``rekey`` scores against ``key`` instead of the item's own key; ``keys`` accepts
    any of ``keys``; ``credit`` gives every candidate full marks; ``void`` removes
    the item from the score, the maximum and the Angoff cut; ``keep`` changes nothing.
    """

    decision: str  # keep | rekey | keys | credit | void
    key: Any = None
    keys: tuple[Any, ...] = ()


@dataclass(frozen=True)
class FormItem:
    """One position of a frozen form, with everything scoring needs."""

    position: int
    item: str
    version: int
    content: Mapping[str, Any]
    pretest: bool = False
    adjustment: Adjustment | None = None

    @property
    def void(self) -> bool:
        return self.adjustment is not None and self.adjustment.decision == "void"

    @property
    def competencies(self) -> tuple[str, ...]:
        return tuple(self.content["competencies"])

    @property
    def max_marks(self) -> float:
        return max_marks(self.content)


@dataclass(frozen=True)
class Rules:
    """The assessment's scoring rules, as its blueprint states them."""

    pass_method: str  # fixed | angoff
    pass_percent: float | None = None
    sem_adjustment: float = 0.0
    competency_method: str = "compensatory"  # compensatory | conjunctive
    threshold_percent: float = 50.0
    statements: Mapping[str, str] = field(default_factory=dict)  # id -> title, in order

    @classmethod
    def from_blueprint(cls, blueprint: Mapping[str, Any], statements: Mapping[str, str]) -> Rules:
        pass_mark, competency = blueprint["pass_mark"], blueprint.get("competency_rule") or {}
        return cls(
            pass_method=pass_mark["method"],
            pass_percent=pass_mark.get("percent"),
            sem_adjustment=pass_mark.get("sem_adjustment") or 0.0,
            competency_method=competency.get("method", "compensatory"),
            threshold_percent=competency.get("threshold_percent") or 50.0,
            statements=statements,
        )


@dataclass(frozen=True)
class ItemResult:
    position: int
    item: str
    version: int
    key: Any
    answer: Any
    marks: float
    max_marks: float
    pending: bool
    pretest: bool
    competencies: tuple[str, ...]
    void: bool = False

    def as_json(self) -> dict[str, Any]:
        body = {
            "position": self.position, "item": self.item, "version": self.version,
            "key": self.key, "answer": self.answer, "marks": self.marks,
            "max_marks": self.max_marks, "pending": self.pending, "pretest": self.pretest,
            "competencies": list(self.competencies),
        }  # fmt: skip
        if self.void:
            body["void"] = True
        return body


@dataclass(frozen=True)
class StatementResult:
    statement: str
    title: str
    earned: float
    possible: float
    items: int
    threshold_percent: float

    @property
    def percent(self) -> float:
        return 100.0 * self.earned / self.possible if self.possible else 0.0

    @property
    def met(self) -> bool:
        return self.possible > 0 and self.percent + 1e-9 >= self.threshold_percent

    def as_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement, "title": self.title, "earned": _round(self.earned),
            "possible": _round(self.possible), "percent": _round(self.percent),
            "items": self.items, "met": self.met,
        }  # fmt: skip


@dataclass(frozen=True)
class Cut:
    """The pass mark in marks on this form, and how it was set."""

    marks: float
    method: str
    description: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptResult:
    raw: float
    maximum: float
    pending: bool
    cut: Cut
    profile: tuple[StatementResult, ...]
    items: tuple[ItemResult, ...]
    competency_method: str
    scoring_version: str = SCORING_VERSION

    @property
    def percent(self) -> float:
        return 100.0 * self.raw / self.maximum if self.maximum else 0.0

    @property
    def cut_percent(self) -> float:
        return 100.0 * self.cut.marks / self.maximum if self.maximum else 0.0

    @property
    def passed(self) -> bool | None:
        """Pass or fail; None while any written answer awaits marking."""
        if self.pending:
            return None
        over_cut = self.raw + 1e-9 >= self.cut.marks
        if self.competency_method == "conjunctive":
            return over_cut and all(statement.met for statement in self.profile)
        return over_cut

    def summary(self) -> dict[str, Any]:
        """The comparable core of a result: what recomputing must reproduce."""
        return {
            "raw": _round(self.raw), "maximum": _round(self.maximum), "pending": self.pending,
            "cut": _round(self.cut.marks), "cut_method": self.cut.method, "passed": self.passed,
            "profile": [statement.as_json() for statement in self.profile],
            "scoring_version": self.scoring_version,
        }  # fmt: skip


def _round(value: float) -> float:
    return round(value, 6)


def score_attempt(
    form: Sequence[FormItem],
    responses: Mapping[int, Any],
    rules: Rules,
    marks: Mapping[int, float] | None = None,
) -> AttemptResult:
    """Score an attempt. ``marks`` holds assessors' marks for written items, by position."""
    marks = marks or {}
    items = tuple(_score(slot, responses.get(slot.position), marks) for slot in form)
    scored = [item for item in items if not item.pretest and not item.void]
    return AttemptResult(
        raw=sum(item.marks for item in scored),
        maximum=sum(item.max_marks for item in scored),
        pending=any(item.pending for item in scored),
        cut=pass_mark(form, rules),
        profile=profile(scored, rules),
        items=items,
        competency_method=rules.competency_method,
    )


def _score(slot: FormItem, answer: Any, marks: Mapping[int, float]) -> ItemResult:
    content = slot.content
    key = content.get("key", content.get("accepted"))
    result, key = _adjusted(slot, answer, key)
    if result.pending and slot.position in marks:
        earned = min(max(0.0, float(marks[slot.position])), result.max_marks)
        result = ItemScore(earned, result.max_marks)
    return ItemResult(
        slot.position, slot.item, slot.version, key, answer, result.marks, result.max_marks,
        result.pending, slot.pretest, slot.competencies, slot.void,
    )  # fmt: skip


def _with_key(content: Mapping[str, Any], key: Any) -> dict[str, Any]:
    field = "accepted" if content["type"] == "text" else "key"
    return {**content, field: key}


def _adjusted(slot: FormItem, answer: Any, key: Any) -> tuple[ItemScore, Any]:
    """Score one position under its key decision; return the score and the key it used."""
    content, adjustment = slot.content, slot.adjustment
    decision = adjustment.decision if adjustment else "keep"
    if decision == "rekey" and adjustment is not None:
        return score_item(_with_key(content, adjustment.key), answer), adjustment.key
    if decision == "keys" and adjustment is not None:
        if content["type"] == "text":  # a text item's key is already a list of answers
            accepted = list(adjustment.keys)
            return score_item(_with_key(content, accepted), answer), accepted
        scores = [score_item(_with_key(content, k), answer) for k in adjustment.keys]
        return max(scores, key=lambda score: score.marks), list(adjustment.keys)
    if decision == "credit":
        worth = max_marks(content)
        return ItemScore(worth, worth), key
    if decision == "void":
        return ItemScore(0.0, max_marks(content)), key
    return score_item(content, answer), key


def profile(scored: Sequence[ItemResult], rules: Rules) -> tuple[StatementResult, ...]:
    """Marks per statement. An item mapped to two statements counts fully in both."""
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    counts: dict[str, int] = {}
    for item in scored:
        for statement in item.competencies:
            earned[statement] = earned.get(statement, 0.0) + (0.0 if item.pending else item.marks)
            possible[statement] = possible.get(statement, 0.0) + item.max_marks
            counts[statement] = counts.get(statement, 0) + 1
    order = list(rules.statements) + sorted(set(possible) - set(rules.statements))
    return tuple(
        StatementResult(
            statement,
            rules.statements.get(statement, statement),
            earned[statement],
            possible[statement],
            counts[statement],
            rules.threshold_percent,
        )
        for statement in order
        if statement in possible
    )


def pass_mark(form: Sequence[FormItem], rules: Rules) -> Cut:
    """Return this form's cut score: a fixed percentage, or modified Angoff computed per form."""
    scored = [slot for slot in form if not slot.pretest and not slot.void]
    maximum = sum(slot.max_marks for slot in scored)
    if rules.pass_method == "fixed":  # noqa: S105 (a method name, not a password)
        percent = float(rules.pass_percent or 0)
        return Cut(maximum * percent / 100.0, "fixed", f"Fixed at {percent:g}% of the marks")
    return angoff_cut(scored, rules.sem_adjustment)


def angoff_cut(scored: Sequence[FormItem], sem_adjustment: float = 0.0) -> Cut:
    """Modified Angoff for this form: the sum over its scored items of the mean judge rating.

    Each rating is the probability that a minimally competent candidate gets the
    item right (for a written item, the expected share of its marks), so the cut
    is in marks. The spread between judges is reported: each judge's own cut, and
    their standard deviation. An optional ±k × SEM moves the cut, with the SEM at
    the cut from Lord's binomial error model, which needs no cohort data.
    """
    missing = [slot.item for slot in scored if not slot.content.get("angoff")]
    if missing:
        raise ScoringError(f"No Angoff ratings for {', '.join(missing)}")
    ratings = [(slot.content["angoff"], slot.max_marks) for slot in scored]
    cut = sum(sum(values) / len(values) * marks for values, marks in ratings)
    judges = min(len(values) for values, _marks in ratings)
    per_judge = [sum(values[judge] * marks for values, marks in ratings) for judge in range(judges)]
    maximum = sum(marks for _values, marks in ratings)
    sem = binomial_sem(cut, maximum)
    adjusted = min(maximum, max(0.0, cut + sem_adjustment * sem))
    details = {
        "unadjusted": _round(cut),
        "judges": judges,
        "judge_cuts": [_round(value) for value in per_judge],
        "judge_sd": _round(sample_sd(per_judge)),
        "sem": _round(sem),
        "sem_adjustment": sem_adjustment,
    }
    description = "Modified Angoff on this form"
    if sem_adjustment:
        description += f", adjusted by {sem_adjustment:+g} × SEM ({sem:.2f} marks)"
    return Cut(adjusted, "angoff", description, details)


def sample_sd(values: Sequence[float]) -> float:
    """Return the sample standard deviation in floats (statistics.stdev works in slow fractions)."""
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((value - mean) ** 2 for value in values) / (len(values) - 1))


def binomial_sem(score: float, maximum: float) -> float:
    """Return Lord's binomial standard error of measurement at a score out of a maximum."""
    if maximum <= 1:
        return 0.0
    return math.sqrt(max(0.0, score * (maximum - score)) / (maximum - 1))
