"""The models match the migrations' head, and every migration runs down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from accredit.models import Base
from tests.conftest import make_app, make_test_database


def test_models_match_migrations_and_migrations_run_both_ways(tmp_path):
    url, drop = make_test_database(tmp_path)
    app = make_app(url, tmp_path)
    try:
        with app.app_context():
            from accredit.extensions import db

            upgrade()
            with db.engine.connect() as connection:
                differences = compare_metadata(
                    MigrationContext.configure(connection), Base.metadata
                )
            assert differences == [], differences
            downgrade(revision="base")
            with db.engine.connect() as connection:
                tables = set(db.inspect(connection).get_table_names())
            assert tables <= {"alembic_version"}
            upgrade()
            db.engine.dispose()
    finally:
        drop()
