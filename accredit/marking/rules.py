"""The marking rules, as plain Python: no Flask, no database.

A written response is marked blind by two assessors. Their marks agree when they
are within a tolerance of each other and on the same side of every boundary the
assessment names; then the agreed mark is their mean (or the lower, if the
assessment says so). Otherwise a third marker or the moderator gives the final
mark, with a reason. A script's state is never stored: ``script_state`` derives
it from the facts recorded (the marks, the agreed mark, the moderator's decision,
release, void), and ``ensure_allowed`` refuses a step the state does not allow.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from accredit.errors import Conflict, DomainError


class Round(StrEnum):
    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    MODERATOR = "moderator"


class ScriptState(StrEnum):
    # Awaiting first marks: neither blind mark is in. Awaiting second: one is.
    AWAITING_FIRST = "awaiting_first"
    AWAITING_SECOND = "awaiting_second"
    IN_DISCREPANCY = "in_discrepancy"
    AGREED = "agreed"
    IN_MODERATION = "in_moderation"
    RATIFIED = "ratified"
    RELEASED = "released"
    WITHHELD = "withheld"
    VOID = "void"


class Step(StrEnum):
    """What someone may try to do to a script."""

    MARK_FIRST = "mark_first"
    MARK_SECOND = "mark_second"
    RESOLVE = "resolve"  # a third marker's or the moderator's final mark
    MODERATE = "moderate"  # ratify, amend or withhold the result
    RELEASE = "release"
    VOID = "void"


class Decision(StrEnum):
    RATIFY = "ratify"
    AMEND = "amend"
    WITHHOLD = "withhold"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class InvalidMarks(DomainError):
    code = "invalid_marks"
    status = 422


# Which steps each state allows. Anything not listed is refused.
ALLOWED: Mapping[ScriptState, frozenset[Step]] = {
    # The two markers mark independently, in either order: neither waits for the other.
    ScriptState.AWAITING_FIRST: frozenset({Step.MARK_FIRST, Step.MARK_SECOND, Step.VOID}),
    ScriptState.AWAITING_SECOND: frozenset({Step.MARK_FIRST, Step.MARK_SECOND, Step.VOID}),
    ScriptState.IN_DISCREPANCY: frozenset({Step.RESOLVE, Step.VOID}),
    ScriptState.AGREED: frozenset({Step.MODERATE, Step.RELEASE, Step.VOID}),
    ScriptState.IN_MODERATION: frozenset({Step.MODERATE, Step.VOID}),
    ScriptState.RATIFIED: frozenset({Step.RELEASE, Step.VOID}),
    ScriptState.RELEASED: frozenset(),
    ScriptState.WITHHELD: frozenset(),
    ScriptState.VOID: frozenset(),
}


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion: its id, the most marks it carries and the marks of its levels.

    With levels, a marker gives exactly one level's marks; without, any mark
    from 0 to the maximum.
    """

    id: str
    marks: float
    levels: tuple[float, ...] = ()


@dataclass(frozen=True)
class Mark:
    """One marker's mark of one response in one round."""

    round: Round
    marker_id: int
    criteria: Mapping[str, float]
    comment: str = ""
    reason: str = ""

    @property
    def total(self) -> float:
        return float(sum(self.criteria.values()))


@dataclass(frozen=True)
class AgreementRule:
    """How two marks agree, as an assessment configures it (with these defaults)."""

    tolerance_fraction: float = 0.10
    resolve: str = "mean"  # mean | lower
    # Marks on opposite sides of any of these (in the item's marks) never agree.
    boundaries: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance_fraction <= 1:
            raise ValueError("the tolerance is a fraction of the item's maximum, from 0 to 1")
        if self.resolve not in ("mean", "lower"):
            raise ValueError("an agreed mark is the mean or the lower of the two")


@dataclass(frozen=True)
class Agreement:
    agreed: bool
    mark: float | None
    why: str


@dataclass(frozen=True)
class Script:
    """The recorded facts about one written response, from which its state follows."""

    marks: Sequence[Mark] = ()
    agreed_mark: float | None = None
    needs_moderation: bool = False
    decision: Decision | None = None
    released: bool = False
    void: bool = False

    @property
    def rounds(self) -> set[Round]:
        return {mark.round for mark in self.marks}


def checked_marks(criteria: Mapping[str, float], rubric: Sequence[Criterion]) -> float:
    """Return the total of a mark for every criterion of the rubric, or raise InvalidMarks."""
    expected = {criterion.id: criterion for criterion in rubric}
    problems = []
    missing = sorted(set(expected) - set(criteria))
    unknown = sorted(set(criteria) - set(expected))
    if missing:
        problems.append(f"give a mark for {', '.join(missing)}")
    if unknown:
        problems.append(f"the rubric has no criterion {', '.join(unknown)}")
    for key, value in criteria.items():
        criterion = expected.get(key)
        if criterion is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            problems.append(f"{key}: a mark is a number")
        elif criterion.levels and not any(abs(value - level) < 1e-9 for level in criterion.levels):
            levels = ", ".join(f"{level:g}" for level in criterion.levels)
            problems.append(f"{key}: a mark is one of the levels {levels}")
        elif not 0 <= value <= criterion.marks:
            problems.append(f"{key}: a mark is from 0 to {criterion.marks:g}")
    if problems:
        raise InvalidMarks("; ".join(problems))
    return float(sum(criteria.values()))


def agree(first: float, second: float, maximum: float, rule: AgreementRule) -> Agreement:
    """Decide whether two markers' totals agree, and if so what the agreed mark is.

    The order of the two marks never matters.
    """
    low, high = sorted((first, second))
    tolerance = rule.tolerance_fraction * maximum
    if high - low > tolerance + 1e-9:
        return Agreement(
            False, None, f"the marks differ by {high - low:g}, more than {tolerance:g}"
        )
    for boundary in rule.boundaries:
        if low < boundary <= high:
            return Agreement(False, None, f"the marks fall either side of {boundary:g}")
    mark = low if rule.resolve == "lower" else (low + high) / 2
    return Agreement(True, mark, f"within {tolerance:g} of each other: the {rule.resolve}")


def script_state(script: Script) -> ScriptState:
    """Derive a script's state from its recorded facts."""
    if script.void:
        return ScriptState.VOID
    if script.decision is Decision.WITHHOLD:
        return ScriptState.WITHHELD
    if script.released:
        return ScriptState.RELEASED
    if script.decision in (Decision.RATIFY, Decision.AMEND):
        return ScriptState.RATIFIED
    if script.agreed_mark is not None:
        return ScriptState.IN_MODERATION if script.needs_moderation else ScriptState.AGREED
    blind = len({Round.FIRST, Round.SECOND} & script.rounds)
    if blind == 0:
        return ScriptState.AWAITING_FIRST
    if blind == 1:
        return ScriptState.AWAITING_SECOND
    return ScriptState.IN_DISCREPANCY


def ensure_allowed(script: Script, step: Step) -> ScriptState:
    """Return the script's state if it allows the step; raise IllegalTransition if not."""
    state = script_state(script)
    if step not in ALLOWED[state]:
        state_name, step_name = state.value.replace("_", " "), step.value.replace("_", " ")
        raise IllegalTransition(f"A script that is {state_name} cannot {step_name}")
    return state


def ensure_may_mark(script: Script, marker_id: int, round_: Round) -> None:
    """Refuse a mark out of turn, or by someone who has already marked this response."""
    step = {
        Round.FIRST: Step.MARK_FIRST, Round.SECOND: Step.MARK_SECOND,
        Round.THIRD: Step.RESOLVE, Round.MODERATOR: Step.RESOLVE,
    }[round_]  # fmt: skip
    ensure_allowed(script, step)
    if round_ in script.rounds:
        raise IllegalTransition(f"The {round_.value} marking of this script is already done")
    if round_ is not Round.MODERATOR and any(m.marker_id == marker_id for m in script.marks):
        raise IllegalTransition("A marker marks a response once: it needs another marker")


def final_mark(mark: Mark) -> float:
    """A third marker's or the moderator's mark is final, and must say why."""
    if mark.round not in (Round.THIRD, Round.MODERATOR):
        raise IllegalTransition("Only a third marker or the moderator gives a final mark")
    if not mark.reason.strip():
        raise InvalidMarks("Give the reason for the final mark")
    return mark.total


def within_sem(score: float, cut: float, sem: float) -> bool:
    """Say whether a score lies within one standard error of measurement of the cut."""
    return abs(score - cut) <= sem


def moderation_sample(
    result_ids: Iterable[int], seed: str, *, fraction: float = 0.10, minimum: int = 10
) -> set[int]:
    """Choose at least max(fraction, minimum) of the results, the same way every time.

    Each result is ranked by a hash of the seed and its id, so the choice does
    not depend on the order the results are given in, and can be checked later.
    """
    ids = sorted(set(result_ids))
    size = min(len(ids), max(minimum, math.ceil(fraction * len(ids))))
    ranked = sorted(ids, key=lambda rid: hashlib.sha256(f"{seed}:{rid}".encode()).hexdigest())
    return set(ranked[:size])


def candidate_number(user_id: int, key: bytes) -> str:
    """The eight-digit number markers know a candidate by, never their name.

    A keyed permutation of 0..10^8-1 (a four-round Feistel network on two
    four-digit halves, each round an HMAC): two candidates never share a number,
    and without the key a number says nothing about the account behind it or
    when it was made.
    """
    if not 0 < user_id < 100_000_000:
        raise ValueError("a candidate number needs an id from 1 to 99,999,999")
    left, right = divmod(user_id, 10_000)
    for round_ in range(4):
        digest = hmac.new(key, f"{round_}:{right}".encode(), hashlib.sha256).digest()
        left, right = right, (left + int.from_bytes(digest[:4], "big")) % 10_000
    return f"{left * 10_000 + right:08d}"


def _rank(*parts: object) -> str:
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()


def choose_markers(script_id: int, load: Mapping[int, int], count: int) -> list[int]:
    """Choose up to ``count`` different markers from the eligible ones, evenly.

    ``load`` maps each eligible marker to the scripts they hold already; the
    least loaded are chosen, and a tie is broken by a hash of the script and the
    marker, so the choice is spread fairly and the same inputs always give the
    same markers.
    """
    ranked = sorted(load, key=lambda marker: (load[marker], _rank(script_id, marker)))
    return ranked[:count]


def script_order(script_id: int, salt: str) -> str:
    """A sort key that shows scripts in a stable pseudo-random order, not candidate order."""
    return _rank(salt, script_id)
