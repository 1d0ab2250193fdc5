"""Times as people in England read them: UK local time, from aware UTC values."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def duration(seconds: float) -> str:
    """Say a length of time in words, to the second: '1 hour 15 minutes', '45 seconds'."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    words = [f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in parts if count]
    return " ".join(words) or "0 seconds"


def uk_time(value: datetime | None, fmt: str = "%-d %B %Y at %H:%M") -> str:
    """Format an aware UTC time as UK local time, the way people read it."""
    if value is None:
        return ""
    return value.astimezone(UK).strftime(fmt)
