"""SQLite's WAL is checkpointed by a thread of the gateway's own, not by the commit that holds the
writer gate (gateway.wal_checkpoint).

A checkpoint copies the WAL's pages into the database file, so the file's size tells whether one ran:
each test commits ~8 MB (about 2000 pages, twice SQLite's default auto-checkpoint threshold) into a
database that is otherwise a few pages.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.db import Database
from gateway.wal_checkpoint import DELAY_S, SAFETY_NET_PAGES, THRESHOLD_PAGES
from tests.support.sqlite_file import sqlite_file_database
from tests.support.waiting import eventually

WAIT_S = 10.0
BIG_ROWS, ROW_BYTES = 2000, 4000
BIG_BYTES = BIG_ROWS * ROW_BYTES


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with sqlite_file_database(tmp_path / "wal.db", "CREATE TABLE t (n INTEGER, payload BLOB)") as database:
        yield database


def _file_size(database: Database) -> int:
    return Path(str(database.engine.url.database)).stat().st_size


def _commit_big(database: Database) -> None:
    with database.unit_of_work() as session:
        session.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO t SELECT i, randomblob(:row_bytes) FROM n"
            ),
            {"rows": BIG_ROWS, "row_bytes": ROW_BYTES},
        )


def _wait_for_checkpoint(database: Database) -> bool:
    return eventually(lambda: _file_size(database) >= BIG_BYTES, WAIT_S)


def test_a_commit_past_sqlites_default_threshold_leaves_the_checkpoint_to_the_thread(database: Database) -> None:
    assert database.checkpointer is not None
    database.checkpointer.close()  # no thread: only SQLite itself could checkpoint now
    _commit_big(database)
    assert _file_size(database) < BIG_BYTES / 10, "the commit checkpointed its own pages"
    assert (database.checkpointer.pages_to_copy() or 0) >= BIG_BYTES // 4096
    with sqlite3.connect(str(database.engine.url.database)) as connection:
        database.checkpointer.checkpoint(connection)
    assert _file_size(database) >= BIG_BYTES
    assert database.checkpointer.pages_to_copy() == 0


def test_the_thread_checkpoints_soon_after_a_commit(database: Database) -> None:
    _commit_big(database)
    assert _wait_for_checkpoint(database), "no checkpoint within 10 s of the commit"


def test_a_few_pages_wait_in_the_wal_for_more(database: Database) -> None:
    """Below SQLite's own threshold nothing is checkpointed: every checkpoint syncs two files."""
    assert database.checkpointer is not None
    size = _file_size(database)
    with database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (1, randomblob(100))"))
    time.sleep(10 * DELAY_S)  # the thread has looked by now
    assert _file_size(database) == size
    assert 0 < (database.checkpointer.pages_to_copy() or 0) < THRESHOLD_PAGES


def test_a_checkpoint_runs_while_another_writer_holds_the_gate(database: Database) -> None:
    _commit_big(database)
    with database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (0, NULL)"))  # holds the gate and SQLite's write lock
        assert _wait_for_checkpoint(database), "the checkpoint waited for the writer"
    assert _file_size(database) >= BIG_BYTES


def test_the_gateways_connections_keep_sqlites_own_checkpoint_as_a_safety_net(database: Database) -> None:
    with database.unit_of_work(write=False) as session:
        assert session.scalar(text("PRAGMA wal_autocheckpoint")) == SAFETY_NET_PAGES
