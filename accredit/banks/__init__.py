"""Question banks: the YAML schema, the loader and validator, pools and hashing.

Plain Python only: nothing here imports Flask or the database, so the command
line, the importer and the tests all share one definition of a valid bank.
"""

from accredit.banks.checks import LoadedBank, Sourced
from accredit.banks.hashing import content_hash
from accredit.banks.jsonschema import json_schemas, write_json_schemas
from accredit.banks.loader import LoadResult, load_file, load_tree
from accredit.banks.markdown import render_inline, render_markdown
from accredit.banks.pools import (
    ItemFacts,
    ScenarioFacts,
    item_pool,
    pool_size,
    scenario_pool,
)
from accredit.banks.schema import (
    Assessment,
    Bank,
    BankFile,
    Framework,
    Item,
    Scenario,
    Statement,
)
from accredit.banks.summary import BankSummary, format_summary, summarise
from accredit.banks.yamlsource import Place, Problem

__all__ = [
    "Assessment",
    "Bank",
    "BankFile",
    "BankSummary",
    "Framework",
    "Item",
    "ItemFacts",
    "LoadResult",
    "LoadedBank",
    "Place",
    "Problem",
    "Scenario",
    "ScenarioFacts",
    "Sourced",
    "Statement",
    "content_hash",
    "format_summary",
    "item_pool",
    "json_schemas",
    "load_file",
    "load_tree",
    "pool_size",
    "render_inline",
    "render_markdown",
    "scenario_pool",
    "summarise",
    "write_json_schemas",
]
