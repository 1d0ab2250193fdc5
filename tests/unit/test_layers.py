"""The domain stays plain Python: it never imports Flask or the database, so arrows point down only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DOMAIN_MODULES = [
    "accredit.banks",
    "accredit.scoring.items",
    "accredit.scoring.text",
    "accredit.delivery.timing",
    "accredit.delivery.assembly",
    "accredit.delivery.answers",
    "accredit.marking.rules",
    "accredit.analysis.psychometrics",
    "accredit.exports.formats",
    "accredit.exports.tables",
    "accredit.accounts.passwords",
    "accredit.timefmt",
]


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_domain_module_imports_no_flask_or_database(module):
    probe = (
        f"import sys, {module}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy', 'flask_sqlalchemy'}); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} pulls in {result.stdout.strip()}"


PACKAGE = Path(__file__).resolve().parents[2] / "accredit"
# The web layer and the entry points (the web app, the command line, the background worker's
# tasks) sit on top; everything else is a feature or shared module.
TOP = {"web", "cli", "worker", "app", "__init__", "policy", "migrations"}


def _imports_by_package() -> dict[str, set[str]]:
    """Map each feature package to the accredit packages its modules import, anywhere in them."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).with_suffix("")
        package = relative.parts[0]
        if package in TOP:
            continue
        found = graph.setdefault(package, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "accredit" and len(parts) > 1 and parts[1] != package:
                    found.add(parts[1])
    return graph


def test_no_service_or_domain_module_imports_the_web_layer():
    graph = _imports_by_package()
    offenders = {package: sorted(deps & TOP) for package, deps in graph.items() if deps & TOP}
    assert offenders == {}


def test_feature_packages_never_import_each_other_in_a_circle():
    graph = _imports_by_package()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = sorted(package for package in graph if reaches(package, package, {package}))
    assert circles == []
    assert "delivery" not in graph["results"], (
        "results builds on delivery's models, not on delivery"
    )
