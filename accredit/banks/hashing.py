"""Content hashes that decide when an edited item, scenario or blueprint is a new version."""

from __future__ import annotations

import hashlib
import json
import re

from pydantic import BaseModel

from accredit.banks.schema import (
    DEFAULT_MARKING,
    DEFAULT_USE,
    MultipleItem,
    NumericItem,
    OrderingItem,
    Scenario,
    SingleItem,
    TextItem,
    WrittenItem,
)

_STATUS_FREE = (
    SingleItem,
    MultipleItem,
    OrderingItem,
    NumericItem,
    TextItem,
    WrittenItem,
    Scenario,
)
"""Models whose ``status`` is not content: publishing or retiring them is not a new version."""

_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


def content_hash(model: BaseModel) -> str:
    """Return the sha256 hex digest of the model's normalised content.

    An item's ``use`` is content (a change is a new version), but the default
    is left out, so items written before ``use`` existed keep their hashes.
    """
    exclude = {"status"} if isinstance(model, _STATUS_FREE) else set()
    if getattr(model, "use", None) == DEFAULT_USE:
        exclude.add("use")
    # Likewise an assessment's marking rules, when they are the defaults.
    if getattr(model, "marking", None) == DEFAULT_MARKING:
        exclude.add("marking")
    content = normalise(model.model_dump(mode="json", exclude=exclude or None))
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalise(value: Json) -> Json:
    """Normalise dumped content so that edits that change nothing visible hash the same.

    Trailing white space on a line and trailing newlines (``|`` against ``|-``
    in YAML) do not change rendered Markdown, and ``1`` and ``1.0`` are the
    same number.
    """
    if isinstance(value, str):
        return _TRAILING_SPACE.sub("", value).rstrip("\n")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value
