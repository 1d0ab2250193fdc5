"""Deadlines and attempt states, derived from stored times. Plain Python: no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class Adjustment:
    """Extra time on an enrolment: a percentage of the time limit, or whole minutes."""

    percent: int | None = None
    minutes: int | None = None

    def extra_time(self, limit: timedelta) -> timedelta:
        if self.percent:
            # Whole seconds, rounded up, so an adjustment is never shaved.
            seconds = -(-int(limit.total_seconds()) * self.percent // 100)
            return timedelta(seconds=seconds)
        if self.minutes:
            return timedelta(minutes=self.minutes)
        return timedelta(0)

    def describe(self) -> str:
        if self.percent:
            return f"{self.percent}% extra time"
        if self.minutes:
            return f"{self.minutes} minutes' extra time"
        return "none"


NO_ADJUSTMENT = Adjustment()


def time_allowed(limit_minutes: int | None, adjustment: Adjustment) -> timedelta | None:
    """Return the time a candidate is allowed, with their adjustment, or None if untimed."""
    if limit_minutes is None:
        return None
    limit = timedelta(minutes=limit_minutes)
    return limit + adjustment.extra_time(limit)


def deadline(
    started_at: datetime,
    limit_minutes: int | None,
    adjustment: Adjustment,
    window_closes: datetime | None,
) -> datetime | None:
    """Return ``min(started + limit + adjustment, window closes)``, or None if neither applies."""
    allowed = time_allowed(limit_minutes, adjustment)
    candidates = [moment for moment in (window_closes,) if moment is not None]
    if allowed is not None:
        candidates.append(started_at + allowed)
    return min(candidates) if candidates else None


class AttemptState(StrEnum):
    OPEN = "open"
    # Past the deadline but inside the grace period: saves already in flight are accepted.
    GRACE = "grace"
    # Past the grace period and not yet finalised: it must be closed before anything else.
    EXPIRED = "expired"
    SUBMITTED = "submitted"


def attempt_state(
    at: datetime, deadline_at: datetime | None, submitted_at: datetime | None, grace: timedelta
) -> AttemptState:
    """Return what an attempt is at a moment, from its stored times alone."""
    if submitted_at is not None:
        return AttemptState.SUBMITTED
    if deadline_at is None or at < deadline_at:
        return AttemptState.OPEN
    if at < deadline_at + grace:
        return AttemptState.GRACE
    return AttemptState.EXPIRED


def accepts_answers(state: AttemptState) -> bool:
    return state in (AttemptState.OPEN, AttemptState.GRACE)


def remaining_seconds(at: datetime, deadline_at: datetime | None) -> float | None:
    """Return the seconds left before the deadline (never negative), or None if untimed."""
    if deadline_at is None:
        return None
    return max(0.0, (deadline_at - at).total_seconds())


def window_state(at: datetime, opens_at: datetime | None, closes_at: datetime | None) -> str:
    """Return 'not_open', 'open' or 'closed' for an assessment window."""
    if opens_at is not None and at < opens_at:
        return "not_open"
    if closes_at is not None and at >= closes_at:
        return "closed"
    return "open"
