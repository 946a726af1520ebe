"""The Alembic revisions build exactly the schema the models describe, and unwind cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import compat.tables
import tenants.tables
from gateway import migrate
from gateway.db import Base, Database


def test_migrated_schema_matches_the_models(database: Database) -> None:
    assert tenants.tables and compat.tables  # the imports register every table on Base.metadata
    with database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert differences == []
    assert migrate.current_revision(database.engine) == migrate.head_revision()


def test_downgrade_to_empty_and_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine)
    assert "ml_candidates" in inspect(engine).get_table_names()
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
