"""Artifact storage under stress and misconfiguration: interrupted uploads leave nothing behind, readiness
reports the store, bodies are pulled lazily (bounded memory), and bad settings are refused at start-up."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.artifacts.streams import ChunkReader
from gateway.settings import Settings, SettingsError
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.artifact_servers import S3_BUCKET, S3_PREFIX, ServerFarm
from tests.support.live_server import LiveServer
from tests.support.waiting import eventually
from tests.support.world import World

MiB = 1024 * 1024


def send_then_hang_up(server: LiveServer, target: str, token: str, *, declared: int, sent: int) -> None:
    """PUT with a ``Content-Length`` of ``declared`` bytes, send only ``sent`` of them, close the socket."""
    address = urlsplit(server.base_url)
    assert address.hostname and address.port
    with socket.create_connection((address.hostname, address.port)) as connection:
        head = (
            f"PUT {target} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
        )
        connection.sendall(head.encode())
        block = b"x" * (64 * 1024)
        for _ in range(sent // len(block)):
            connection.sendall(block)


def test_an_interrupted_upload_leaves_nothing_behind(
    servers: ServerFarm, store_kind: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = servers.get(store_kind)
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    client = ArtifactHttp(server, project.id, token)
    root = client.new_run()
    target = f"{urlsplit(client.base).path}/artifacts/{root}/weights.bin"
    with caplog.at_level(logging.INFO, logger="gateway"):
        # 10 MiB of 20: on S3 that is past the first 8 MiB part, so a multipart upload is under way.
        send_then_hang_up(server, target, token, declared=20 * MiB, sent=10 * MiB)

        def the_request_ended() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.name == "gateway.access" and r.method == "PUT"]  # type: ignore[attr-defined]

        assert eventually(the_request_ended), "the gateway never finished the interrupted request"
        [logged] = the_request_ended()
        assert logged.bytes_in >= 8 * MiB and logged.status == 400  # type: ignore[attr-defined]
        if store_kind == "s3":
            prefix = f"{S3_PREFIX}/projects/{project.id}/"

            def no_pending_upload() -> bool:
                pending = servers.s3.client()._list_multipart_uploads(S3_BUCKET, prefix=prefix)
                return not pending.uploads

            assert eventually(no_pending_upload), "the multipart upload was not aborted"
            assert servers.s3.object_names(f"projects/{project.id}/") == []
        else:
            staging = Path(server.settings.data_dir) / "artifacts" / ".staging"
            assert eventually(lambda: not any(staging.iterdir())), "a staging file was left behind"
        assert client.get(f"{root}/weights.bin").status_code == 404
        assert client.list(root).json() == {}
    assert not [r for r in caplog.records if r.name == "gateway.errors"], "a hang-up is not a server error"


def test_concurrent_uploads_and_tracking_calls_all_succeed(artifact_server: LiveServer, world: World) -> None:
    """Uploads hold worker threads for their whole duration; tracking calls must still get theirs."""
    project = world.project()
    client = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.DEVELOPER))
    root = client.new_run()
    run_id = root.split("/")[1]

    def slow_body(number: int) -> Iterator[bytes]:
        for _ in range(5):
            time.sleep(0.05)
            yield bytes([number]) * 4096

    def upload(number: int) -> int:
        return client.put(f"{root}/file-{number}.bin", slow_body(number)).status_code

    def read_run(_: int) -> int:
        return client.tracking.get("/runs/get", run_id=run_id).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        uploads = [pool.submit(upload, n) for n in range(16)]
        reads = [pool.submit(read_run, n) for n in range(16)]
        assert [f.result(timeout=60) for f in uploads + reads] == [200] * 32
    files = client.list(root).json()["files"]
    assert len(files) == 16 and {f["file_size"] for f in files} == {5 * 4096}
    assert client.get(f"{root}/file-7.bin").content == bytes([7]) * 5 * 4096


def test_head_of_an_artifact_answers_its_length(artifact_server: LiveServer, world: World) -> None:
    project = world.project()
    client = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.REPORTER))
    writer = ArtifactHttp(artifact_server, project.id, world.member_token(project, Role.DEVELOPER))
    root = writer.new_run()
    writer.put(f"{root}/data.csv", b"a,b\n1,2\n")
    head = httpx.head(f"{client.base}/artifacts/{root}/data.csv", headers=client.headers)
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "8", b"")


def test_readiness_checks_the_artifact_store(servers: ServerFarm, store_kind: str) -> None:
    ready = httpx.get(servers.get(store_kind).base_url + "/-/readiness")
    assert ready.status_code == 200 and ready.json()["artifact_store"] == {"status": "ok"}


def test_readiness_fails_while_the_bucket_is_missing(servers: ServerFarm) -> None:
    server = servers.get("s3", artifacts_uri="s3://no-such-bucket/gateway")
    ready = httpx.get(server.base_url + "/-/readiness")
    assert ready.status_code == 503
    assert ready.json()["artifact_store"]["status"] == "failed"
    assert "no-such-bucket" in ready.json()["artifact_store"]["message"]
    assert ready.json()["database"] == {"status": "ok"}


def test_the_body_is_pulled_only_as_far_as_it_is_read() -> None:
    """What bounds an upload's memory: the reader holds at most what was asked for plus one chunk."""
    pulled: list[int] = []

    def body() -> Iterator[bytes]:
        for number in range(1000):
            pulled.append(number)
            yield b"x" * 1000

    reader = ChunkReader(body(), max_bytes=10**9)
    assert len(reader.read(4500)) == 4500
    assert len(pulled) == 5
    assert len(reader.read(500)) == 500 and len(pulled) == 5  # served from what was already pulled
    assert len(reader.read(10_000)) == 10_000 and len(pulled) == 15


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_ARTIFACT_DIRECTORIES", "sometimes"),
        ("GATEWAY_ARTIFACT_MAX_FILE_BYTES", "0"),
        ("GATEWAY_ARTIFACT_MAX_FILE_BYTES", "5GB"),
        ("GATEWAY_ARTIFACTS_URI", "ftp://files/artifacts"),
        ("GATEWAY_ARTIFACTS_URI", "s3:///no-bucket"),
        ("GATEWAY_ARTIFACTS_S3_SECURE", "maybe"),
    ],
)
def test_bad_artifact_settings_are_refused(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({"GATEWAY_DATA_DIR": str(tmp_path), variable: value})


def test_artifact_settings_are_read_from_their_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_ARTIFACTS_URI": "s3://bucket/prefix",
            "GATEWAY_ARTIFACTS_S3_ENDPOINT": "minio:9000",
            "GATEWAY_ARTIFACTS_S3_SECRET_KEY": "very-secret",
            "GATEWAY_ARTIFACTS_S3_SECURE": "false",
            "GATEWAY_ARTIFACTS_S3_MULTIPART": "false",
            "GATEWAY_ARTIFACT_DIRECTORIES": "allow",
            "GATEWAY_ARTIFACT_MAX_FILE_BYTES": "1048576",
        }
    )
    assert (settings.artifacts_s3_endpoint, settings.artifacts_s3_secure) == ("minio:9000", False)
    assert (settings.artifact_directories, settings.artifact_max_file_bytes) == ("allow", 1048576)
    assert not settings.artifacts_s3_multipart
    assert "very-secret" not in repr(settings)
