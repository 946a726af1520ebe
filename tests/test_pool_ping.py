"""``gateway.db.ping_when_idle``: a pooled connection is tested before use only after sitting idle, and one
that fails its test is replaced without the request seeing an error."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from gateway.db import build_engine, ping_when_idle
from gateway.settings import Settings, SettingsError


def ping_when_idle_counted(monkeypatch: pytest.MonkeyPatch, engine: Engine, idle_s: float) -> list[Any]:
    """``ping_when_idle(engine, idle_s)``; returns the driver connections tested, in order."""
    ping_when_idle(engine, idle_s)
    pings: list[Any] = []
    real = engine.dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    return pings


def driver_connection(engine: Engine) -> Any:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        return conn.connection.dbapi_connection


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0)


def test_a_connection_given_back_a_moment_ago_is_used_without_a_test(
    monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine
) -> None:
    pings = ping_when_idle_counted(monkeypatch, sqlite_engine, 60)
    first = driver_connection(sqlite_engine)
    assert all(driver_connection(sqlite_engine) is first for _ in range(5))
    assert pings == []


def test_an_idle_connection_is_tested_and_replaced_when_it_fails(
    monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine
) -> None:
    pings = ping_when_idle_counted(monkeypatch, sqlite_engine, 0.05)
    dropped = driver_connection(sqlite_engine)
    dropped.close()  # as a restarted server or an idle timeout would leave it
    time.sleep(0.1)
    replacement = driver_connection(sqlite_engine)  # no error reaches the caller
    assert replacement is not dropped
    assert pings == [dropped]


def test_an_idle_connection_that_answers_is_kept(monkeypatch: pytest.MonkeyPatch, sqlite_engine: Engine) -> None:
    pings = ping_when_idle_counted(monkeypatch, sqlite_engine, 0.05)
    first = driver_connection(sqlite_engine)
    time.sleep(0.1)
    assert driver_connection(sqlite_engine) is first
    assert pings == [first]


def test_a_postgresql_backend_killed_while_idle_is_replaced(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (MLGATEWAY_TEST_POSTGRES_URL)")
    engine = build_engine(dataclasses.replace(settings, db_pool_ping_idle_s=0.05))
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = create_engine(settings.effective_database_url, poolclass=NullPool)
        with killer.connect() as other:  # another session ends the pooled connection's server process
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        time.sleep(0.1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()


def test_zero_idle_tests_every_checkout_and_the_setting_is_checked(settings: Settings) -> None:
    assert Settings.from_env({"GATEWAY_DB_POOL_PING_IDLE_S": "0"}).db_pool_ping_idle_s == 0
    with pytest.raises(SettingsError, match="GATEWAY_DB_POOL_PING_IDLE_S"):
        Settings.from_env({"GATEWAY_DB_POOL_PING_IDLE_S": "-1"})
    if settings.effective_database_url.startswith("postgresql"):
        every = build_engine(dataclasses.replace(settings, db_pool_ping_idle_s=0))
        idle = build_engine(settings)
        try:
            assert every.pool._pre_ping and not idle.pool._pre_ping
        finally:
            every.dispose()
            idle.dispose()
