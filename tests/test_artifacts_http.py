"""MLflow's artifact proxy over HTTP, on the local store and on S3 (moto): round trips, listings,
streaming, unsafe paths, the ``artifact_path`` caveat and its ``allow`` switch, the size limit."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest

from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp, error_code
from tests.support.artifact_servers import ServerFarm
from tests.support.live_server import LiveServer
from tests.support.world import World


@pytest.fixture
def client(artifact_server: LiveServer, world: World) -> ArtifactHttp:
    project = world.project()
    return ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.DEVELOPER))


def test_put_get_list_delete_round_trip(client: ArtifactHttp) -> None:
    root = client.new_run()
    put = client.put(f"{root}/hello.txt", b"hello artifact\n", **{"Content-Type": "text/plain"})
    assert (put.status_code, put.json()) == (200, {})
    assert client.put(f"{root}/blob.bin", os.urandom(3000)).status_code == 200

    got = client.get(f"{root}/hello.txt")
    assert got.status_code == 200 and got.content == b"hello artifact\n"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-length"] == "15"
    assert client.get(f"{root}/blob.bin").headers["content-type"] == "application/octet-stream"

    listing = client.list(root)
    assert listing.status_code == 200
    assert listing.json() == {
        "files": [
            {"path": "blob.bin", "is_dir": False, "file_size": 3000},
            {"path": "hello.txt", "is_dir": False, "file_size": 15},
        ]
    }
    assert client.list(f"{root}/hello.txt").json() == {}  # a file lists as nothing
    assert client.list(f"{root}/no-such-dir").json() == {}

    assert (client.delete(f"{root}/hello.txt").status_code, client.delete(f"{root}/hello.txt").json()) == (200, {})
    missing = client.get(f"{root}/hello.txt")
    assert (missing.status_code, error_code(missing)) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert [f["path"] for f in client.list(root).json()["files"]] == ["blob.bin"]
    assert client.delete(root).status_code == 200  # the whole run's artifacts
    assert client.list(root).json() == {}


def test_overwrite_replaces_the_whole_file(client: ArtifactHttp) -> None:
    root = client.new_run()
    client.put(f"{root}/f.txt", b"a much longer first version")
    client.put(f"{root}/f.txt", b"short")
    assert client.get(f"{root}/f.txt").content == b"short"


def test_large_streamed_upload_round_trips(client: ArtifactHttp) -> None:
    """Bigger than one S3 part (8 MiB), sent chunked (no Content-Length), read back in full."""
    root = client.new_run()
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256(block * 9).hexdigest()

    def body() -> Iterator[bytes]:
        for _ in range(9):
            yield block

    assert client.put(f"{root}/big.bin", body()).status_code == 200
    with httpx.stream("GET", f"{client.base}/artifacts/{root}/big.bin", headers=client.headers) as answer:
        assert answer.headers["content-length"] == str(9 * len(block))
        received = hashlib.sha256()
        for chunk in answer.iter_bytes():
            received.update(chunk)
    assert received.hexdigest() == digest


def test_special_characters_in_names(client: ArtifactHttp) -> None:
    root = client.new_run()
    name = "ünï+cødé (1) 100%.txt"
    assert client.put(f"{root}/{name}", b"x").status_code == 200  # httpx encodes it as the MLflow client does
    assert client.get(f"{root}/{name}").content == b"x"
    assert client.list(root).json()["files"][0]["path"] == name


@pytest.mark.parametrize(
    ("encoded", "name"),
    [
        ("what%3F.txt", "what?.txt"),
        ("hash%23tag.txt", "hash#tag.txt"),
        ("bad%FFbyte.txt", "bad\ufffdbyte.txt"),  # not UTF-8: the server decodes it as U+FFFD
        ("%F0%9F%A4%96.txt", "\U0001f916.txt"),
        ("semi;colon=1&x'y.txt", "semi;colon=1&x'y.txt"),
        ("..dots..", "..dots.."),
    ],
)
def test_odd_but_safe_names_round_trip(client: ArtifactHttp, encoded: str, name: str) -> None:
    root = client.new_run()
    target = f"{client.base.removeprefix(client.server.base_url)}/artifacts/{root}/{encoded}"
    assert client.raw("PUT", target, b"odd").status_code == 200
    assert client.raw("GET", target).content == b"odd"
    assert client.list(root).json() == {"files": [{"path": name, "is_dir": False, "file_size": 3}]}


@pytest.mark.parametrize(
    "suffix",
    [
        "../../../../etc/passwd",
        "sub/../../other-run/artifacts/x",
        "%2e%2e/%2e%2e/x",
        "a%2Fb.txt",
        "a%2fb.txt",
        "a%5Cb.txt",
        "a%5c..%5c..%5cb.txt",
        "a%00b.txt",
        "a//b.txt",
        "/etc/passwd",
        "a/",
    ],
)
def test_unsafe_paths_are_refused_with_400(client: ArtifactHttp, suffix: str) -> None:
    root = client.new_run()
    target = f"{client.base.removeprefix(client.server.base_url)}/artifacts/{root}/{suffix}"
    for method in ("PUT", "GET", "DELETE"):
        answer = client.raw(method, target, b"data" if method == "PUT" else b"")
        assert answer.status_code == 400, (method, suffix, answer.status_code, answer.text)
        assert error_code(answer) == "INVALID_PARAMETER_VALUE", answer.text
    assert client.list(root).json() == {}  # nothing was written anywhere below the run either


@pytest.mark.parametrize("path", ["{root}/../../x", "{root}/a%2Fb", "/{root}", "{root}/a\\b", "{root}//x"])
def test_unsafe_listing_paths_are_refused(client: ArtifactHttp, path: str) -> None:
    answer = client.list(path.format(root=client.new_run()))
    assert answer.status_code == 400 and error_code(answer) == "INVALID_PARAMETER_VALUE", answer.text


@pytest.mark.parametrize("path", ["", "1", "1/{run}", "{exp}/{run}/not-artifacts/x", "999/{run}/artifacts/x"])
def test_paths_that_name_no_run_are_not_found(client: ArtifactHttp, path: str) -> None:
    exp, run, _ = client.new_run().split("/")
    answer = client.get(path.format(exp=exp, run=run)) if path else client.list(None)
    assert answer.status_code == 404 and error_code(answer) == "RESOURCE_DOES_NOT_EXIST", answer.text


def test_directories_below_the_root_are_refused_by_default(client: ArtifactHttp) -> None:
    root = client.new_run()
    for nested in ("model/MLmodel", "some/dir/hello.txt"):
        answer = client.put(f"{root}/{nested}", b"x")
        assert answer.status_code == 400 and error_code(answer) == "INVALID_PARAMETER_VALUE"
        message = answer.json()["message"]
        assert "artifact_path must be empty" in message and "directories are not supported" in message
        assert nested in message and "GATEWAY_ARTIFACT_DIRECTORIES=allow" in message
    assert client.list(root).json() == {}


def test_allow_mode_stores_lists_and_serves_sub_directories(servers: ServerFarm, store_kind: str, world: World) -> None:
    server = servers.get(store_kind, artifact_directories="allow")
    project = world.project()
    client = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = client.new_run()
    for path, content in (
        ("model/MLmodel", b"flavors: {}\n"),
        ("model/data/model.pkl", b"\x80\x04"),
        ("top.txt", b"t"),
    ):
        assert client.put(f"{root}/{path}", content).status_code == 200
    assert client.list(root).json() == {
        "files": [{"path": "model", "is_dir": True}, {"path": "top.txt", "is_dir": False, "file_size": 1}]
    }
    assert client.list(f"{root}/model").json() == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}, {"path": "data", "is_dir": True}]
    }
    assert client.list(f"{root}/model/").json() == client.list(f"{root}/model").json()
    assert client.get(f"{root}/model/data/model.pkl").content == b"\x80\x04"
    assert client.get(f"{root}/model").status_code == 404  # a directory is not a file (MLflow 3 probes this)
    assert client.delete(f"{root}/model").status_code == 200
    assert [f["path"] for f in client.list(root).json()["files"]] == ["top.txt"]


def test_upload_over_the_size_limit_is_refused(servers: ServerFarm, store_kind: str, world: World) -> None:
    server = servers.get(store_kind, artifact_max_file_bytes=1024)
    project = world.project()
    client = ArtifactHttp(server, project.id, world.member_token(project, Role.DEVELOPER))
    root = client.new_run()
    assert client.put(f"{root}/fits.bin", b"x" * 1024).status_code == 200

    declared = client.put(f"{root}/declared.bin", b"x" * 1025)
    assert declared.status_code == 413 and error_code(declared) == "INVALID_PARAMETER_VALUE"
    assert "1024-byte limit" in declared.json()["message"]
    assert "GATEWAY_ARTIFACT_MAX_FILE_BYTES" in declared.json()["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit trips while streaming
        yield b"y" * 1000
        yield b"y" * 1000

    streamed = client.put(f"{root}/streamed.bin", chunked())
    assert streamed.status_code == 413 and error_code(streamed) == "INVALID_PARAMETER_VALUE"
    assert client.get(f"{root}/streamed.bin").status_code == 404  # nothing partial became visible
    assert [f["path"] for f in client.list(root).json()["files"]] == ["fits.bin"]


def test_objects_are_stored_under_the_project_and_the_runs_iid(
    servers: ServerFarm, live_server: LiveServer, world: World
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    local, s3 = ArtifactHttp(live_server, project.id, token), ArtifactHttp(servers.get("s3"), project.id, token)
    experiment = local.tracking.experiment()
    local_root, s3_root = local.new_run(experiment), local.new_run(experiment)  # candidate iids 1 and 2
    local.put(f"{local_root}/a.txt", b"local")
    s3.put(f"{s3_root}/b.txt", b"s3")
    data_dir = live_server.settings.data_dir
    assert (data_dir / f"artifacts/projects/{project.id}/candidates/1/a.txt").read_bytes() == b"local"
    assert servers.s3.object_names(f"projects/{project.id}/") == [f"projects/{project.id}/candidates/2/b.txt"]
