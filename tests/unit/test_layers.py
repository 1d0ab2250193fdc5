"""The domain stays plain Python: it never imports Flask or the database, so arrows point down only."""

from __future__ import annotations

import subprocess
import sys

import pytest

DOMAIN_MODULES = [
    "accredit.banks",
    "accredit.scoring.items",
    "accredit.scoring.text",
    "accredit.delivery.timing",
    "accredit.delivery.assembly",
    "accredit.delivery.answers",
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
