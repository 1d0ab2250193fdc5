"""Normalising short text answers, so that trivial differences never cost a mark."""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = re.compile(r"[^\w\s.]|(?<!\d)\.|\.(?!\d)")
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Fold case and width, trim, collapse white space and drop punctuation but decimal points."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.replace("\u2019", "'").replace("\u2018", "'")
    without = _PUNCTUATION.sub(" ", folded)
    return _SPACE.sub(" ", without).strip()
