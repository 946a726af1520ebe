"""A gateway ``Database`` on a SQLite file of a test's own, for tests of SQLite's own behaviour
(the writer gate, WAL checkpoints) that need a real file and nothing migrated."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from gateway.db import Database
from gateway.settings import Settings


@contextmanager
def sqlite_file_database(path: Path, create_table: str) -> Iterator[Database]:
    """``Database`` on ``path`` with the one table ``create_table`` makes; disposed on exit."""
    database = Database.from_settings(Settings(data_dir=path.parent, database_url=f"sqlite:///{path}"))
    with database.unit_of_work() as session:
        session.execute(text(create_table))
    try:
        yield database
    finally:
        database.dispose()
