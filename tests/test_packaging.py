"""The built wheel ships templates, static assets and migrations, not just Python."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_templates_static_assets_and_migrations(tmp_path):
    assert (ROOT / "accredit/static/govuk/application.css").exists(), "run `make assets` first"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path)],
        check=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("accredit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in [
        "accredit/templates/base.html",
        "accredit/templates/auth/login.html",
        "accredit/static/govuk/application.css",
        "accredit/static/govuk/govuk-frontend.min.js",
        "accredit/static/govuk/assets/images/favicon.ico",
        "accredit/static/js/app.mjs",
        "accredit/migrations/env.py",
        "accredit/migrations/versions/0001_people_and_audit_trail.py",
        "accredit/accounts/common_passwords.txt",
    ]:
        assert expected in names, expected
