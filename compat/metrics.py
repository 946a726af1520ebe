"""Metric writes, set-based: one bulk insert into the history and one upsert into the latest-value
table per batch, whatever its size (ARCHITECTURE convention 4).

The history goes in as tuples straight to the driver: on PostgreSQL a batch of ``COPY_FROM_ROWS``
points or more as one binary ``COPY`` (``gateway.db.copy_rows``), a smaller one in the same statement
as its latest-value upsert (one round trip), on SQLite as the driver's own INSERT with a list of rows
(``executemany``). The ORM's bulk-insert bookkeeping, a per-batch
multi-VALUES compile, SQLAlchemy's per-row parameter processing and psycopg's one INSERT execution
per row each cost more than the database's own work on a 1000-metric batch (profiled with
``bench.profile log_batch``). The upsert is built once per dialect and goes to the driver as tuples too.

"Latest" is MLflow's: the point with the highest step, then timestamp, then value. A batch is first
reduced to its latest point per key in Python, so the upsert touches each (run, key) row once (as
PostgreSQL requires), and the ``WHERE`` on the conflict keeps an older point from overwriting.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, insert, or_, tuple_
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from compat.tables import CandidateLatestMetric, CandidateMetric
from gateway.db import Prepared, copy_rows, table_of, table_upsert

_HISTORY = table_of(CandidateMetric)
_LATEST = table_of(CandidateLatestMetric)


class MetricPoint(NamedTuple):
    """One checked point. A named tuple, not a frozen dataclass: a batch makes a thousand of them, and a
    frozen dataclass's ``__init__`` cost a sixth of a batch's parsing (``bench.profile log_batch``)."""

    key: str
    value: float
    timestamp: int
    step: int


Fields = tuple[str, float, bool, int, int]
"""A point as the columns after ``candidate_id`` in ``_COLUMNS``: key, value, is_nan, timestamp, step."""


def _newer(fields: Fields, than: Fields) -> bool:
    """MLflow's order of points: step, then timestamp, then value (a NaN counts as -inf)."""
    return (fields[4], fields[3], -math.inf if fields[2] else fields[1]) > (
        than[4],
        than[3],
        -math.inf if than[2] else than[1],
    )


class MetricBatch:
    """Points laid out as the rows they become, all but the run's id, and reduced to the latest point
    per key for the latest-value upsert.

    ``runs/log-batch`` builds it while it checks the request, before its first statement: on SQLite a
    write transaction holds the database's one write lock from that statement to its commit, and every
    other writer waits for it. Laid out before, a 1000-metric batch held the lock about 0.5 ms less
    and ``bench.profile log_batch`` at 16 clients went from ~73k to ~81k rows/s (three runs each).
    """

    __slots__ = ("history", "latest")

    def __init__(self, points: Sequence[MetricPoint]) -> None:
        self.history: list[Fields] = []
        newest: dict[str, Fields] = {}
        for key, value, timestamp, step in points:
            nan = value != value  # a NaN is stored as 0.0 with is_nan set
            fields = (key, 0.0 if nan else value, nan, timestamp, step)
            self.history.append(fields)
            current = newest.get(key)
            if current is None or _newer(fields, current):
                newest[key] = fields
        self.latest = list(newest.values())


_COLUMNS = ["candidate_id", "key", "value", "is_nan", "timestamp", "step"]
_POSTGRESQL_TYPES = ["int8", "varchar", "float8", "bool", "int8", "int8"]
"""``_COLUMNS``' types in the history table on PostgreSQL, for the binary COPY."""
COPY_FROM_ROWS = 20
"""A COPY waits for the server twice (to start, to finish), an INSERT once: below about twenty rows
(measured with psycopg alone, 1 to 100 rows per transaction) the INSERT is the quicker."""


def log_points(session: Session, candidate_id: int, metrics: MetricBatch | Sequence[MetricPoint]) -> None:
    batch = metrics if isinstance(metrics, MetricBatch) else MetricBatch(metrics)
    if not batch.history:
        return
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql and len(batch.history) < COPY_FROM_ROWS:
        statement = _history_and_latest(connection.dialect, len(batch.history), len(batch.latest))
        values = tuple(value for fields in (*batch.history, *batch.latest) for value in (candidate_id, *fields))
        connection.exec_driver_sql(statement, values)
        return
    dialect = connection.dialect
    history = [(candidate_id, *fields) for fields in batch.history]
    if postgresql:
        copy_rows(session, _HISTORY, _COLUMNS, _POSTGRESQL_TYPES, history)
    else:
        connection.exec_driver_sql(_insert_history(dialect), history)
    connection.exec_driver_sql(_upsert_latest_sql(dialect), [(candidate_id, *fields) for fields in batch.latest])


@functools.cache
def _insert_history(dialect: Dialect) -> str:
    """The history INSERT compiled to the driver's own SQL with positional markers, executed with tuples:
    SQLAlchemy's per-row parameter processing of a compiled statement was a tenth of a 1000-metric
    batch's CPU (``bench.profile log_batch``)."""
    return _driver_sql(insert(_HISTORY).inline(), dialect)


@functools.cache
def _history_and_latest(dialect: Dialect, history_rows: int, latest_rows: int) -> str:
    """PostgreSQL, a batch below ``COPY_FROM_ROWS``: its history INSERT and its latest-value upsert as one
    statement, the INSERT in a data-modifying ``WITH``. One round trip to the server instead of two, on
    every ``runs/log-metric`` (each round trip about 0.1 ms of its ~1.8 ms here). Parameters: the
    history rows, then the latest rows, each as ``_COLUMNS``."""
    into_history, one_history_row = _insert_history(dialect).split(" VALUES ")
    into_latest, rest = _upsert_latest_sql(dialect).split(" VALUES ", 1)
    one_latest_row, on_conflict = rest.split(" ON CONFLICT ", 1)
    return (
        f"WITH history AS ({into_history} VALUES {', '.join([one_history_row] * history_rows)}) "
        f"{into_latest} VALUES {', '.join([one_latest_row] * latest_rows)} ON CONFLICT {on_conflict}"
    )


@functools.cache
def _upsert_latest_sql(dialect: Dialect) -> str:
    """The latest-value upsert as the driver's SQL, executed with tuples like the history: SQLAlchemy's
    per-row parameter processing of the same rows as dicts took 0.30-0.35 ms for 100 keys, the driver
    with tuples 0.14 ms (SQLite, in-process). Either way it is the driver's ``executemany``."""
    return _driver_sql(_UPSERT_LATEST.for_dialect(dialect.name), dialect)


def _driver_sql(statement: Any, dialect: Dialect) -> str:
    """An INSERT of ``_COLUMNS`` compiled to the driver's own SQL with positional markers (``%s`` for
    psycopg, whose SQLAlchemy paramstyle is named), for tuples in ``_COLUMNS`` order."""
    same_dialect: Callable[..., Dialect] = type(dialect)
    positional = dialect if dialect.positional else same_dialect(paramstyle="format")
    compiled = statement.compile(dialect=positional, column_keys=_COLUMNS)
    assert compiled.positiontup == _COLUMNS
    return str(compiled)


def _upsert_latest(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (candidate_id, key) DO UPDATE … WHERE`` the new point is newer."""
    statement = table_upsert(dialect, CandidateLatestMetric)
    new, old = statement.excluded, _LATEST.c
    newer = or_(
        new.step > old.step,
        and_(new.step == old.step, new.timestamp > old.timestamp),
        and_(tuple_(new.step, new.timestamp) == tuple_(old.step, old.timestamp), new.value > old.value),
    )
    return statement.on_conflict_do_update(
        index_elements=[old.candidate_id, old.key],
        set_={"value": new.value, "is_nan": new.is_nan, "timestamp": new.timestamp, "step": new.step},
        where=newer,
    )


_UPSERT_LATEST = Prepared(_upsert_latest)
