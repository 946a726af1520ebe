"""``gateway.zero_copy``: ASGI's ``http.response.zerocopysend`` on a real uvicorn server over loopback.

A small app sends a file with the extension's message; the tests check the bytes, the framing, the
keep-alive connection after it, and what happens when the file or the client misbehaves: nothing is
left behind (the sender's duplicated descriptors are closed) and the server goes on serving. Last, the
gateway itself: a local artifact goes out by ``sendfile``, an S3 object is streamed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway import zero_copy
from gateway.http import ZERO_COPY_SEND
from gateway.settings import Settings
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.artifact_servers import ServerFarm
from tests.support.live_server import LiveServer, start_live_server
from tests.support.waiting import eventually
from tests.support.world import World

MiB = 1024 * 1024


class FileEndpoint:
    """Sends ``path`` with one zero-copy message, as the query string asks; remembers the file's position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions_after: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = Request(scope).query_params
        offset = int(query["offset"]) if "offset" in query else None
        count = int(query["count"]) if "count" in query else None
        declared = query.get("declared")
        headers = [] if declared is None else [(b"content-length", declared.encode())]
        with open(self.path, "rb") as file:
            file.seek(int(query.get("seek", "0")))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            message: dict[str, object] = {"type": ZERO_COPY_SEND, "file": file, "more_body": False}
            if offset is not None:
                message["offset"] = offset
            if count is not None:
                message["count"] = count
            await send(message)
            self.positions_after.append(file.tell())


async def extensions(request: Request) -> Response:
    return JSONResponse(sorted(request.scope.get("extensions", {})))


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zero-copy") / "payload.bin"
    path.write_bytes(os.urandom(24 * MiB))
    return path


@pytest.fixture(scope="module")
def endpoint(payload: Path) -> FileEndpoint:
    return FileEndpoint(payload)


@pytest.fixture(scope="module")
def server(settings: Settings, endpoint: FileEndpoint) -> Iterator[LiveServer]:
    app = Starlette(routes=[Route("/extensions", extensions), Route("/file", endpoint)])
    with start_live_server(settings, app=app) as live:
        yield live


@dataclass
class RecordedSend:
    count: int
    unsent: int | None = None
    """What the send left unsent when its thread ended; ``None`` while it runs."""


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[RecordedSend]:
    """The sends that went through ``os.sendfile`` (the server runs in this process)."""
    recorded: list[RecordedSend] = []
    run = zero_copy._FileSender.run

    def recording(sender: zero_copy._FileSender) -> None:
        send = RecordedSend(sender.remaining)
        recorded.append(send)
        run(sender)
        send.unsent = sender.remaining

    monkeypatch.setattr(zero_copy._FileSender, "run", recording)
    return recorded


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def raw_request(server: LiveServer, target: str, *, receive_buffer: int) -> socket.socket:
    address = urlsplit(server.base_url)
    assert address.hostname and address.port
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.connect((address.hostname, address.port))
    connection.sendall(f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n".encode())
    return connection


def read_until_closed(connection: socket.socket) -> int:
    total = 0
    connection.settimeout(10)
    try:
        while chunk := connection.recv(MiB):
            total += len(chunk)
    except ConnectionResetError:
        pass
    return total


def test_plain_tcp_requests_are_offered_zero_copy_send(server: LiveServer) -> None:
    assert ZERO_COPY_SEND in httpx.get(f"{server.base_url}/extensions").json()


def test_a_whole_file_goes_out_by_sendfile_and_the_connection_serves_the_next_request(
    server: LiveServer, payload: Path, sends: list[RecordedSend]
) -> None:
    size = payload.stat().st_size
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        first = client.get("/file", params={"offset": 0, "count": size, "declared": size})
        second = client.get("/file", params={"declared": size})  # no offset, no count: the whole file
    expected = payload.read_bytes()
    assert (first.status_code, first.headers["content-length"]) == (200, str(size))
    assert first.content == expected and second.content == expected
    assert [send.count for send in sends] == [size, size]


def test_offset_and_count_send_a_slice(server: LiveServer, payload: Path, sends: list[RecordedSend]) -> None:
    response = httpx.get(f"{server.base_url}/file", params={"offset": 3 * MiB + 5, "count": 1000, "declared": 1000})
    assert response.content == payload.read_bytes()[3 * MiB + 5 : 3 * MiB + 1005]
    assert [send.count for send in sends] == [1000]


def test_without_an_offset_the_send_starts_at_the_file_position_and_moves_it(
    server: LiveServer, payload: Path, endpoint: FileEndpoint
) -> None:
    response = httpx.get(f"{server.base_url}/file", params={"seek": 100, "count": 50, "declared": 50})
    assert response.content == payload.read_bytes()[100:150]
    assert endpoint.positions_after[-1] == 150


def test_a_chunked_response_is_copied_through_uvicorns_framing(
    server: LiveServer, payload: Path, sends: list[RecordedSend]
) -> None:
    response = httpx.get(f"{server.base_url}/file", params={"count": 3 * MiB + 7})
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == payload.read_bytes()[: 3 * MiB + 7]
    assert sends == []


def test_a_file_shorter_than_announced_breaks_the_connection_and_the_server_goes_on(
    server: LiveServer, payload: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = payload.stat().st_size
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{server.base_url}/file", params={"count": size + 10, "declared": size + 10})
    assert "shorter than Content-Length" in caplog.text
    assert httpx.get(f"{server.base_url}/extensions").status_code == 200


def test_a_client_that_hangs_up_mid_download_leaves_no_descriptor_behind(server: LiveServer, payload: Path) -> None:
    size = payload.stat().st_size
    before = open_descriptors()
    connection = raw_request(server, f"/file?declared={size}", receive_buffer=64 * 1024)
    assert connection.recv(64 * 1024)
    connection.close()
    assert eventually(lambda: open_descriptors() <= before, 10), "the sender kept its duplicated descriptors"
    assert httpx.get(f"{server.base_url}/extensions").status_code == 200


def test_a_stalled_client_is_dropped(
    server: LiveServer, payload: Path, monkeypatch: pytest.MonkeyPatch, sends: list[RecordedSend]
) -> None:
    monkeypatch.setattr(zero_copy, "STALLED_SEND_S", 0.5)
    size = payload.stat().st_size
    before = open_descriptors()
    connection = raw_request(server, f"/file?declared={size}", receive_buffer=64 * 1024)
    try:
        ended = eventually(lambda: [send.unsent is not None for send in sends] == [True], 10)
        assert ended, "the stalled send was not given up"
        received = read_until_closed(connection)  # the headers and what was in flight, then the end
    finally:
        connection.close()
    assert sends[0].unsent is not None and sends[0].unsent > 0
    assert 0 < received < size
    assert eventually(lambda: open_descriptors() <= before, 10)


@pytest.mark.parametrize(("store", "by_sendfile"), [("local", True), ("s3", False)])
def test_the_gateway_sends_local_artifacts_by_sendfile_and_streams_s3_objects(
    servers: ServerFarm, world: World, sends: list[RecordedSend], store: str, by_sendfile: bool
) -> None:
    project = world.project()
    http = ArtifactHttp(servers.get(store), project.id, world.member_token(project, Role.DEVELOPER))
    root = http.new_run()
    content = os.urandom(3 * MiB + 11)
    assert http.put(f"{root}/weights.bin", content).status_code == 200
    response = http.get(f"{root}/weights.bin")
    assert (response.status_code, response.headers["content-length"]) == (200, str(len(content)))
    assert response.content == content
    assert [send.count for send in sends] == ([len(content)] if by_sendfile else [])
