"""Times as people in England read them: UK local time, from aware UTC values."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def uk_time(value: datetime | None, fmt: str = "%-d %B %Y at %H:%M") -> str:
    """Format an aware UTC time as UK local time, the way people read it."""
    if value is None:
        return ""
    return value.astimezone(UK).strftime(fmt)
