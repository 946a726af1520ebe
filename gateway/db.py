"""Database engine, the declarative base and the unit of work.

Owns: engine construction (SQLite pragmas, PostgreSQL pool), the shared ``MetaData`` with a naming
convention, ``Database.unit_of_work()`` — the one place a transaction begins and commits — and the bulk
paths below the ORM: prepared statements, binary ``COPY`` in (``copy_rows``) and long results out a
chunk at a time (``fetch_in_chunks``).
Must not: know any table (tables live in ``tenants`` and ``compat``).

SQLite notes: WAL journal so readers never block the writer; a busy timeout instead of instant
``database is locked`` errors; write transactions start with ``BEGIN IMMEDIATE`` so two writers never
deadlock upgrading a read lock (the classic SQLite ``SQLITE_BUSY`` trap that busy_timeout cannot cure).
Write transactions also queue at a gate first — a lock per process and an ``flock`` on
``<database>.write-lock`` across processes — because SQLite's own busy handler polls with sleeps of
up to 100 ms: with four workers and sixteen clients, writers spent most of their time asleep while
the lock was free (measured with ``bench.profile``). The gate hands the lock over at once; SQLite's
locking still guarantees correctness for writers that bypass it (migrations, the admin CLI).
A unit of work takes the gate with its first statement (the ``BEGIN IMMEDIATE``), not when it opens,
so what a request does before touching the database (checking a 1000-metric batch) runs beside
the writer instead of in its queue; it gives the gate back once its transaction has ended. The WAL
is checkpointed after that, from a thread of its own (``gateway.wal_checkpoint``), not by the commit.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, Select, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from gateway.settings import Settings
from gateway.wal_checkpoint import SAFETY_NET_PAGES, WalCheckpointer

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


_BEGIN_OPTION = "gateway_sqlite_begin"
_GATE_OPTION = "gateway_writer_gate"


def build_engine(settings: Settings) -> Engine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings.sqlite_busy_timeout_ms)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=settings.db_pool_pre_ping and settings.db_pool_ping_idle_s == 0,
        pool_recycle=settings.db_pool_recycle_s or -1,
    )
    if settings.db_pool_pre_ping and settings.db_pool_ping_idle_s > 0:
        ping_when_idle(engine, settings.db_pool_ping_idle_s)
    return engine


_RETURNED_AT = "gateway_returned_at"


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Test a pooled connection before use only if it sat in the pool ``idle_s`` or longer.

    SQLAlchemy's ``pool_pre_ping`` tests every checkout: one more round trip to the server per request,
    about 0.12 ms of a PostgreSQL ``runs/log-metric``'s 1.8 ms on the bench machine (checkout and
    return measured alone: 131 µs with the ping, 13 µs without). A connection given back a moment ago
    was answering then; what the ping is for (a restarted or failed-over server, a connection dropped
    by an idle timeout) shows on connections that sat idle. A server that goes away and comes back
    within ``idle_s`` while requests keep coming costs one failed request per worker: SQLAlchemy then
    recognises the disconnect and replaces every older pooled connection. A connection that fails the
    test is replaced at once (``DisconnectionError`` makes the pool open another).
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < idle_s:
            return  # fresh from connect(), or given back a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection failed its test after {idle_s:g} s idle") from exc


WRITER_CACHE_KIB = 2000  # SQLite's default
READER_CACHE_KIB = 512


def _size_page_cache(conn: Connection, kib: int) -> None:
    """Each SQLite connection has a page cache of its own, and a worker pools up to sixteen. A writer
    needs SQLite's default 2 MB (a 1000-metric batch touches ~1 MB of index pages: 19 % slower with
    512 KB in ``bench.profile log_batch``); a reader scanning a search or a history fills whatever it
    is given, and after the bench's read phases (four at a time per worker) a worker's readers held
    ~8 MB. A connection's cache follows the role of its transaction; shrinking it frees the pages beyond."""
    info = conn.connection.info
    if info.get("cache_kib") != kib:
        conn.exec_driver_sql(f"PRAGMA cache_size=-{kib}")
        info["cache_kib"] = kib


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would otherwise
        # begin lazily and deferred, defeating BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")  # gateway.wal_checkpoint checkpoints
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        gate = options.get(_GATE_OPTION)
        if gate is not None:
            gate.acquire()  # given back by the unit of work's gate scope, once the transaction ended
        mode = options.get(_BEGIN_OPTION, "DEFERRED")
        _size_page_cache(conn, WRITER_CACHE_KIB if mode == "IMMEDIATE" else READER_CACHE_KIB)
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class WriterGate:
    """One SQLite writer at a time: a thread lock inside the process, an ``flock`` across processes.

    ``acquire`` may be called more than once by a thread (a nested write); ``release_all_since`` gives
    back what a thread took since the depth it names.
    """

    def __init__(self, database_path: str | None) -> None:
        self._lock = threading.RLock()
        self._depths = threading.local()
        self._fd: int | None = None
        if database_path:
            self._fd = os.open(database_path + ".write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @property
    def depth(self) -> int:
        """How many times the calling thread holds the gate."""
        depth: int = getattr(self._depths, "value", 0)
        return depth

    def acquire(self) -> None:
        self._lock.acquire()
        if self.depth == 0 and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._lock.release()
                raise
        self._depths.value = self.depth + 1

    def release_all_since(self, depth: int) -> None:
        while self.depth > depth:
            self._depths.value = self.depth - 1
            if self.depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._lock.release()

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Whatever the calling thread takes inside the block is given back when it ends."""
        depth = self.depth
        try:
            yield
        finally:
            self.release_all_since(depth)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    return database if database and database != ":memory:" and not database.startswith("file:") else None


class Database:
    """An engine plus the session factories of the two kinds of unit of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        sqlite_file = _sqlite_file(engine) if self.is_sqlite else None
        self._gate = WriterGate(sqlite_file) if self.is_sqlite else None
        self.checkpointer = WalCheckpointer(sqlite_file) if sqlite_file else None
        writer = (
            engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE", _GATE_OPTION: self._gate})
            if self.is_sqlite
            else engine
        )
        self._reader = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        self._writer = sessionmaker(bind=writer, expire_on_commit=False, autoflush=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(build_engine(settings))

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``write=False`` is for requests that only read; on SQLite it lets them run beside a writer.
        """
        factory = self._writer if write else self._reader
        gate = self._gate.scope() if write and self._gate is not None else nullcontext()
        with gate, factory() as session, session.begin():
            yield session
        if write and self.checkpointer is not None:
            self.checkpointer.committed()  # the gate is given back: the checkpoint waits for no writer

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()
        if self._gate is not None:
            self._gate.close()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


S = TypeVar("S", bound=Executable)


class Prepared(Generic[S]):
    """A statement built once per dialect and reused with bound parameters.

    For the queries of a hot path that fetch or write a row or two: building the SQL expression and
    its cache key each time cost several times the database's own work (``bench.profile``: fetching
    a run by id took 150 µs through a freshly built ORM ``select``, 25 µs through a prepared Core one).
    ``build`` gets the dialect's name (``sqlite`` or ``postgresql``).
    """

    def __init__(self, build: Callable[[str], S]) -> None:
        self._build = build
        self._by_dialect: dict[str, S] = {}

    def __call__(self, session: Session) -> S:
        return self.for_dialect(session.get_bind().dialect.name)

    def for_dialect(self, dialect: str) -> S:
        statement = self._by_dialect.get(dialect)
        if statement is None:
            statement = self._by_dialect[dialect] = self._build(dialect)
        return statement


def upsert_insert(session: Session, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ``on_conflict_do_update`` for the session's database (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def table_of(model: type[Base]) -> Table:
    """A mapped class's table: DML on it runs as a Core statement, not through the ORM's bulk-insert
    machinery (which cost 250 µs per execution of a one-row upsert)."""
    table: Table = model.__table__  # type: ignore[assignment]
    return table


def table_upsert(dialect: str, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """``upsert_insert`` for a ``Prepared`` statement, on the model's table (``table_of``)."""
    table = table_of(model)
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def copy_rows(
    session: Session, table: Table, columns: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL only: insert ``rows`` (tuples in ``columns`` order) with one binary ``COPY … FROM STDIN``.

    For the bulk write of the hot path, a log-batch's metric history. psycopg's ``executemany`` sends
    one INSERT execution per row: 11-13 ms of client CPU and 67-75k rows/s for 1000-row transactions
    on the 2-core bench machine, where a binary COPY of the same rows took 1 ms and ran at 170k rows/s.
    It runs in the session's transaction: a failure rolls the whole unit of work back, as an INSERT's
    would. ``types`` are the columns' PostgreSQL types (``int8``, ``varchar``…): binary COPY sends
    values in exactly those (an int8 for an int4 column is refused, not converted).
    """
    connection = session.connection()
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(column) for column in columns)
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN (FORMAT BINARY)"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(statement) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


@contextmanager
def planned_each_time(session: Session) -> Iterator[None]:
    """PostgreSQL: the statements inside are planned for their parameters on every execution.

    psycopg prepares a statement on the server once it has run it five times on a connection, and after
    five more PostgreSQL may switch that statement to one generic plan, which cannot see the values.
    For a search that is the wrong trade: ``metrics.m > 0.5`` ordered by ``m`` with a page of 100
    walks the ``(key, value)`` index and stops after a page (1.1 ms), but the generic plan expects four
    matching rows and sorts all 5000 that match (10.4 ms; ``EXPLAIN ANALYZE`` of both on the
    ``search_runs`` bench data). Inside this block psycopg sends the statement unnamed, which
    PostgreSQL plans with its parameters each time (~1 ms of planning), as a driver without server-side
    prepared statements always does. SQLite plans every statement for its values anyway.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    threshold = driver.prepare_threshold  # type: ignore[union-attr]
    driver.prepare_threshold = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.prepare_threshold = threshold  # type: ignore[union-attr]


def fetch_in_chunks(session: Session, statement: Select[*tuple[Any, ...]], size: int) -> Iterator[Sequence[Any]]:
    """``statement``'s rows, ``size`` at a time, with the driver holding no more than that.

    For answers of thousands of rows (a metric history). A plain fetch on PostgreSQL keeps the whole
    result in libpq until the cursor closes: 1.6 MB per 10 000 history points, per request in flight.
    libpq's chunked-rows mode (psycopg's ``Cursor.stream``, libpq ≥ 17) receives the same one query's
    rows a chunk at a time: no server-side cursor, no extra round trips. SQLite's cursor steps through
    rows as they are fetched anyway. Read to the end (bound the rows with a LIMIT): leaving a
    PostgreSQL stream early cancels the query, which costs a connection to the server.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql" or not _has_chunked_rows():
        yield from connection.execute(statement).partitions(size)
        return
    compiled = statement.compile(dialect=connection.dialect)
    chunk: list[Any] = []
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        for row in cursor.stream(str(compiled), compiled.params, size=size):
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


@functools.cache
def _has_chunked_rows() -> bool:
    """Whether the loaded libpq has chunked-rows mode: fixed for the life of the process."""
    from psycopg import capabilities

    return capabilities.has_stream_chunked()
