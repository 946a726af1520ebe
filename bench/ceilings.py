"""What the machine itself can do: the raw database insert ceiling and raw disk speed.

- Database: metric-history-shaped rows (run id, key, value, is_nan, timestamp, step; the same
  ``(candidate, key, step, timestamp)`` index as the gateway's history table) inserted straight
  through the driver, 1000 rows per transaction, for a fixed time window. SQLite in WAL mode with
  ``synchronous=NORMAL`` (the gateway's pragmas) through ``sqlite3.executemany``; PostgreSQL through
  psycopg's ``executemany`` (pipelined). No HTTP, no JSON, no ORM: a ceiling, not a target.
  That is the issue's "batched inserts" ceiling, which the log_batch target is judged against. On
  PostgreSQL the same rows are also sent as binary ``COPY`` (``copy_rows_per_s``), the gateway's own
  path for batches since it measured 2-3x the INSERTs: the report shows both.
- Disk: the artifact benchmark's measure (``bench.artifacts.raw_local``): the payload written in
  8 MiB chunks and fsynced, then dropped from the page cache and read back from the disk.
  ``bench.compare`` measures it once per artifact round, just before the servers' transfers of that
  round, so that both see the same disk: this one is fast or slow by the minute.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROWS_PER_TRANSACTION = 1000
TABLE = "bench_raw_metrics"


def _rows(batch: int, run: int) -> list[tuple[Any, ...]]:
    base = batch * 10
    return [
        (run, f"k{k}", (k * 7919 + s) % 1000 / 1000, False, 1_700_000_000_000 + base + s, base + s)
        for s in range(10)
        for k in range(ROWS_PER_TRANSACTION // 10)
    ]


def sqlite_ceiling(path: Path, seconds: float) -> dict[str, Any]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, candidate_id BIGINT NOT NULL, key VARCHAR(250) NOT NULL, "
        "value FLOAT NOT NULL, is_nan BOOLEAN NOT NULL, timestamp BIGINT NOT NULL, step BIGINT NOT NULL)"
    )
    conn.execute(f"CREATE INDEX ix_{TABLE} ON {TABLE} (candidate_id, key, step, timestamp)")
    sql = f"INSERT INTO {TABLE} (candidate_id, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)"
    rows, batches, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        data = _rows(batches, batches % 16)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, data)
        conn.execute("COMMIT")
        rows += len(data)
        batches += 1
    elapsed = time.perf_counter() - started
    conn.close()
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)  # the next measurement starts from an empty file again
    return {"rows": rows, "seconds": round(elapsed, 3), "rows_per_s": round(rows / elapsed)}


def postgres_ceiling(url: str, seconds: float) -> dict[str, Any]:
    import psycopg

    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        conn.execute(
            f"CREATE TABLE {TABLE} (id BIGSERIAL PRIMARY KEY, candidate_id BIGINT NOT NULL, "
            "key VARCHAR(250) NOT NULL, value DOUBLE PRECISION NOT NULL, is_nan BOOLEAN NOT NULL, "
            "timestamp BIGINT NOT NULL, step BIGINT NOT NULL)"
        )
        conn.execute(f"CREATE INDEX ix_{TABLE} ON {TABLE} (candidate_id, key, step, timestamp)")
        conn.commit()
        sql = f"INSERT INTO {TABLE} (candidate_id, key, value, is_nan, timestamp, step) VALUES (%s, %s, %s, %s, %s, %s)"
        copy = f"COPY {TABLE} (candidate_id, key, value, is_nan, timestamp, step) FROM STDIN (FORMAT BINARY)"

        def insert(data: list[tuple[Any, ...]]) -> None:
            with conn.cursor() as cursor:
                cursor.executemany(sql, data)

        def copy_in(data: list[tuple[Any, ...]]) -> None:
            with conn.cursor() as cursor, cursor.copy(copy) as rows_in:
                rows_in.set_types(["int8", "varchar", "float8", "bool", "int8", "int8"])
                for row in data:
                    rows_in.write_row(row)

        try:
            result = _timed_transactions(conn, insert, seconds)
            result["copy_rows_per_s"] = _timed_transactions(conn, copy_in, seconds)["rows_per_s"]
        finally:
            conn.rollback()
            conn.execute(f"DROP TABLE {TABLE}")
            conn.commit()
    return result


def _timed_transactions(conn: Any, write: Callable[[list[tuple[Any, ...]]], None], seconds: float) -> dict[str, Any]:
    rows, batches, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        data = _rows(batches, batches % 16)
        write(data)
        conn.commit()
        rows += len(data)
        batches += 1
    elapsed = time.perf_counter() - started
    return {"rows": rows, "seconds": round(elapsed, 3), "rows_per_s": round(rows / elapsed)}


def highest(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of several ceiling measurements, each rate its own highest, with every run's rows/s
    kept beside it: a ceiling measured while the machine was busy must not make the target easier."""
    best = dict(max(measured, key=lambda result: result["rows_per_s"]))
    best["rows_per_s_each"] = [result["rows_per_s"] for result in measured]
    if all("copy_rows_per_s" in result for result in measured):
        best["copy_rows_per_s"] = max(result["copy_rows_per_s"] for result in measured)
    return best


def disk_speed(directory: Path, size_bytes: int) -> dict[str, Any]:
    """One fsynced write and one read from the disk of ``size_bytes``."""
    from bench.artifacts import Payload, raw_local

    write, read = raw_local(Payload(size_bytes), directory)
    return disk_over_rounds([(write.seconds, read.seconds)], size_bytes)


def paired_shares(disk_rounds: list[tuple[float, float]], transfers: list[Any]) -> dict[str, list[float]]:
    """Per round, the raw disk's time over the server's for the same bytes in the same round:
    ``artifact_upload`` against the write, ``artifact_download`` against the read (a failed transfer
    is left out). Shown beside the verdict, which is on the totals (``bench.report``)."""
    shares: dict[str, list[float]] = {"artifact_upload": [], "artifact_download": []}
    for (write_s, read_s), transfer in zip(disk_rounds, transfers, strict=True):
        if transfer.upload_ms:
            shares["artifact_upload"].append(round(write_s * 1000 / transfer.upload_ms, 3))
        if transfer.download_ms:
            shares["artifact_download"].append(round(read_s * 1000 / transfer.download_ms, 3))
    return shares


def disk_over_rounds(rounds: list[tuple[float, float]], size_bytes: int) -> dict[str, Any]:
    """``(write seconds, read seconds)`` of rounds of ``size_bytes`` as one speed each: all the bytes over
    all the time, as the artifact transfers they are compared with are summed."""
    write_s, read_s = sum(r[0] for r in rounds), sum(r[1] for r in rounds)
    return {
        "bytes": size_bytes,
        "rounds": len(rounds),
        "write_mib_per_s": round(len(rounds) * size_bytes / 2**20 / write_s, 1),
        "read_mib_per_s": round(len(rounds) * size_bytes / 2**20 / read_s, 1),
        "write_mib_per_s_each": [round(size_bytes / 2**20 / r[0], 1) for r in rounds],
        "read_mib_per_s_each": [round(size_bytes / 2**20 / r[1], 1) for r in rounds],
    }
