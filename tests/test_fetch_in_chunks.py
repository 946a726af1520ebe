"""``gateway.db.fetch_in_chunks``: a long result a chunk at a time (PostgreSQL: libpq's chunked rows)."""

from __future__ import annotations

from sqlalchemy import Select, literal, select

from gateway.db import Database, fetch_in_chunks


def numbers(last: int, above: int) -> Select[int, int]:
    """``i, 2*i`` for ``above < i <= last``, on either database (a recursive CTE, bound parameters)."""
    n = select(literal(1).label("i")).cte("n", recursive=True)
    n = n.union_all(select(n.c.i + 1).where(n.c.i < last))
    return select(n.c.i, (n.c.i * 2).label("double")).where(n.c.i > above).order_by(n.c.i)


def test_rows_arrive_in_order_in_chunks_of_the_asked_size(database: Database) -> None:
    with database.unit_of_work(write=False) as session:
        chunks = [list(chunk) for chunk in fetch_in_chunks(session, numbers(2500, 10), 1000)]
        assert [len(chunk) for chunk in chunks] == [1000, 1000, 490]
        rows = [tuple(row) for chunk in chunks for row in chunk]
        assert rows == [(i, 2 * i) for i in range(11, 2501)]
        assert session.execute(select(literal(7))).scalar_one() == 7  # the connection is free again


def test_an_empty_result_is_no_chunk(database: Database) -> None:
    with database.unit_of_work(write=False) as session:
        assert list(fetch_in_chunks(session, numbers(5, 10), 1000)) == []
