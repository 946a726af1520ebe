"""MLflow ``experiments/*`` over HTTP: semantics, bad input and cross-project isolation.

(The real MLflow clients, 2.7.1 and 3.x, drive the same endpoints in test_mlflow_client_*.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique


def experiments_api(server: LiveServer, project: object, token: str) -> MlflowHttp:
    return MlflowHttp(server, project, token, api="/api/2.0/mlflow/experiments")


@pytest.fixture
def client(live_server: LiveServer, world: World) -> MlflowHttp:
    project = world.project()
    return experiments_api(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def create(client: MlflowHttp, name: str | None = None, **extra: Any) -> str:
    answer = client.post("/create", {"name": name or unique("exp"), **extra})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["experiment_id"])


def test_create_get_and_get_by_name(client: MlflowHttp) -> None:
    name = unique("exp")
    experiment_id = create(client, name, tags=[{"key": "team", "value": "vision"}], artifact_location="s3://ignored")
    got = client.get("/get", experiment_id=experiment_id).json()["experiment"]
    assert got["name"] == name and got["lifecycle_stage"] == "active"
    assert got["tags"] == [{"key": "team", "value": "vision"}]
    assert got["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert got["creation_time"] == got["last_update_time"] > 0
    assert client.get("/get-by-name", experiment_name=name).json()["experiment"] == got


def test_ids_count_up_per_project(live_server: LiveServer, world: World) -> None:
    first = world.project()
    second = world.project()
    a = experiments_api(live_server, first.id, world.member_token(first, Role.DEVELOPER))
    b = experiments_api(live_server, second.id, world.member_token(second, Role.DEVELOPER))
    assert [create(a), create(a), create(b)] == ["1", "2", "1"]


def test_missing_experiments_are_resource_does_not_exist(client: MlflowHttp) -> None:
    by_id = client.get("/get", experiment_id="987654")
    by_name = client.get("/get-by-name", experiment_name="nope")
    assert by_id.status_code == by_name.status_code == 404
    assert by_id.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No Experiment with id=987654 exists"}
    assert by_name.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_duplicate_name_is_resource_already_exists(client: MlflowHttp) -> None:
    name = unique("exp")
    create(client, name)
    again = client.post("/create", {"name": name})
    assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")


def test_soft_delete_restore_and_list(client: MlflowHttp) -> None:
    experiment_id = create(client)
    assert client.post("/delete", {"experiment_id": experiment_id}).json() == {}
    assert client.get("/get", experiment_id=experiment_id).json()["experiment"]["lifecycle_stage"] == "deleted"
    listed = client.get("/list").json()["experiments"]
    assert experiment_id not in [e["experiment_id"] for e in listed]
    deleted = client.get("/list", view_type="DELETED_ONLY").json()["experiments"]
    assert [e["experiment_id"] for e in deleted] == [experiment_id]
    tagged = client.post("/set-experiment-tag", {"experiment_id": experiment_id, "key": "k", "value": "v"})
    assert tagged.status_code == 400
    client.post("/restore", {"experiment_id": experiment_id})
    assert client.get("/get", experiment_id=experiment_id).json()["experiment"]["lifecycle_stage"] == "active"


def test_rename_and_tags_upsert_and_delete(client: MlflowHttp) -> None:
    experiment_id = create(client)
    new_name = unique("renamed")
    assert client.post("/update", {"experiment_id": experiment_id, "new_name": new_name}).status_code == 200
    for value in ("one", "two"):  # MLflow upserts; GitLab would refuse the second
        answer = client.post("/set-experiment-tag", {"experiment_id": experiment_id, "key": "k", "value": value})
        assert answer.status_code == 200
    got = client.get("/get", experiment_id=experiment_id).json()["experiment"]
    assert (got["name"], got["tags"]) == (new_name, [{"key": "k", "value": "two"}])
    assert client.post("/delete-tag", {"experiment_id": experiment_id, "key": "k"}).status_code == 200
    missing = client.post("/delete-tag", {"experiment_id": experiment_id, "key": "k"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/create", {}, "Missing value for required parameter 'name'"),
        ("/create", {"name": ""}, "Missing value for required parameter 'name'"),
        ("/create", {"name": 42}, "expected a string"),
        ("/create", {"name": "x" * 501}, "longer than 500"),
        ("/create", {"name": "t", "tags": "nope"}, "expected a list"),
        ("/create", {"name": "t", "tags": [{"key": "bad\nkey", "value": "v"}]}, "Invalid tag name"),
        ("/create", {"name": "t", "tags": [{"key": "k", "value": "v" * 8001}]}, "limit is 8000"),
        ("/create", {"name": "t", "tags": [{"key": "k" * 251, "value": "v"}]}, "limit is 250"),
        ("/update", {"experiment_id": "abc", "new_name": "x"}, "ids are positive integers"),
        ("/delete", {}, "Missing value for required parameter 'experiment_id'"),
        ("/set-experiment-tag", {"experiment_id": "1", "key": "k"}, "Missing value for required parameter 'value'"),
    ],
)
def test_bad_input_is_a_clear_400(client: MlflowHttp, path: str, body: dict[str, Any], fragment: str) -> None:
    answer = client.post(path, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fragment in answer.json()["message"]


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b'"text"'])
def test_malformed_json_is_a_400_and_writes_nothing(client: MlflowHttp, payload: bytes) -> None:
    before = client.get("/list").json()["experiments"]
    answer = client.post("/create", content=payload)
    assert (answer.status_code, answer.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert client.get("/list").json()["experiments"] == before


def test_reporter_reads_but_cannot_write(live_server: LiveServer, world: World) -> None:
    project = world.project()
    owner = experiments_api(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    reporter = experiments_api(live_server, project.id, world.member_token(project, Role.REPORTER))
    read_only = experiments_api(
        live_server, project.id, world.member_token(project, Role.MAINTAINER, scopes=("read_api",))
    )
    experiment_id = create(owner)
    assert reporter.get("/get", experiment_id=experiment_id).status_code == 200
    for who in (reporter, read_only):
        answer = who.post("/create", {"name": unique("exp")})
        assert (answer.status_code, answer.json()["error_code"]) == (403, "PERMISSION_DENIED")


ISOLATION_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/get", {}),
    ("POST", "/update", {"new_name": "stolen"}),
    ("POST", "/delete", {}),
    ("POST", "/restore", {}),
    ("POST", "/set-experiment-tag", {"key": "k", "value": "v"}),
    ("POST", "/delete-tag", {"key": "k"}),
]


@pytest.mark.parametrize(("method", "path", "extra"), ISOLATION_CALLS)
def test_another_projects_experiment_is_not_found(
    live_server: LiveServer, world: World, method: str, path: str, extra: dict[str, Any]
) -> None:
    """A user who can write to both projects still cannot reach A's experiment through B's prefix."""
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    in_a = experiments_api(live_server, a.id, token)
    in_b = experiments_api(live_server, b.id, token)
    name = unique("secret")
    experiment_id = create(in_a, name, tags=[{"key": "k", "value": "v"}])
    create(in_b)  # B has an experiment 1 too; A's experiment 2 must stay invisible
    experiment_id = create(in_a) if experiment_id == "1" else experiment_id
    body = {"experiment_id": experiment_id, **extra}
    answer = in_b.get(path, **body) if method == "GET" else in_b.post(path, body)
    assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    by_name = in_b.get("/get-by-name", experiment_name=name)
    assert by_name.status_code == 404
    assert in_a.get("/get-by-name", experiment_name=name).json()["experiment"]["tags"] == [{"key": "k", "value": "v"}]
