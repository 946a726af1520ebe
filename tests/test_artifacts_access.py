"""Who may touch which artifacts: cross-project isolation on every artifact endpoint, read-only
callers, anonymous callers, and GitLab's ``packages/ml_models`` route (on both stores)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from compat.registry.tables import ModelVersion
from compat.tables import Candidate
from gateway.db import Database
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp, error_code
from tests.support.live_server import LiveServer
from tests.support.world import Ref, World, unique

MPU_BODY = {"path": "/home/me/big.bin", "num_parts": 1, "upload_id": "some-upload", "parts": []}


def every_endpoint(client: ArtifactHttp, root: str) -> dict[str, httpx.Response]:
    """One call of each artifact endpoint on the run ``root``."""
    complete = {**MPU_BODY, "parts": [{"part_number": 1, "etag": "abc"}]}
    return {
        "put": client.put(f"{root}/new.txt", b"intruder"),
        "get": client.get(f"{root}/hello.txt"),
        "list": client.list(root),
        "list-file": client.list(f"{root}/hello.txt"),
        "delete": client.delete(f"{root}/hello.txt"),
        "delete-root": client.delete(root),
        "mpu-create": client.mpu("create", root, MPU_BODY),
        "mpu-complete": client.mpu("complete", root, complete),
        "mpu-abort": client.mpu("abort", root, MPU_BODY),
    }


def a_run_with_a_file(server: LiveServer, world: World) -> tuple[ArtifactHttp, str, Ref]:
    """A project, its developer's client and a run (the project's ``candidate:1``) holding ``hello.txt``."""
    project = world.project()
    owner = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = owner.new_run()
    assert owner.put(f"{root}/hello.txt", b"hello").status_code == 200
    return owner, root, project


def assert_untouched(owner: ArtifactHttp, root: str) -> None:
    assert owner.get(f"{root}/hello.txt").content == b"hello"
    assert [f["path"] for f in owner.list(root).json()["files"]] == ["hello.txt"]


def test_another_projects_token_gets_404_everywhere(artifact_server: LiveServer, world: World) -> None:
    owner, root, _ = a_run_with_a_file(artifact_server, world)
    other = world.project()
    stranger = ArtifactHttp(artifact_server, owner.project, world.member_token(other, Role.MAINTAINER))
    answers = {**every_endpoint(stranger, root), "server-info": stranger.server_info()}
    for name, answer in answers.items():
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), (name, answer.text)
    assert_untouched(owner, root)


def test_a_run_is_reachable_only_under_its_own_project(artifact_server: LiveServer, world: World) -> None:
    """Even a user who may write to both projects cannot reach A's run through B's URL."""
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    owner = ArtifactHttp(artifact_server, a.id, token)
    root = owner.new_run()
    owner.put(f"{root}/hello.txt", b"hello")
    through_b = ArtifactHttp(artifact_server, b.id, token)
    for name, answer in every_endpoint(through_b, root).items():
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), (name, answer.text)
    b_experiment = through_b.tracking.experiment()
    assert through_b.get(f"{b_experiment}/{root.split('/')[1]}/artifacts/hello.txt").status_code == 404
    assert_untouched(owner, root)


def test_a_run_under_the_wrong_experiment_is_not_found(artifact_server: LiveServer, world: World) -> None:
    owner, root, _ = a_run_with_a_file(artifact_server, world)
    other_experiment = owner.tracking.experiment()
    moved = f"{other_experiment}/{root.split('/', 1)[1]}"
    assert owner.get(f"{moved}/hello.txt").status_code == 404
    assert owner.put(f"{moved}/x.txt", b"x").status_code == 404


def test_read_only_callers_can_read_but_not_write(artifact_server: LiveServer, world: World) -> None:
    owner, root, project = a_run_with_a_file(artifact_server, world)
    reporter = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.REPORTER))
    developer = world.user()
    world.member(developer, Role.DEVELOPER, project=project)
    read_api = ArtifactHttp(artifact_server, project.id, world.token(developer, scopes=("read_api",)))
    for reader in (reporter, read_api):
        assert reader.get(f"{root}/hello.txt").content == b"hello"
        assert reader.list(root).status_code == 200
        assert reader.server_info().status_code == 200
        for name, answer in every_endpoint(reader, root).items():
            if name in ("get", "list", "list-file"):
                continue
            assert (answer.status_code, error_code(answer)) == (403, "PERMISSION_DENIED"), (name, answer.text)
    assert_untouched(owner, root)


def test_anonymous_callers_are_unauthenticated(artifact_server: LiveServer, world: World) -> None:
    owner, root, _ = a_run_with_a_file(artifact_server, world)
    anonymous = ArtifactHttp(artifact_server, owner.project, "")
    anonymous.headers = {}
    for name, answer in {**every_endpoint(anonymous, root), "server-info": anonymous.server_info()}.items():
        assert (answer.status_code, error_code(answer)) == (401, "UNAUTHENTICATED"), (name, answer.text)


# ------------------------------------------------------------------------------------ GitLab's package route
@pytest.fixture
def package_client(artifact_server: LiveServer, world: World) -> tuple[ArtifactHttp, str]:
    project = world.project()
    client = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.DEVELOPER))
    return client, client.new_run()  # the project's first run: candidate:1


def test_package_route_uploads_with_201_and_serves_the_same_file(package_client: tuple[ArtifactHttp, str]) -> None:
    client, root = package_client
    put = client.package_put("candidate:1", "model.pkl", b"\x80\x04pickle")
    assert (put.status_code, put.json()) == (201, {"message": "201 Created"})
    got = client.package_get("candidate:1", "model.pkl")
    assert (got.status_code, got.content) == (200, b"\x80\x04pickle")
    assert client.get(f"{root}/model.pkl").content == b"\x80\x04pickle"  # one store, one key
    client.put(f"{root}/notes.txt", b"from mlflow")
    assert client.package_get("candidate:1", "notes.txt").content == b"from mlflow"


@pytest.mark.parametrize(
    ("package", "path", "status"),
    [
        ("candidate:2", "model.pkl", 404),  # no such run in this project
        ("candidate:x", "model.pkl", 404),
        ("candidate:99999999999999999999999", "model.pkl", 404),
        ("7", "model.pkl", 404),  # no such model version in this project
        ("candidate:1", "model/MLmodel", 400),  # the artifact_path caveat
        ("candidate:1", "a%2Fb", 400),
        ("candidate:1", "%2e%2e/x", 400),
    ],
)
def test_package_route_errors_speak_gitlab(
    package_client: tuple[ArtifactHttp, str], package: str, path: str, status: int
) -> None:
    client, _ = package_client
    answer = client.package_put(package, path, b"x")
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"message"}


def test_package_route_is_isolated_and_respects_roles(artifact_server: LiveServer, world: World) -> None:
    owner, _, project = a_run_with_a_file(artifact_server, world)
    stranger = ArtifactHttp(artifact_server, owner.project, world.member_token(world.project(), Role.OWNER))
    assert stranger.package_get("candidate:1", "hello.txt").status_code == 404
    assert stranger.package_put("candidate:1", "x.txt", b"x").status_code == 404
    reporter = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.REPORTER))
    assert reporter.package_get("candidate:1", "hello.txt").content == b"hello"
    denied = reporter.package_put("candidate:1", "x.txt", b"x")
    assert denied.status_code == 403 and set(denied.json()) == {"message"}
    user = world.user()
    mine = world.project(owner=user)
    world.member(user, Role.DEVELOPER, project=project)
    through_mine = ArtifactHttp(artifact_server, mine.id, world.token(user))
    assert through_mine.package_get("candidate:1", "hello.txt").status_code == 404  # mine has no run 1


def test_package_route_serves_a_model_versions_files(
    artifact_server: LiveServer, world: World, database: Database
) -> None:
    project = world.project()
    client = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.DEVELOPER))
    name = unique("model")
    client.tracking.ok("/registered-models/create", {"name": name})
    version = client.tracking.ok("/model-versions/create", {"name": name, "source": ""})["model_version"]
    with database.unit_of_work(write=False) as session:
        version_id = str(
            session.scalar(
                select(ModelVersion.id).where(
                    ModelVersion.candidate_id.in_(select(Candidate.id).where(Candidate.eid == version["run_id"]))
                )
            )
        )
    assert client.package_put(version_id, "model.pkl", b"weights").status_code == 201
    assert client.package_get(version_id, "model.pkl").content == b"weights"
    run = client.tracking.fetch(version["run_id"])["info"]
    assert client.get(f"{run['artifact_uri'].removeprefix('mlflow-artifacts:/')}/model.pkl").content == b"weights"
    stranger = ArtifactHttp(artifact_server, project.id, world.member_token(world.project(), Role.OWNER))
    assert stranger.package_get(version_id, "model.pkl").status_code == 404
    other = world.project()
    elsewhere = ArtifactHttp(artifact_server, other.id, world.member_token(other, Role.OWNER))
    assert elsewhere.package_get(version_id, "model.pkl").status_code == 404
