"""Reading untrusted input in the web layer: whole numbers, form numbers and save seqs."""

from __future__ import annotations

from typing import Any

from accredit.delivery.service import MAX_SEQ
from accredit.errors import DomainError


class BadRequest(DomainError):
    code = "bad_request"
    status = 400


def whole_number(value: Any) -> int | None:
    """Return a JSON number as an int if it is a whole number, else None.

    1.0 counts as 1 (JSON Schema calls it an integer); true, "1" and 1.5 do not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def form_number(raw: str | None) -> int | None:
    """Return a form field as an int if it is plain ASCII digits ("²" and "-1" are not)."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 20:
        return None
    return int(raw)


def checked_seq(value: Any) -> int:
    """Return the seq of a save, or raise BadRequest if it is not a whole number in range.

    How far it may move past the stored seq is the sitting service's rule.
    """
    seq = whole_number(value)
    if seq is None:
        raise BadRequest('Send {"answer": ..., "seq": n} with a whole-number seq')
    if not 1 <= seq <= MAX_SEQ:
        raise BadRequest(f"seq must be from 1 to {MAX_SEQ}")
    return seq
