"""The ``mlgateway`` command: bootstrap on the embedded default, migrations, and admin commands."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from gateway.db import Database
from gateway.settings import Settings
from tenants import repository
from tenants.passwords import verify_password
from tests.conftest import POSTGRES_URL_VARIABLE

MLGATEWAY = [sys.executable, "-m", "gateway"]


def run(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(MLGATEWAY + args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(cwd: Path, env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*MLGATEWAY, "serve", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/readiness").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start: {process.communicate()[1][-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_first_serve_bootstraps_root_default_and_prints_client_settings(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path, clean_env(), port) as process:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    uri = re.search(r'export MLFLOW_TRACKING_URI="([^"]+)"', out)
    token = re.search(r'export MLFLOW_TRACKING_TOKEN="([^"]+)"', out)
    assert uri and token, out
    assert uri.group(1) == f"http://127.0.0.1:{port}/api/v4/projects/1/ml/mlflow"
    data = tmp_path / "mlgateway-data"
    assert (data / "bootstrap-token").read_text().strip() == token.group(1)
    for secret_file in ("bootstrap-token", "secret-key"):
        assert stat.S_IMODE((data / secret_file).stat().st_mode) == 0o600

    # A second start reuses everything: same secret, no new token printed, the old token works.
    with serving(tmp_path, clean_env(), port) as process:
        answer = httpx.get(uri.group(1) + "/api/2.0/mlflow/x", headers={"Authorization": f"Bearer {token.group(1)}"})
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert "MLFLOW_TRACKING_TOKEN" not in out


def test_bootstrap_can_be_turned_off(tmp_path: Path) -> None:
    with serving(tmp_path, clean_env(GATEWAY_BOOTSTRAP="false"), free_port()) as process:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert "MLFLOW_TRACKING_TOKEN" not in out
    assert not (tmp_path / "mlgateway-data" / "bootstrap-token").exists()


def test_serve_refuses_an_outdated_configured_database(tmp_path: Path) -> None:
    env = clean_env(GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}", GATEWAY_DATA_DIR=str(tmp_path))
    refused = run(["serve", "--port", str(free_port())], env, tmp_path)
    assert refused.returncode == 2
    assert "mlgateway migrate" in refused.stderr
    migrated = run(["--json", "migrate"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["from"] is None


def test_invalid_setting_is_reported_not_a_traceback(tmp_path: Path) -> None:
    result = run(["migrate"], clean_env(GATEWAY_PORT="eighty"), tmp_path)
    assert result.returncode == 2
    assert "GATEWAY_PORT" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def admin_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Admin commands on the suite's database (PostgreSQL in CI) or a fresh embedded one."""
    if os.environ.get(POSTGRES_URL_VARIABLE):
        return clean_env(GATEWAY_DATABASE_URL=database_url, GATEWAY_DATA_DIR=str(tmp_path))
    return clean_env(GATEWAY_DATA_DIR=str(tmp_path / "data"))


def test_admin_commands_build_a_tenant_whose_token_works(tmp_path: Path, admin_env: dict[str, str]) -> None:
    suffix = os.urandom(3).hex()

    def admin(*args: str, stdin: str | None = None) -> dict[str, object]:
        result = run(["--json", *args], admin_env, tmp_path, stdin)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    alice = admin("users", "create", f"alice-{suffix}", "--password-stdin", stdin="s3cret-password\n")
    admin("users", "create", f"bob-{suffix}")
    group = admin("groups", "create", f"ml-{suffix}/vision")
    assert group["full_path"] == f"ml-{suffix}/vision"
    project = admin("projects", "create", f"ml-{suffix}/vision/detector", "--visibility", "internal")
    assert isinstance(project["id"], int) and project["max_artifacts_size"] is None
    limited = admin("projects", "create", f"ml-{suffix}/vision/small", "--max-artifacts-size", "100")
    assert limited["max_artifacts_size"] == 100
    admin("members", "add", "--group", f"ml-{suffix}", "--user", f"alice-{suffix}", "--role", "developer")
    personal = admin("tokens", "create", "--user", f"alice-{suffix}", "--scopes", "api,read_api", "laptop")
    project_token = admin(
        "tokens",
        "create",
        "--project",
        str(project["id"]),
        "--role",
        "reporter",
        "--scopes",
        "read_api",
        "--expires-at",
        "2999-01-01",
        "ci",
    )
    assert str(personal["token"]).startswith("glpat-")
    listed = admin("tokens", "list")["tokens"]
    trailing = run(["tokens", "list", "--json"], admin_env, tmp_path)  # --json after the command works too
    assert json.loads(trailing.stdout)["tokens"] == listed
    assert isinstance(listed, list)
    assert {t["id"] for t in listed} >= {personal["id"], project_token["id"]}
    assert all("token" not in t for t in listed)
    revoked = admin("tokens", "revoke", str(project_token["id"]))
    assert revoked == {"id": project_token["id"], "revoked": True}
    assert alice["is_admin"] is False
    admin("users", "set-password", f"bob-{suffix}", stdin="a-new-password\n")
    database = Database.from_settings(Settings.from_env(admin_env))
    try:
        with database.unit_of_work(write=False) as session:
            bob = repository.user_by_username(session, f"bob-{suffix}")
            assert bob is not None and verify_password("a-new-password", bob.password_hash)
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["members", "add", "--project", "no/such", "--user", "nobody", "--role", "developer"], "no user"),
        (["members", "add", "--group", "x", "--user", "u", "--role", "boss"], "unknown role"),
        (["projects", "create", "just-a-path"], "NAMESPACE/PATH"),
        (["projects", "create", "no-such-namespace/p"], "Namespace Not Found"),
        (["projects", "create", "root/p", "--max-artifacts-size", "0"], "whole number of megabytes"),
        (["groups", "create", "bad path!"], "invalid"),
        (["tokens", "create", "--user", "nobody", "t"], "no user"),
        (["tokens", "revoke", "999999999"], "no access token"),
        (["users", "set-password", "nobody"], "no user"),
    ],
)
def test_admin_commands_explain_bad_input(
    tmp_path: Path, admin_env: dict[str, str], args: list[str], message: str
) -> None:
    result = run(args, admin_env, tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
