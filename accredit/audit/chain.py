"""The audit chain's arithmetic: plain Python, no database.

Each event has two links. ``link`` is an unkeyed SHA-256 over the event and the
previous event's hash: it shows where a row was edited, but anyone who can write
the table can recompute it. ``seal`` is an HMAC-SHA256 under a key kept outside
the database, over the event's sequence number, the previous event's MAC and the
event's hash: without the key, no forged or recomputed row can carry a MAC that
verifies.
"""

from __future__ import annotations

import hashlib
import hmac
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


def _mac(key: bytes, *parts: object) -> str:
    return hmac.new(key, "\n".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


def seal(key: bytes, *, seq: int, prev_mac: str, event_hash: str) -> str:
    """Return an event's MAC: its sequence number, the previous MAC and its own hash, keyed."""
    return _mac(key, "accredit audit event", seq, prev_mac, event_hash)


def seal_checkpoint(key: bytes, *, seq: int, event_hash: str, mac: str, at: str) -> str:
    """Return a checkpoint line's own MAC, so a line cannot be forged or edited without the key."""
    return _mac(key, "accredit audit checkpoint", seq, event_hash, mac, at)


def same(first: str, second: str) -> bool:
    """Compare two MACs in constant time."""
    return hmac.compare_digest(first.encode(), second.encode())
