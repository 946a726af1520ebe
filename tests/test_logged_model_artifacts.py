"""The files of MLflow 3 logged models, on both stores: ``<exp>/models/<model_id>/artifacts/<path>`` with
directories always allowed (a model is a directory), reached only through the model's own project and
experiment; and registry versions made from a logged model, which serve its files.
"""

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

CAVEAT = "artifact_path must be empty"
MODEL_FILES = {"MLmodel": b"flavors: {}\n", "model.pkl": b"\x80\x04weights", "code/helper.py": b"x = 1\n"}


def a_logged_model(server: LiveServer, world: World) -> tuple[ArtifactHttp, str, Ref]:
    """A project, its developer's client and a logged model holding ``MODEL_FILES``; returns its artifact root."""
    project = world.project()
    owner = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    experiment_id = owner.tracking.experiment()
    info = owner.tracking.ok("/logged-models", {"experiment_id": experiment_id, "name": "m"})["model"]["info"]
    root = str(info["artifact_uri"]).removeprefix("mlflow-artifacts:/")
    assert root == f"{experiment_id}/models/{info['model_id']}/artifacts"
    for path, content in MODEL_FILES.items():
        answer = owner.put(f"{root}/{path}", content)
        assert answer.status_code == 200, answer.text
    return owner, root, project


def files_of(client: ArtifactHttp, root: str) -> dict[str, bytes]:
    return {path: client.get(f"{root}/{path}").content for path in MODEL_FILES}


def test_a_logged_model_is_a_directory_tree(artifact_server: LiveServer, world: World) -> None:
    owner, root, _ = a_logged_model(artifact_server, world)
    assert files_of(owner, root) == MODEL_FILES
    listing = owner.list(root).json()["files"]
    assert [(f["path"], f["is_dir"]) for f in listing] == [("MLmodel", False), ("code", True), ("model.pkl", False)]
    assert owner.list(f"{root}/code").json()["files"] == [{"path": "helper.py", "is_dir": False, "file_size": 6}]
    assert owner.list(f"{root}/model.pkl").json() == {}
    assert owner.delete(f"{root}/code").status_code == 200
    assert owner.get(f"{root}/code/helper.py").status_code == 404
    # The run caveat still applies to runs.
    run_root = owner.new_run()
    refused = owner.put(f"{run_root}/model/MLmodel", b"x")
    assert refused.status_code == 400 and CAVEAT in refused.json()["message"]
    assert owner.put(f"{root}", b"x").status_code == 400  # the root itself is not a file


def test_multipart_targets_below_a_logged_model_are_not_refused_as_directories(
    artifact_server: LiveServer, world: World
) -> None:
    owner, root, _ = a_logged_model(artifact_server, world)
    answer = owner.mpu("create", f"{root}/weights", {"path": "/home/me/big.bin", "num_parts": 1})
    assert answer.status_code in (200, 501), answer.text  # S3 hands out part URLs; the local store says 501


@pytest.mark.parametrize(
    "shape",
    [
        "{exp}/models/m-{zeros}/artifacts/MLmodel",  # no such model
        "{other_exp}/models/{model_id}/artifacts/MLmodel",  # the wrong experiment
        "{exp}/models/{model_id}/MLmodel",  # no artifacts segment
        "{exp}/models/{model_id}",
    ],
)
def test_wrong_paths_are_not_found(artifact_server: LiveServer, world: World, shape: str) -> None:
    owner, root, _ = a_logged_model(artifact_server, world)
    exp, _, model_id, _ = root.split("/")
    other_exp = owner.tracking.experiment()
    path = shape.format(exp=exp, other_exp=other_exp, model_id=model_id, zeros="0" * 32)
    for answer in (owner.get(path), owner.put(path + "x", b"x")):
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), answer.text


def every_endpoint(client: ArtifactHttp, root: str) -> dict[str, httpx.Response]:
    body = {"path": "/home/me/big.bin", "num_parts": 1, "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}
    return {
        "put": client.put(f"{root}/code/intruder.py", b"intruder"),
        "get": client.get(f"{root}/MLmodel"),
        "list": client.list(root),
        "list-dir": client.list(f"{root}/code"),
        "delete": client.delete(f"{root}/model.pkl"),
        "delete-root": client.delete(root),
        "mpu-create": client.mpu("create", root, body),
        "mpu-complete": client.mpu("complete", root, body),
        "mpu-abort": client.mpu("abort", root, body),
    }


def test_another_projects_logged_model_files_are_not_found(artifact_server: LiveServer, world: World) -> None:
    owner, root, project = a_logged_model(artifact_server, world)
    stranger = ArtifactHttp(artifact_server, owner.project, world.member_token(world.project(), Role.MAINTAINER))
    for name, answer in every_endpoint(stranger, root).items():
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), (name, answer.text)
    # A member of both projects cannot reach A's model through B's URL either.
    user = world.user()
    mine = world.project(owner=user)
    world.member(user, Role.DEVELOPER, project=project)
    through_mine = ArtifactHttp(artifact_server, mine.id, world.token(user))
    for name, answer in every_endpoint(through_mine, root).items():
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), (name, answer.text)
    assert files_of(owner, root) == MODEL_FILES


def test_readers_read_but_do_not_write_model_files(artifact_server: LiveServer, world: World) -> None:
    owner, root, project = a_logged_model(artifact_server, world)
    reader = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.REPORTER))
    for name, answer in every_endpoint(reader, root).items():
        if name in ("get", "list", "list-dir"):
            assert answer.status_code == 200, (name, answer.text)
        else:
            assert (answer.status_code, error_code(answer)) == (403, "PERMISSION_DENIED"), (name, answer.text)
    assert files_of(owner, root) == MODEL_FILES


def test_versions_registered_from_a_logged_model_serve_its_files(
    artifact_server: LiveServer, world: World, database: Database
) -> None:
    owner, root, _ = a_logged_model(artifact_server, world)
    model_id = root.split("/")[2]
    name = unique("model")
    owner.tracking.ok("/registered-models/create", {"name": name})
    body = {"name": name, "source": f"models:/{model_id}", "model_id": model_id, "run_id": "ignored"}
    version = owner.tracking.ok("/model-versions/create", body)["model_version"]
    assert (version["version"], version["source"], version["model_id"]) == ("1", f"models:/{model_id}", model_id)
    uri = owner.tracking.get("/model-versions/get-download-uri", name=name, version="1").json()["artifact_uri"]
    assert uri == f"mlflow-artifacts:/{root}"
    registrations = owner.tracking.get(f"/logged-models/{model_id}").json()["model"]["info"]["registrations"]
    assert registrations == [{"name": name, "version": "1"}]
    with database.unit_of_work(write=False) as session:
        candidate = select(Candidate.id).where(Candidate.eid == version["run_id"])
        version_id = str(session.scalar(select(ModelVersion.id).where(ModelVersion.candidate_id.in_(candidate))))
    assert owner.package_get(version_id, "model.pkl").content == MODEL_FILES["model.pkl"]

    # A deleted logged model keeps its files for the versions made from it.
    deleted = httpx.delete(owner.tracking.base + f"/logged-models/{model_id}", headers=owner.tracking.headers)
    assert deleted.status_code == 200, deleted.text
    assert owner.tracking.get(f"/logged-models/{model_id}").status_code == 404
    assert files_of(owner, root) == MODEL_FILES
    assert owner.tracking.get("/model-versions/get", name=name, version="1").json()["model_version"]["model_id"] == (
        model_id
    )

    # A version cannot be made from a logged model of another project (or a made-up one).
    other = world.project()
    elsewhere = ArtifactHttp(artifact_server, other.id, world.member_token(other, Role.DEVELOPER))
    elsewhere.tracking.ok("/registered-models/create", {"name": name})
    for made_up in (model_id, "m-" + "0" * 32):
        answer = elsewhere.tracking.post("/model-versions/create", {"name": name, "model_id": made_up})
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), answer.text
    assert elsewhere.tracking.get("/model-versions/search", filter=f"name = '{name}'").json() == {"model_versions": []}
