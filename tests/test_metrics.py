"""``/-/metrics``: what moves when, which labels exist (templates, never raw paths or ids), who may scrape.

The session's live servers are shared, so each test compares a scrape after its traffic with one
before. A request is counted just after its last byte is sent, so ``settled`` scrapes again until
the last request of the test shows (the values are then checked exactly).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable

import httpx
import pytest

from gateway.app import create_app
from gateway.db import Database
from gateway.metrics import client_allowed
from gateway.settings import Settings, SettingsError, parse_networks
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.artifact_servers import ServerFarm
from tests.support.live_server import LiveServer, start_live_server
from tests.support.mlflow_clients import CURRENT_VERSION, prepare_mlflow_client
from tests.support.mlflow_http import MlflowHttp
from tests.support.scrape import Scrape, scrape
from tests.support.world import World

MLFLOW = "/api/v4/projects/{project}/ml/mlflow"
REQUESTS = "mlgateway_http_requests_total"


def settled(base_url: str, ready: Callable[[Scrape], bool]) -> Scrape:
    deadline = time.monotonic() + 10
    while not ready(current := scrape(base_url)):
        assert time.monotonic() < deadline, "the metrics never showed the test's last request"
        time.sleep(0.02)
    return current


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.total(name, **labels) - before.total(name, **labels)


def test_requests_are_counted_by_route_template_method_and_status_class(live_server: LiveServer, world: World) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    http = MlflowHttp(live_server, project.id, token)
    before = scrape(live_server.base_url)
    experiment = http.experiment()
    assert http.get("/experiments/get", experiment_id=experiment).status_code == 200
    assert http.get("/runs/get", run_id="f" * 32).status_code == 404
    assert httpx.get(f"{live_server.base_url}/nowhere/{token}/{project.id}").status_code == 404
    last = {"route": f"{MLFLOW}/api/2.0/mlflow/runs/get", "method": "GET", "status_class": "4xx"}
    after = settled(live_server.base_url, lambda s: delta(before, s, REQUESTS, **last) == 1)

    create = {"route": f"{MLFLOW}/api/2.0/mlflow/experiments/create", "method": "POST"}
    assert delta(before, after, REQUESTS, **create, status_class="2xx") == 1
    assert delta(before, after, REQUESTS, route="<unmatched>", method="GET", status_class="4xx") == 1
    latency = "mlgateway_http_request_duration_seconds_count"
    assert delta(before, after, latency, **create, status_class="2xx") == 1
    operations = "mlgateway_mlflow_operations_total"
    assert delta(before, after, operations, endpoint="/api/2.0/mlflow/experiments/get", method="GET") == 1
    assert delta(before, after, operations, endpoint="/api/2.0/mlflow/runs/get", status_class="4xx") == 1


def test_labels_hold_route_templates_only_never_paths_ids_or_tokens(
    live_server: LiveServer, world: World, database: Database
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    http = MlflowHttp(live_server, project.full_path.replace("/", "%2F"), token)
    http.run(http.experiment())
    before = scrape(live_server.base_url)
    httpx.get(f"{live_server.base_url}/nowhere/{token}")
    member = "/api/v4/projects/{project}/members/{user_id}"
    httpx.get(f"{live_server.base_url}/api/v4/projects/{project.id}/members/{token}", headers=http.headers)
    after = settled(live_server.base_url, lambda s: delta(before, s, REQUESTS, route=member) == 1)

    templates = {getattr(route, "path", "") for route in create_app(live_server.settings, database=database).routes}
    assert after.label_values(REQUESTS, "route") <= templates | {"<unmatched>"}
    endpoints = after.label_values("mlgateway_mlflow_operations_total", "endpoint")
    assert endpoints and {MLFLOW + e for e in endpoints} <= templates
    assert token not in after.text and project.full_path not in after.text
    assert f"projects/{project.id}" not in after.text


def test_rows_written_count_what_successful_writes_stored(live_server: LiveServer, world: World) -> None:
    project = world.project()
    http = MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    run_id = http.run(tags=[{"key": "a", "value": "1"}])["info"]["run_id"]
    before = scrape(live_server.base_url)
    batch = {
        "run_id": run_id,
        "metrics": [{"key": f"m{i}", "value": i, "timestamp": 1, "step": 0} for i in range(3)],
        "params": [{"key": "p1", "value": "x"}, {"key": "p2", "value": "y"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    http.ok("/runs/log-batch", batch)
    http.ok("/runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 2})
    refused = {**batch, "metrics": [{"key": "bad", "value": "not a number", "timestamp": 1}]}
    assert http.post("/runs/log-batch", refused).status_code == 400
    log_batch = {"route": f"{MLFLOW}/api/2.0/mlflow/runs/log-batch", "status_class": "4xx"}
    after = settled(live_server.base_url, lambda s: delta(before, s, REQUESTS, **log_batch) == 1)

    rows = "mlgateway_rows_written_total"
    assert delta(before, after, rows, kind="metrics") == 4
    assert delta(before, after, rows, kind="params") == 2
    assert delta(before, after, rows, kind="tags") == 1


def test_auth_failures_are_counted_by_reason(live_server: LiveServer, world: World) -> None:
    project = world.project()
    user = world.user(password="correct horse battery")
    world.member(user, Role.REPORTER, project=project)
    url = live_server.project_url(project.id) + "/api/2.0/mlflow/experiments/create"
    basic = base64.b64encode(f"{user.username}:wrong password".encode()).decode()
    reader = world.token(user)
    read_only = world.member_token(project, Role.DEVELOPER, scopes=("read_api",))
    before = scrape(live_server.base_url)
    calls = [
        ({}, "missing_credentials", 401),
        ({"Authorization": "Bearer glpat-not-a-real-token"}, "invalid_token", 401),
        ({"Authorization": f"Basic {basic}"}, "wrong_password", 401),
        ({"Authorization": "Basic !!!"}, "malformed_credentials", 401),
        ({"Authorization": f"Bearer {reader}"}, "forbidden", 403),
        ({"Authorization": f"Bearer {read_only}"}, "insufficient_scope", 403),
    ]
    for headers, _, status in calls:
        assert httpx.post(url, json={"name": "x"}, headers=headers).status_code == status
    failures = "mlgateway_auth_failures_total"
    after = settled(live_server.base_url, lambda s: delta(before, s, failures, reason="insufficient_scope") == 1)
    for _, reason, _ in calls:
        assert delta(before, after, failures, reason=reason) == 1, reason
    assert reader not in after.text and read_only not in after.text


def test_database_pool_readiness_and_build_info_are_exported(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.base_url}/-/readiness").status_code == 200
    current = scrape(live_server.base_url)
    for check in ("database", "artifact_store"):
        assert current.value("mlgateway_readiness_ok", check=check) == 1
    dialect = "sqlite" if live_server.settings.is_sqlite else "postgresql"
    assert current.value("mlgateway_db_pool_size", dialect=dialect) >= 1
    assert current.value("mlgateway_db_pool_checked_out", dialect=dialect) >= 0
    assert ("mlgateway_db_pool_overflow", frozenset({("dialect", dialect)})) in current.samples
    [build] = [labels for name, labels in current.samples if name == "mlgateway_build_info"]
    assert dict(build)["version"] and dict(build)["python"].count(".") == 2


def test_each_app_has_its_own_registry(live_server: LiveServer, settings: Settings, database: Database) -> None:
    health = {"route": "/-/liveness", "method": "GET", "status_class": "2xx"}
    for _ in range(5):
        httpx.get(f"{live_server.base_url}/-/liveness")
    with start_live_server(settings, database) as other:
        for _ in range(3):
            httpx.get(f"{other.base_url}/-/liveness")
        mine = settled(other.base_url, lambda s: s.total(REQUESTS, **health) == 3)
        assert mine.total(REQUESTS, **health) == 3
    # Not a count of one registry shared by both apps: the first server's own count has its five (and more).
    settled(live_server.base_url, lambda s: s.total(REQUESTS, **health) >= 5)


# ---------------------------------------------------------------------------------------- artifacts
@pytest.mark.parametrize("store", ["local", "s3"])
def test_artifact_bytes_and_objects_by_store(servers: ServerFarm, world: World, store: str) -> None:
    # A server of its own (an override no other test asks for), so that only this test's requests move
    # its counters: on the shared server a CI run once never settled (a late request of another test,
    # most likely; not confirmed).
    server = servers.get(store, metrics_token="")
    project = world.project()
    http = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = http.new_run()
    before = scrape(server.base_url)
    assert http.put(f"{root}/blob.bin", b"x" * 5000).status_code == 200
    assert http.get(f"{root}/blob.bin").content == b"x" * 5000
    assert http.get(f"{root}/blob.bin").status_code == 200
    download = {"route": f"{MLFLOW}/api/2.0/mlflow-artifacts/artifacts/{{path:path}}", "method": "GET"}
    moved = "mlgateway_artifact_bytes_total"
    # A download's bytes are counted once its send returns, which may be after its request is counted.
    after = settled(
        server.base_url,
        lambda s: (
            delta(before, s, REQUESTS, **download) == 2
            and delta(before, s, moved, store=store, direction="out") >= 10000
        ),
    )
    assert delta(before, after, moved, store=store, direction="in") == 5000
    assert delta(before, after, moved, store=store, direction="out") == 10000
    assert delta(before, after, "mlgateway_artifact_objects_written_total", store=store) == 1


# ---------------------------------------------------------------------------------------- access
def test_metrics_token_is_required_when_set(settings: Settings, database: Database) -> None:
    secret = "metrics-token-0123456789"
    with start_live_server(dataclasses.replace(settings, metrics_token=secret), database) as server:
        url = f"{server.base_url}/-/metrics"
        assert httpx.get(url).status_code == 403
        refused = httpx.get(url, headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 403 and "mlgateway" not in refused.text
        assert httpx.get(url, headers={"Authorization": f"Basic {secret}"}).status_code == 403
        assert scrape(server.base_url, Authorization=f"Bearer {secret}").total("mlgateway_build_info") == 1


def test_without_a_token_only_allowed_networks_may_scrape(settings: Settings, database: Database) -> None:
    with start_live_server(dataclasses.replace(settings, metrics_allow="10.0.0.0/8,fd00::/8"), database) as server:
        refused = httpx.get(f"{server.base_url}/-/metrics")
        assert refused.status_code == 403 and "mlgateway" not in refused.text
        assert httpx.get(f"{server.base_url}/-/readiness").status_code == 200  # probes stay open


def test_default_allow_list_is_loopback_and_private_ranges() -> None:
    networks = Settings().metrics_networks
    for host in ("127.0.0.1", "::1", "10.1.2.3", "172.16.0.9", "172.31.255.1", "192.168.1.1", "fd12::1"):
        assert client_allowed(host, networks), host
    for host in ("8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8", "", None, "unix-socket"):
        assert not client_allowed(host, networks), host
    assert client_allowed("::ffff:10.0.0.1", networks)  # an IPv4 client on a dual-stack socket


def test_allow_list_setting_is_validated() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.0/8 , 192.0.2.7")] == ["10.0.0.0/8", "192.0.2.7/32"]
    with pytest.raises(SettingsError, match="GATEWAY_METRICS_ALLOW"):
        Settings.from_env({"GATEWAY_METRICS_ALLOW": "10.0.0.0/8,not-a-network"})


def test_several_workers_refuse_to_answer_for_one_of_them(settings: Settings, database: Database) -> None:
    """With ``GATEWAY_WORKERS`` > 1 a scrape would reach one worker at random: 503 instead of a wrong answer."""
    with start_live_server(dataclasses.replace(settings, workers=2), database) as server:
        answer = httpx.get(f"{server.base_url}/-/metrics")
        assert answer.status_code == 503 and "one worker per container" in answer.text
        assert "mlgateway_" not in answer.text


# ---------------------------------------------------------------------------------------- acceptance
@pytest.mark.slow
def test_a_scrape_shows_mlflow_calls_auth_failures_and_artifact_bytes_moving(
    servers: ServerFarm, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = servers.get("s3")
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    client = prepare_mlflow_client(CURRENT_VERSION, tmp_path_factory.mktemp("metrics-client"))
    before = scrape(server.base_url)
    client.run(
        """
        import mlflow, pathlib, tempfile
        work = pathlib.Path(tempfile.mkdtemp())
        (work / "model.txt").write_text("weights" * 1000)
        mlflow.set_experiment("metrics-acceptance")
        with mlflow.start_run() as run:
            mlflow.log_params({"alpha": 0.5, "layers": 3})
            mlflow.log_metrics({"loss": 0.25, "acc": 0.9})
            mlflow.log_artifact(str(work / "model.txt"))
        path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="model.txt")
        emit(pathlib.Path(path).read_text() == "weights" * 1000)
        """,
        tracking_uri=server.project_url(project.id),
        token=token,
    )
    denied = httpx.get(server.project_url(project.id) + "/api/2.0/mlflow/experiments/search")
    assert denied.status_code == 401
    failures = "mlgateway_auth_failures_total"
    after = settled(server.base_url, lambda s: delta(before, s, failures, reason="missing_credentials") == 1)

    operations = "mlgateway_mlflow_operations_total"
    assert delta(before, after, operations, endpoint="/api/2.0/mlflow/runs/create", status_class="2xx") == 1
    assert delta(before, after, operations, endpoint="/api/2.0/mlflow/runs/log-batch", status_class="2xx") >= 1
    assert delta(before, after, "mlgateway_rows_written_total", kind="params") == 2
    assert delta(before, after, "mlgateway_artifact_bytes_total", store="s3", direction="in") == 7000
    assert delta(before, after, "mlgateway_artifact_bytes_total", store="s3", direction="out") == 7000
    assert delta(before, after, "mlgateway_artifact_objects_written_total", store="s3") == 1
