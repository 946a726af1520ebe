"""MLflow's ``mpu/*`` multipart endpoints and ``server-info``: real multipart with presigned part URLs
on S3 (the parts go straight to moto), MLflow's own 501 on the local store, bad input as 400."""

from __future__ import annotations

import os

import httpx
import pytest

from gateway.artifacts import MULTIPART_NOT_SUPPORTED
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp, error_code
from tests.support.artifact_servers import ServerFarm
from tests.support.live_server import LiveServer
from tests.support.world import World

MiB = 1024 * 1024


def client_for(server: LiveServer, world: World) -> ArtifactHttp:
    project = world.project()
    return ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))


def put_parts(credentials: list[dict[str, object]], parts: list[bytes]) -> list[dict[str, object]]:
    """PUT each part to its presigned URL as the MLflow client does: no gateway token, straight to S3."""
    done = []
    for credential, data in zip(credentials, parts, strict=True):
        headers = dict(credential["headers"])  # type: ignore[call-overload]
        answer = httpx.put(str(credential["url"]), content=data, headers=headers)
        assert answer.status_code == 200, answer.text
        done.append({"part_number": credential["part_number"], "etag": answer.headers["ETag"]})
    return done


def test_server_info_tells_the_client_whether_multipart_works(servers: ServerFarm, world: World) -> None:
    for store, enabled in (("local", False), ("s3", True)):
        info = client_for(servers.get(store), world).server_info()
        assert info.status_code == 200
        assert info.json()["multipart_uploads_enabled"] is enabled
        assert info.json()["multipart_downloads_enabled"] is False
        assert info.json()["workspaces_enabled"] is False
    switched_off = client_for(servers.get("s3", artifacts_s3_multipart=False), world)
    assert switched_off.server_info().json()["multipart_uploads_enabled"] is False
    root = switched_off.new_run()
    refused = switched_off.mpu("create", root, {"path": "/home/me/big.bin", "num_parts": 1})
    assert refused.status_code == 501 and refused.json()["message"] == MULTIPART_NOT_SUPPORTED


def test_local_store_answers_mlflows_own_501_so_the_client_falls_back(live_server: LiveServer, world: World) -> None:
    client = client_for(live_server, world)
    root = client.new_run()
    body = {"path": "/home/me/big.bin", "num_parts": 2, "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}
    for action in ("create", "complete", "abort"):
        answer = client.mpu(action, root, body)
        assert answer.status_code == 501
        assert answer.json() == {"error_code": "NOT_IMPLEMENTED", "message": MULTIPART_NOT_SUPPORTED}


def test_s3_multipart_upload_through_presigned_part_urls(servers: ServerFarm, world: World) -> None:
    client = client_for(servers.get("s3"), world)
    root = client.new_run()
    parts = [os.urandom(5 * MiB), os.urandom(1000)]  # S3's minimum part size, then a short last part
    created = client.mpu("create", root, {"path": "/home/me/data/weights.bin", "num_parts": 2})
    assert created.status_code == 200, created.text
    upload = created.json()
    assert [c["part_number"] for c in upload["credentials"]] == [1, 2] and upload["upload_id"]
    assert client.list(root).json() == {}  # nothing visible before completion

    uploaded = put_parts(upload["credentials"], parts)
    complete = client.mpu(
        "complete", root, {"path": "weights.bin", "upload_id": upload["upload_id"], "parts": uploaded}
    )
    assert (complete.status_code, complete.json()) == (200, {})
    assert client.get(f"{root}/weights.bin").content == parts[0] + parts[1]
    assert client.list(root).json() == {
        "files": [{"path": "weights.bin", "is_dir": False, "file_size": 5 * MiB + 1000}]
    }


def test_s3_multipart_abort_leaves_nothing(servers: ServerFarm, world: World) -> None:
    client = client_for(servers.get("s3"), world)
    root = client.new_run()
    upload = client.mpu("create", root, {"path": "C:\\Users\\me\\model.bin", "num_parts": 1}).json()
    uploaded = put_parts(upload["credentials"], [b"abc"])
    body = {"path": "model.bin", "upload_id": upload["upload_id"]}
    assert client.mpu("abort", root, body).status_code == 200
    assert client.mpu("abort", root, body).status_code == 200  # aborting twice is harmless
    late = client.mpu("complete", root, {**body, "parts": uploaded})
    assert (late.status_code, error_code(late)) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert client.get(f"{root}/model.bin").status_code == 404


def test_s3_multipart_over_the_size_limit_is_aborted(servers: ServerFarm, world: World) -> None:
    client = client_for(servers.get("s3", artifact_max_file_bytes=1024), world)
    root = client.new_run()
    upload = client.mpu("create", root, {"path": "big.bin", "num_parts": 1}).json()
    uploaded = put_parts(upload["credentials"], [b"x" * 2048])  # S3 itself knows no gateway limit
    answer = client.mpu("complete", root, {"path": "big.bin", "upload_id": upload["upload_id"], "parts": uploaded})
    assert (answer.status_code, error_code(answer)) == (413, "INVALID_PARAMETER_VALUE")
    assert "1024-byte limit" in answer.json()["message"]
    assert client.get(f"{root}/big.bin").status_code == 404


def test_s3_multipart_upload_ids_are_bound_to_their_artifact_path(servers: ServerFarm, world: World) -> None:
    client = client_for(servers.get("s3"), world)
    root, other_root = client.new_run(), client.new_run()
    upload = client.mpu("create", root, {"path": "a.bin", "num_parts": 1}).json()
    uploaded = put_parts(upload["credentials"], [b"abc"])
    body = {"upload_id": upload["upload_id"], "parts": uploaded}
    for path, where in (("b.bin", root), ("a.bin", other_root)):
        answer = client.mpu("complete", where, {**body, "path": path})
        assert (answer.status_code, error_code(answer)) == (404, "RESOURCE_DOES_NOT_EXIST"), answer.text
    forged = {"path": "a.bin", "upload_id": upload["upload_id"][:-1] + "x"}
    assert client.mpu("abort", root, forged).status_code == 404
    wrong_etag = client.mpu(
        "complete", root, {**body, "path": "a.bin", "parts": [{"part_number": 1, "etag": "0" * 32}]}
    )
    assert (wrong_etag.status_code, error_code(wrong_etag)) == (400, "INVALID_PARAMETER_VALUE"), wrong_etag.text


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("", {"num_parts": 1}),
        ("", {"path": "big.bin", "num_parts": 0}),
        ("", {"path": "big.bin", "num_parts": 10001}),
        ("", {"path": "big.bin", "num_parts": "many"}),
        ("", {"path": "big.bin"}),
        ("", {"path": "/home/me/..", "num_parts": 1}),
        ("", {"path": "bad\x00name", "num_parts": 1}),
        ("/sub/dir", {"path": "big.bin", "num_parts": 1}),  # the artifact_path caveat
        ("/../x", {"path": "big.bin", "num_parts": 1}),
    ],
)
def test_s3_multipart_create_refuses_bad_input(
    servers: ServerFarm, world: World, suffix: str, body: dict[str, object]
) -> None:
    client = client_for(servers.get("s3"), world)
    root = client.new_run()
    target = f"{client.base.removeprefix(client.server.base_url)}/mpu/create/{root}{suffix}"
    answer = client.raw("POST", target, httpx.Request("POST", "http://x", json=body).content)
    assert (answer.status_code, error_code(answer)) == (400, "INVALID_PARAMETER_VALUE"), answer.text


@pytest.mark.parametrize(
    "body",
    [
        {"path": "a.bin", "parts": [{"part_number": 1, "etag": "e"}]},
        {"path": "a.bin", "upload_id": "u", "parts": []},
        {"path": "a.bin", "upload_id": "u", "parts": "all"},
        {"path": "a.bin", "upload_id": "u", "parts": [{"part_number": 0, "etag": "e"}]},
        {"path": "a.bin", "upload_id": "u", "parts": [{"part_number": 1}]},
        {"path": "a.bin", "upload_id": "u", "parts": [7]},
    ],
)
def test_s3_multipart_complete_refuses_bad_input(servers: ServerFarm, world: World, body: dict[str, object]) -> None:
    client = client_for(servers.get("s3"), world)
    answer = client.mpu("complete", client.new_run(), body)
    assert (answer.status_code, error_code(answer)) == (400, "INVALID_PARAMETER_VALUE"), answer.text


def test_multipart_json_bodies_keep_the_ordinary_body_limit(live_server: LiveServer, world: World) -> None:
    client = client_for(live_server, world)
    root = client.new_run()
    huge = b'{"path": "' + b"x" * (live_server.settings.max_body_bytes + 1) + b'"}'
    answer = httpx.post(f"{client.base}/mpu/create/{root}", content=huge, headers=client.headers)
    assert answer.status_code == 413
