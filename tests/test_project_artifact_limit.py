"""A project's own artifact size limit: GitLab's ``max_artifacts_size`` (megabytes), set by an admin.

It overrides the instance default (``GATEWAY_ARTIFACT_MAX_FILE_BYTES``) for that project only, on
every upload route: MLflow's proxy, S3 multipart completion and GitLab's package route.
"""

from __future__ import annotations

from collections.abc import Iterator

import gitlab
import gitlab.exceptions
import httpx
import pytest

from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp, error_code
from tests.support.artifact_servers import ServerFarm
from tests.support.live_server import LiveServer
from tests.support.world import World

MIB = 1024 * 1024


def admin(server: LiveServer, world: World) -> gitlab.Gitlab:
    return gitlab.Gitlab(server.base_url, private_token=world.token(world.user(admin=True)))


def test_an_admin_sets_and_resets_a_projects_limit(artifact_server: LiveServer, world: World) -> None:
    project_ref = world.project()
    project = admin(artifact_server, world).projects.get(project_ref.id)
    assert project.max_artifacts_size is None  # the instance default applies

    project.max_artifacts_size = 1
    project.save()
    assert admin(artifact_server, world).projects.get(project_ref.id).max_artifacts_size == 1
    client = ArtifactHttp(artifact_server, project_ref.id, world.member_token(project_ref, Role.DEVELOPER))
    root = client.new_run()
    assert client.put(f"{root}/big.bin", b"x" * (MIB + 1)).status_code == 413

    project.max_artifacts_size = None
    project.save()
    assert admin(artifact_server, world).projects.get(project_ref.id).max_artifacts_size is None
    assert client.put(f"{root}/big.bin", b"x" * (MIB + 1)).status_code == 200


def test_only_an_admin_may_change_it(artifact_server: LiveServer, world: World) -> None:
    project_ref = world.project()
    owner = gitlab.Gitlab(artifact_server.base_url, private_token=world.member_token(project_ref, Role.OWNER))
    project = owner.projects.get(project_ref.id)
    project.max_artifacts_size = 100_000
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as refused:
        project.save()
    assert refused.value.response_code == 403
    assert admin(artifact_server, world).projects.get(project_ref.id).max_artifacts_size is None
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as refused_on_create:
        owner.projects.create({"name": "big", "max_artifacts_size": 100_000})
    assert refused_on_create.value.response_code == 403


@pytest.mark.parametrize("value", [0, -1, "many", True, 5 * 1024 * 1024 + 1, 1.5])
def test_nonsense_limits_are_refused(artifact_server: LiveServer, world: World, value: object) -> None:
    project = admin(artifact_server, world).projects.get(world.project().id)
    project.max_artifacts_size = value
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as refused:
        project.save()
    assert refused.value.response_code == 400
    assert "max_artifacts_size must be a whole number of megabytes" in refused.value.error_message


def test_the_limit_applies_to_its_project_only_on_every_upload_route(
    servers: ServerFarm, store_kind: str, world: World
) -> None:
    server = servers.get(store_kind)
    small, other = world.project(), world.project()
    admin(server, world).projects.update(small.id, {"max_artifacts_size": 1})
    client = ArtifactHttp(server, small.id, world.member_token(small, Role.DEVELOPER))
    root = client.new_run()
    assert client.put(f"{root}/fits.bin", b"x" * MIB).status_code == 200

    declared = client.put(f"{root}/declared.bin", b"x" * (MIB + 1))
    assert (declared.status_code, error_code(declared)) == (413, "INVALID_PARAMETER_VALUE")
    assert f"this project's {MIB}-byte limit" in declared.json()["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit trips while streaming
        yield b"y" * MIB
        yield b"y"

    streamed = client.put(f"{root}/streamed.bin", chunked())
    assert (streamed.status_code, error_code(streamed)) == (413, "INVALID_PARAMETER_VALUE")
    assert [f["path"] for f in client.list(root).json()["files"]] == ["fits.bin"]

    package = client.package_put("candidate:1", "pkg.bin", b"z" * (MIB + 1))  # the project's first run
    assert package.status_code == 413

    unlimited = ArtifactHttp(server, other.id, world.member_token(other, Role.DEVELOPER))
    other_root = unlimited.new_run()
    assert unlimited.put(f"{other_root}/big.bin", b"x" * (2 * MIB)).status_code == 200


def test_s3_multipart_completion_checks_the_projects_limit(servers: ServerFarm, world: World) -> None:
    server = servers.get("s3")
    project = world.project()
    admin(server, world).projects.update(project.id, {"max_artifacts_size": 1})
    client = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = client.new_run()
    upload = client.mpu("create", root, {"path": "big.bin", "num_parts": 1}).json()
    credential = upload["credentials"][0]
    part = httpx.put(credential["url"], content=b"x" * (2 * MIB), headers=dict(credential["headers"]))
    assert part.status_code == 200
    parts = [{"part_number": 1, "etag": part.headers["ETag"]}]
    answer = client.mpu("complete", root, {"path": "big.bin", "upload_id": upload["upload_id"], "parts": parts})
    assert (answer.status_code, error_code(answer)) == (413, "INVALID_PARAMETER_VALUE")
    assert client.get(f"{root}/big.bin").status_code == 404
