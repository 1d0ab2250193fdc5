"""The one source of the current time, always timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# Set only while demonstration history is staged (``demo``): everything then happens "at" it.
_staged: ContextVar[datetime | None] = ContextVar("accredit_staged_time", default=None)


def now() -> datetime:
    """Return the current time in UTC."""
    staged = _staged.get()
    return staged if staged is not None else datetime.now(UTC)


@contextmanager
def staged_at(moment: datetime) -> Iterator[None]:
    """Run as if it were ``moment``: for the demo command's past sittings, never in service."""
    if moment.tzinfo is None:
        raise ValueError("a staged time needs its zone")
    token = _staged.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _staged.reset(token)
