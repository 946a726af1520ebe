"""SQLite's writer gate: a write unit of work queues for it at its first statement, and gives it back
once its transaction has ended, committed or not. And each connection's page cache, sized by role.

Each test has a SQLite file of its own and two threads, each with its own write unit of work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.db import READER_CACHE_KIB, WRITER_CACHE_KIB, Database
from tests.support.sqlite_file import sqlite_file_database

WAIT_S = 10.0
BLOCKED_S = 0.3


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with sqlite_file_database(tmp_path / "gate.db", "CREATE TABLE t (n INTEGER)") as database:
        yield database


def _insert_in_thread(database: Database, n: int) -> threading.Event:
    """Insert ``n`` in a write unit of work of another thread; the event is set once it committed."""
    done = threading.Event()

    def write() -> None:
        with database.unit_of_work() as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
        done.set()

    threading.Thread(target=write, daemon=True).start()
    return done


def _rows(database: Database) -> list[int]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(text("SELECT n FROM t ORDER BY n")))


def test_a_writer_that_has_not_touched_the_database_does_not_hold_others_up(database: Database) -> None:
    with database.unit_of_work():
        done = _insert_in_thread(database, 1)
        assert done.wait(WAIT_S), "a second writer waited for a unit of work that had run no statement"
    assert _rows(database) == [1]


def test_a_writer_holds_the_gate_from_its_first_statement_until_it_commits(database: Database) -> None:
    with database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        done = _insert_in_thread(database, 2)
        assert not done.wait(BLOCKED_S), "a second writer ran inside the first one's transaction"
    assert done.wait(WAIT_S)
    assert _rows(database) == [1, 2]


def test_a_failed_writer_gives_the_gate_back(database: Database) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the handler failed after its first write")
    done = _insert_in_thread(database, 2)
    assert done.wait(WAIT_S), "the gate stayed shut after a rolled-back unit of work"
    assert _rows(database) == [2]


def test_readers_never_take_the_gate(database: Database) -> None:
    with database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        seen: list[list[int]] = []
        reader = threading.Thread(target=lambda: seen.append(_rows(database)), daemon=True)
        reader.start()
        reader.join(WAIT_S)
        assert seen == [[]], "a reader waited for the writer, or saw its uncommitted row"


def test_a_connection_caches_pages_by_the_role_of_its_transaction(database: Database) -> None:
    """Writers keep SQLite's default page cache; readers get a smaller one (a worker pools many)."""
    for _ in range(3):  # the pool hands the same connections back in either role
        with database.unit_of_work() as session:
            assert session.scalar(text("PRAGMA cache_size")) == -WRITER_CACHE_KIB
        with database.unit_of_work(write=False) as session:
            assert session.scalar(text("PRAGMA cache_size")) == -READER_CACHE_KIB
