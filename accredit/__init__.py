"""accredit: timed practice-knowledge accreditation tests for child and family social work.

The package root imports nothing heavy, so the plain-Python domain modules
(banks, scoring, delivery rules) load without Flask or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the app (see ``accredit.app``)."""
    from accredit.app import create_app as factory

    return factory(test_config)
