"""The hash chain's arithmetic: plain Python, no database."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any


def canonical(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any],
) -> str:
    """Return the one text form of an event that its hash covers."""
    return json.dumps(
        {
            "seq": seq,
            "occurred_at": occurred_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def link(prev_hash: str, body: str) -> str:
    """Return the hash of an event given the previous event's hash."""
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()
