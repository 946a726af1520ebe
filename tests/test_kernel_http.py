"""Kernel HTTP behaviour: request ids, the access log, the body-size limit and error dialects."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.world import World


def test_request_id_is_echoed_when_sane_and_made_otherwise(live_server: LiveServer) -> None:
    url = f"{live_server.base_url}/-/liveness"
    assert httpx.get(url, headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = httpx.get(url, headers={"X-Request-Id": "evil value; drop"}).headers["x-request-id"]
    assert made != "evil value; drop" and len(made) == 32


def test_access_log_names_route_and_caller_but_never_the_token(
    live_server: LiveServer, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        httpx.get(
            live_server.project_url(project.id) + "/api/2.0/mlflow/nothing-here",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "log-check-1"},
        )
        # The server writes the line just after the last byte is sent: give it a moment on a busy machine.
        deadline = time.monotonic() + 5
        while not (records := [r for r in caplog.records if getattr(r, "request_id", None) == "log-check-1"]):
            assert time.monotonic() < deadline, "no access log line for the request"
            time.sleep(0.01)
    [record] = records
    assert record.route == "/api/v4/projects/{project}/ml/mlflow/{rest:path}"  # type: ignore[attr-defined]
    assert record.status == 404  # type: ignore[attr-defined]
    assert record.project_id == project.id  # type: ignore[attr-defined]
    assert record.principal_id is not None and record.token_id is not None  # type: ignore[attr-defined]
    assert token not in str(vars(record))


def test_oversize_body_is_refused_before_it_is_read(live_server: LiveServer, world: World) -> None:
    token = world.member_token(world.project(), Role.DEVELOPER)
    limit = live_server.settings.max_body_bytes
    answer = httpx.post(
        live_server.project_url(1) + "/api/2.0/mlflow/runs/log-batch",
        content=b"{" + b" " * limit + b"}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert "GATEWAY_MAX_BODY_BYTES" in answer.json()["message"]


def test_unknown_paths_answer_in_the_dialect_of_their_prefix(live_server: LiveServer) -> None:
    gitlab_style = httpx.get(f"{live_server.base_url}/api/v4/no-such-resource")
    assert gitlab_style.status_code == 404 and "message" in gitlab_style.json()
    assert "error_code" not in gitlab_style.json()
