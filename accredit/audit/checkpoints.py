"""Checkpoints: the chain's head, written outside the database to an append-only file.

Each line is one JSON object: the head's sequence number, hash and MAC, when it
was taken, and a MAC over those, so nobody without the key can forge or edit a
line. Truncating the chain and resetting its head leaves the database
consistent with itself, but no longer with the checkpoints taken before.
Plain Python: no Flask, no database.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from accredit.audit.chain import same, seal_checkpoint

FIELDS = ("seq", "at", "hash", "mac", "line_mac")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TAIL_BLOCK = 4096


class BadCheckpoint(Exception):
    """A line of the checkpoint file that is not a checkpoint sealed with this key."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment: the newest event's sequence number, hash and MAC."""

    seq: int
    hash: str
    mac: str
    at: str
    where: str = ""
    """Where the line is in the file, for messages ("line 3"); empty for a new checkpoint."""

    def to_line(self, key: bytes) -> str:
        """Return the checkpoint as one sealed JSON line, without the newline."""
        line_mac = seal_checkpoint(
            key, seq=self.seq, event_hash=self.hash, mac=self.mac, at=self.at
        )
        fields = {"seq": self.seq, "at": self.at, "hash": self.hash, "mac": self.mac}
        return json.dumps({**fields, "line_mac": line_mac}, separators=(",", ":"))


def parse(key: bytes, text: str, where: str) -> Checkpoint:
    """Read one line; raise BadCheckpoint unless it is a checkpoint sealed with ``key``."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise BadCheckpoint(where, "is not a checkpoint (not JSON)") from None
    if not isinstance(fields, dict) or sorted(fields) != sorted(FIELDS):
        raise BadCheckpoint(where, f"is not a checkpoint (it needs exactly {', '.join(FIELDS)})")
    seq, at = fields["seq"], fields["at"]
    digests = [fields[name] for name in ("hash", "mac", "line_mac")]
    if type(seq) is not int or seq < 1 or not isinstance(at, str):
        raise BadCheckpoint(where, "is not a checkpoint (seq must be a positive whole number)")
    if not all(isinstance(digest, str) and _HEX64.fullmatch(digest) for digest in digests):
        raise BadCheckpoint(where, "is not a checkpoint (hash and MACs must be 64 hex digits)")
    checkpoint = Checkpoint(seq=seq, hash=digests[0], mac=digests[1], at=at, where=where)
    expected = seal_checkpoint(key, seq=seq, event_hash=checkpoint.hash, mac=checkpoint.mac, at=at)
    if not same(expected, digests[2]):
        raise BadCheckpoint(
            where, "its MAC does not match: the line was forged or edited, or the key has changed"
        )
    return checkpoint


def read_all(path: Path, key: bytes) -> Iterator[Checkpoint]:
    """Yield every checkpoint in the file, oldest first; raise BadCheckpoint at a bad line."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            yield parse(key, text.rstrip("\n"), f"{path} line {number}")


def read_newest(path: Path, key: bytes) -> Checkpoint | None:
    """Return the file's last checkpoint, reading only its end; raise BadCheckpoint if it is bad."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        tail = b""
        # Read backwards until the tail holds the whole last line (or the whole file).
        while position > 0 and tail.rstrip(b"\n").count(b"\n") == 0:
            step = min(_TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
    lines = tail.rstrip(b"\n").split(b"\n")
    if lines == [b""]:
        return None
    return parse(key, lines[-1].decode("utf-8", errors="replace"), f"{path} last line")


def append(path: Path, key: bytes, checkpoint: Checkpoint) -> None:
    """Append one sealed line and force it to disk; the file is created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (checkpoint.to_line(key) + "\n").encode()
    # O_APPEND: every write lands at the end, whole, even when two sweeps overlap.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, stat.S_IRUSR | stat.S_IWUSR)
    try:
        if os.write(descriptor, data) != len(data):
            raise OSError(f"{path}: the checkpoint was only partly written")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
