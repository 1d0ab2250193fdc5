"""Deadline arithmetic and attempt states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accredit.delivery.timing import (
    NO_ADJUSTMENT,
    Adjustment,
    AttemptState,
    attempt_state,
    deadline,
    remaining_seconds,
    time_allowed,
    window_state,
)

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)


@pytest.mark.parametrize(
    ("limit", "adjustment", "closes", "expected"),
    [
        (60, NO_ADJUSTMENT, None, START + timedelta(minutes=60)),
        (60, Adjustment(percent=25), None, START + timedelta(minutes=75)),
        (60, Adjustment(percent=50), None, START + timedelta(minutes=90)),
        (60, Adjustment(minutes=20), None, START + timedelta(minutes=80)),
        (45, Adjustment(percent=33), None, START + timedelta(minutes=45, seconds=891)),
        # The window's close cuts the time short, adjustment or not.
        (60, Adjustment(percent=50), START + timedelta(minutes=70), START + timedelta(minutes=70)),
        (60, NO_ADJUSTMENT, START + timedelta(hours=3), START + timedelta(minutes=60)),
        (None, NO_ADJUSTMENT, None, None),
        (None, NO_ADJUSTMENT, START + timedelta(hours=2), START + timedelta(hours=2)),
    ],
)
def test_deadline_is_the_earlier_of_time_allowed_and_window_close(
    limit, adjustment, closes, expected
):
    assert deadline(START, limit, adjustment, closes) == expected


def test_percentage_extra_time_rounds_up_to_whole_seconds():
    # 7% of 25 minutes is 105 s exactly; 1% of 1 minute is 0.6 s, which rounds up to 1 s.
    assert time_allowed(25, Adjustment(percent=7)) == timedelta(minutes=25, seconds=105)
    assert time_allowed(1, Adjustment(percent=1)) == timedelta(seconds=61)


@pytest.mark.parametrize(
    ("offset", "submitted", "state"),
    [
        (timedelta(minutes=-1), False, AttemptState.OPEN),
        (timedelta(0), False, AttemptState.GRACE),
        (timedelta(seconds=29), False, AttemptState.GRACE),
        (timedelta(seconds=30), False, AttemptState.EXPIRED),
        (timedelta(hours=5), False, AttemptState.EXPIRED),
        (timedelta(minutes=-10), True, AttemptState.SUBMITTED),
        (timedelta(hours=5), True, AttemptState.SUBMITTED),
    ],
)
def test_state_is_derived_from_stored_times(offset, submitted, state):
    due = START + timedelta(hours=1)
    submitted_at = START + timedelta(minutes=30) if submitted else None
    assert attempt_state(due + offset, due, submitted_at, GRACE) is state


def test_untimed_attempt_stays_open_until_submitted():
    assert attempt_state(START + timedelta(days=30), None, None, GRACE) is AttemptState.OPEN


def test_remaining_never_goes_negative():
    due = START + timedelta(minutes=5)
    assert remaining_seconds(START, due) == 300
    assert remaining_seconds(due + timedelta(minutes=1), due) == 0
    assert remaining_seconds(START, None) is None


def test_window_state():
    opens, closes = START, START + timedelta(days=1)
    assert window_state(START - timedelta(seconds=1), opens, closes) == "not_open"
    assert window_state(START, opens, closes) == "open"
    assert window_state(closes, opens, closes) == "closed"
    assert window_state(START, None, None) == "open"
