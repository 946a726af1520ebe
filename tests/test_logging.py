"""Logs: one JSON access line per request with who and where (ids and templates), structured error
lines with the request id, and never a token, a password or an Authorization header — in any logger.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.app import create_app
from gateway.db import Database
from gateway.logging import JSONFormatter
from gateway.settings import Settings
from tenants.roles import Role
from tests.support.live_server import LiveServer, start_live_server
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World


def wait_for_access_lines(caplog: pytest.LogCaptureFixture, request_ids: set[str]) -> list[logging.LogRecord]:
    """The server logs a request just after its last byte: wait until every id has its line."""
    deadline = time.monotonic() + 10
    while True:
        lines = [
            r for r in caplog.records if r.name == "gateway.access" and getattr(r, "request_id", "") in request_ids
        ]
        if {getattr(r, "request_id", "") for r in lines} >= request_ids:
            return lines
        assert time.monotonic() < deadline, "some requests never got their access-log line"
        time.sleep(0.01)


def test_access_line_has_every_field_as_json(
    live_server: LiveServer, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    http = MlflowHttp(live_server, project.id, token)
    http.headers["X-Request-Id"] = "fields-1"
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        assert http.post("/experiments/create", {"name": "logged"}).status_code == 200
        [record] = wait_for_access_lines(caplog, {"fields-1"})
    line = orjson.loads(JSONFormatter().format(record))
    assert line["route"] == "/api/v4/projects/{project}/ml/mlflow/api/2.0/mlflow/experiments/create"
    assert (line["method"], line["status"], line["project_id"]) == ("POST", 200, project.id)
    assert isinstance(line["principal_id"], int) and isinstance(line["token_id"], int)
    assert line["bytes_in"] == len(b'{"name":"logged"}') and line["bytes_out"] > 0
    assert line["duration_ms"] >= 0 and line["level"] == "info" and line["message"] == "request"


def test_no_secret_reaches_any_log(
    live_server: LiveServer, world: World, settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    project = world.project()
    password = "correct horse battery staple"
    user = world.user(password=password)
    world.member(user, Role.DEVELOPER, project=project)
    token = world.token(user)
    secrets = {
        token,
        password,
        "wrong horse battery staple",
        "glpat-unknown-token-value",
        "metrics-secret-0123456789",
    }
    url = live_server.project_url(project.id) + "/api/2.0/mlflow/experiments/search"

    def basic(secret: str) -> str:
        return "Basic " + base64.b64encode(f"{user.username}:{secret}".encode()).decode()

    calls = [
        {"Authorization": f"Bearer {token}"},
        {"PRIVATE-TOKEN": token},
        {"Authorization": basic(password)},
        {"Authorization": basic("wrong horse battery staple")},
        {"Authorization": basic(token)},
        {"Authorization": "Bearer glpat-unknown-token-value"},
    ]
    ids = set()
    with caplog.at_level(logging.DEBUG):
        for number, headers in enumerate(calls):
            ids.add(f"secret-{number}")
            httpx.get(url, headers={**headers, "X-Request-Id": f"secret-{number}"})
        metrics_settings = dataclasses.replace(settings, metrics_token="metrics-secret-0123456789")
        with start_live_server(metrics_settings, database) as guarded:
            for header in ("Bearer metrics-secret-0123456789", "Bearer metrics-secret-0123456789x"):
                httpx.get(f"{guarded.base_url}/-/metrics", headers={"Authorization": header, "X-Request-Id": "m"})
            ids.add("m")
            wait_for_access_lines(caplog, ids)
        output = "\n".join(JSONFormatter().format(record) for record in caplog.records)
    assert len(wait_for_access_lines(caplog, ids)) == len(calls) + 2
    for secret in secrets:
        assert secret not in output
    assert "authorization" not in output.lower() and "private-token" not in output.lower()


def test_unhandled_errors_are_logged_as_json_with_the_request_id(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture, world: World
) -> None:
    async def broken(_: Request) -> Response:
        raise RuntimeError("the handler broke")

    app = create_app(settings, database=database)
    app.router.routes.append(Route("/-/broken/{thing}", broken))
    token = world.token(world.user())
    with caplog.at_level(logging.INFO), start_live_server(settings, database, app=app) as server:
        answer = httpx.get(
            f"{server.base_url}/-/broken/x", headers={"X-Request-Id": "boom-1", "Authorization": f"Bearer {token}"}
        )
        [access] = wait_for_access_lines(caplog, {"boom-1"})
    assert answer.status_code == 500 and "boom-1" in answer.json()["message"]
    assert "the handler broke" not in answer.text  # the details are for the log, not the caller
    [error] = [r for r in caplog.records if r.name == "gateway.errors"]
    line = orjson.loads(JSONFormatter().format(error))
    assert (line["level"], line["request_id"], line["method"]) == ("error", "boom-1", "GET")
    assert line["route"] == "/-/broken/{thing}" and "RuntimeError: the handler broke" in line["error"]
    assert getattr(access, "status", None) == 500
    everything = "\n".join(JSONFormatter().format(record) for record in caplog.records)
    assert token not in everything
