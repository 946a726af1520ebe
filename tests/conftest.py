"""Shared fixtures: one migrated database and one live gateway on loopback per test session.

The database is SQLite in a temporary directory, or — when ``MLGATEWAY_TEST_POSTGRES_URL`` names a
PostgreSQL server (``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) — a fresh database
created on that server for this session and dropped afterwards. Tests never share names: the
``world`` fixture hands out unique users, groups, projects and tokens.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway import migrate
from gateway.db import Database
from gateway.settings import Settings
from tests.support.live_server import LiveServer, start_live_server
from tests.support.world import World

POSTGRES_URL_VARIABLE = "MLGATEWAY_TEST_POSTGRES_URL"


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL' if os.environ.get(POSTGRES_URL_VARIABLE) else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.sqlite3'}"
        return
    name = f"mlgateway_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("data")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key-0123456789abcdef0123456789",
        bootstrap=False,
    )


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def live_server(settings: Settings, database: Database) -> Iterator[LiveServer]:
    with start_live_server(settings, database) as server:
        yield server


@pytest.fixture
def world(database: Database, settings: Settings) -> World:
    return World(database, settings.secret_key_bytes())


# Real MLflow clients (2.7.1 in its own venv, 3.17.2 in .venv) run in subprocesses: tests/support/mlflow_clients.py.
from tests.support.mlflow_clients import MLFLOW_CLIENT_PARAMS, MlflowClientRunner, prepare_mlflow_client  # noqa: E402


@pytest.fixture(scope="session", params=MLFLOW_CLIENT_PARAMS)
def mlflow_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> MlflowClientRunner:
    return prepare_mlflow_client(request.param, tmp_path_factory.mktemp(f"mlflow-{request.param}"))


# Live gateways per artifact store (local files, or moto's S3 on loopback): tests/support/artifact_servers.py.
from tests.support.artifact_servers import STORES, ServerFarm  # noqa: E402


@pytest.fixture(scope="session")
def servers(settings: Settings, database: Database) -> Iterator[ServerFarm]:
    farm = ServerFarm(settings, database)
    yield farm
    farm.close()


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """``local`` or ``s3``: tests that take it (or ``artifact_server``) run once per artifact store."""
    return str(request.param)


@pytest.fixture(scope="session")
def artifact_server(servers: ServerFarm, store_kind: str) -> LiveServer:
    return servers.get(store_kind)


# A live gateway that trusts test CI issuers with keys served on loopback: tests/support/ci_gateway.py.
from tests.support.ci_gateway import CiGateway, start_ci_gateway  # noqa: E402


@pytest.fixture(scope="session")
def ci_gateway(settings: Settings, database: Database) -> Iterator[CiGateway]:
    with start_ci_gateway(settings, database) as gateway:
        yield gateway
