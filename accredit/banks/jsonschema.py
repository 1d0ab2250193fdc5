"""JSON Schemas of the bank files, for editors and for the published format docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from accredit.banks.schema import Assessment, Bank, BankFile, Framework

DIALECT = "https://json-schema.org/draft/2020-12/schema"

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "framework": Framework,
    "bank": Bank,
    "bank-file": BankFile,
    "assessment": Assessment,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return a draft 2020-12 JSON Schema for each kind of bank file, by name."""
    return {name: _schema(model) for name, model in SCHEMA_MODELS.items()}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    # Pydantic's default mode is "validation", which is what authors write.
    return {"$schema": DIALECT, **model.model_json_schema()}


def schema_text(schema: dict[str, Any]) -> str:
    """Serialise a schema the way it is stored on disk."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_json_schemas(folder: Path) -> list[Path]:
    """Write ``<name>.json`` for every schema into ``folder``; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.json"
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written
