"""Artifact storage units: path validation and key layout, the local backend's guards, the size limit."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from gateway.artifacts import ArtifactStore, candidate_root, file_name, relative_path
from gateway.artifacts.keys import MAX_PATH_BYTES, ArtifactRoot, ObjectKey
from gateway.artifacts.local import LocalBackend
from gateway.artifacts.store import Download
from gateway.artifacts.streams import PUMP_DEPTH, PUMP_PIECE, BodyPump, ChunkReader
from gateway.errors import InvalidParameter, NotFound, NotImplementedByStore, PayloadTooLarge


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        ("", ()),
        ("model.pkl", ("model.pkl",)),
        ("model/MLmodel", ("model", "MLmodel")),
        ("ünï+cødé (1).txt", ("ünï+cødé (1).txt",)),
        ("img_key+step+1+timestamp+1.png", ("img_key+step+1+timestamp+1.png",)),
        ("..hidden/x..y", ("..hidden", "x..y")),
        ("100%.txt", ("100%.txt",)),
    ],
)
def test_safe_relative_paths_are_accepted(raw: str, segments: tuple[str, ...]) -> None:
    assert relative_path(raw).segments == segments


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("..", "'..'"),
        ("a/../b", "'..'"),
        ("a/..", "'..'"),
        (".", "'.'"),
        ("./a", "'.'"),
        ("/etc/passwd", "absolute"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("a\\b", "backslash"),
        ("..\\..\\x", "backslash"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a%2Fb", "encoded"),
        ("a%2fb", "encoded"),
        ("a%5Cb", "encoded"),
        ("x" * 256, "255 bytes"),
        ("a/" * (MAX_PATH_BYTES // 2) + "b", f"{MAX_PATH_BYTES} bytes"),
    ],
)
def test_unsafe_relative_paths_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidParameter, match=reason) as caught:
        relative_path(raw)
    assert caught.value.status == 400


def test_a_file_name_is_one_segment() -> None:
    assert file_name("big.bin") == "big.bin"
    with pytest.raises(InvalidParameter):
        file_name("dir/big.bin")
    with pytest.raises(InvalidParameter):
        file_name("..")


def test_keys_live_under_the_project_and_the_owner() -> None:
    root = candidate_root(3, 7)
    assert root.prefix == "projects/3/candidates/7"
    assert root.key(relative_path("")) == "projects/3/candidates/7"
    assert root.key(relative_path("model/MLmodel")) == "projects/3/candidates/7/model/MLmodel"
    assert ArtifactRoot(3, "model_versions", 12).key(relative_path("a")) == "projects/3/model_versions/12/a"


@pytest.mark.parametrize("owner", ["../4", "7/8", "", "7 "])
def test_an_unsafe_owner_id_can_never_make_a_key(owner: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        ArtifactRoot(3, "logged_models", owner)


# ------------------------------------------------------------------------------------- local backend
KEY = ObjectKey("projects/1/candidates/1/file.txt")


def put(backend: LocalBackend, key: ObjectKey, chunks: list[bytes], limit: int = 1 << 20) -> None:
    backend.put(key, ChunkReader(chunks, limit))


def read_all(backend: LocalBackend, key: ObjectKey) -> bytes:
    reader = backend.open(key)
    try:
        return b"".join(iter(lambda: reader.read(4), b""))
    finally:
        reader.close()


def test_local_round_trip_list_and_delete(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    put(backend, KEY, [b"hello ", b"world"])
    put(backend, ObjectKey("projects/1/candidates/1/sub/inner.bin"), [b"x" * 10])
    assert read_all(backend, KEY) == b"hello world"
    listing = backend.list(ObjectKey("projects/1/candidates/1"))
    assert [(e.name, e.is_dir, e.size) for e in listing] == [("file.txt", False, 11), ("sub", True, None)]
    assert backend.list(KEY) == []  # a file lists as nothing
    assert backend.list(ObjectKey("projects/1/candidates/2")) == []
    backend.delete(ObjectKey("projects/1/candidates/1"))
    with pytest.raises(NotFound):
        backend.open(KEY)
    backend.delete(KEY)  # deleting nothing is fine


def test_local_upload_that_fails_leaves_nothing_visible(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    put(backend, KEY, [b"old"])

    def broken() -> Iterator[bytes]:
        yield b"partial new content"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        backend.put(KEY, ChunkReader(broken(), 1 << 20))
    with pytest.raises(PayloadTooLarge):
        put(backend, KEY, [b"x" * 6, b"y" * 6], limit=10)
    assert read_all(backend, KEY) == b"old"
    assert os.listdir(tmp_path / ".staging") == []


def test_local_backend_refuses_symlinks(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    backend = LocalBackend(root)
    (root / "projects").mkdir()
    (root / "projects" / "9").symlink_to(outside)  # a link planted inside the tree
    linked = ObjectKey("projects/9/secret.txt")
    with pytest.raises(NotFound):
        backend.open(linked)
    assert backend.list(ObjectKey("projects/9")) == []
    with pytest.raises(NotFound):
        put(backend, ObjectKey("projects/9/new.txt"), [b"x"])
    backend.delete(ObjectKey("projects/9"))
    assert (outside / "secret.txt").read_text() == "secret" and not (outside / "new.txt").exists()
    (root / "projects" / "1").mkdir()
    (root / "projects" / "1" / "link.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(NotFound):
        backend.open(ObjectKey("projects/1/link.txt"))
    assert backend.list(ObjectKey("projects/1")) == []


def test_local_file_and_directory_cannot_share_a_name(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    put(backend, ObjectKey("projects/1/candidates/1/a"), [b"file"])
    with pytest.raises(InvalidParameter, match="cannot share a name"):
        put(backend, ObjectKey("projects/1/candidates/1/a/b"), [b"x"])
    put(backend, ObjectKey("projects/1/candidates/1/d/b"), [b"x"])
    with pytest.raises(InvalidParameter, match="cannot share a name"):
        put(backend, ObjectKey("projects/1/candidates/1/d"), [b"x"])


def test_local_backend_has_no_multipart(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    assert not backend.supports_multipart
    with pytest.raises(NotImplementedByStore, match=r"^Multipart upload is not supported"):
        backend.create_multipart(KEY, 2)


def test_store_streams_async_chunks_through_a_worker_thread(tmp_path: Path) -> None:
    store = ArtifactStore(LocalBackend(tmp_path), max_file_bytes=100, signing_key=b"k")

    async def body(parts: list[bytes]) -> AsyncIterator[bytes]:
        for part in parts:
            await anyio.sleep(0)
            yield part

    async def scenario() -> tuple[int, bytes, str]:
        size = await store.put(KEY, body([b"a" * 40, b"b" * 40]))
        download = await store.get(KEY)
        data = b"".join([chunk async for chunk in download])
        try:
            await store.put(KEY, body([b"c" * 60, b"d" * 60]))
        except PayloadTooLarge as error:
            return size, data, error.message
        raise AssertionError("no size limit")

    size, data, message = anyio.run(scenario)
    assert (size, data) == (80, b"a" * 40 + b"b" * 40)
    assert "100-byte limit" in message and "GATEWAY_ARTIFACT_MAX_FILE_BYTES" in message


def test_an_async_body_that_fails_midway_stores_nothing_and_reports_the_failure(tmp_path: Path) -> None:
    store = ArtifactStore(LocalBackend(tmp_path), max_file_bytes=10 * PUMP_PIECE, signing_key=b"k")

    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * PUMP_PIECE  # a whole piece reaches the backend before the failure
        await anyio.sleep(0)
        raise ConnectionResetError("client went away")

    async def scenario() -> None:
        with pytest.raises(ConnectionResetError, match="client went away"):
            await store.put(KEY, broken())

    anyio.run(scenario)
    with pytest.raises(NotFound):
        store.backend.open(KEY)
    assert os.listdir(tmp_path / ".staging") == []


def test_an_endless_body_is_refused_after_reading_just_past_the_limit(tmp_path: Path) -> None:
    store = ArtifactStore(LocalBackend(tmp_path), max_file_bytes=100, signing_key=b"k")
    pulled: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            pulled.append(60)
            yield b"z" * 60

    async def scenario() -> None:
        with pytest.raises(PayloadTooLarge):
            await store.put(KEY, endless())

    anyio.run(scenario)
    assert sum(pulled) == 120  # the first chunk past the limit, and not one more


def test_the_pump_reads_ahead_only_a_few_pieces_when_nobody_drains_it() -> None:
    """What bounds an upload's memory while the store is slower than the network."""
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(1000):
            pulled.append(64 * 1024)
            yield b"y" * (64 * 1024)

    async def scenario() -> None:
        async with BodyPump(body(), max_bytes=10**12):
            await anyio.sleep(0.2)

    anyio.run(scenario)
    # PUMP_DEPTH pieces wait in the pipe, one more is blocked on the way in.
    assert sum(pulled) <= (PUMP_DEPTH + 1) * (PUMP_PIECE + 64 * 1024)
    assert sum(pulled) >= PUMP_DEPTH * PUMP_PIECE


def test_read1_returns_what_is_at_hand_without_gathering() -> None:
    reader = ChunkReader([b"ab", b"cde", b"", b"f"], max_bytes=100)
    assert [reader.read1(2), reader.read1(2), reader.read1(10), reader.read1(10), reader.read1(10)] == [
        b"ab",
        b"cd",
        b"e",
        b"f",
        b"",
    ]
    assert reader.total == 6


class _RecordingReader:
    """An open object of three chunks whose reads take a while and leave a trace (a pure unit: no disk)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._chunks = [b"1" * 3, b"2" * 3, b"3" * 3]

    @property
    def size(self) -> int:
        return 9

    @property
    def file(self) -> None:
        return None

    def read(self, size: int, /) -> bytes:
        self.events.append("read")
        time.sleep(0.01)
        assert "close" not in self.events, "read after close"
        return self._chunks.pop(0) if self._chunks else b""

    def close(self) -> None:
        self.events.append("close")


def test_a_download_reads_the_next_chunk_while_one_is_sent_and_closes_after_the_last_read(tmp_path: Path) -> None:
    store = ArtifactStore(LocalBackend(tmp_path), max_file_bytes=100, signing_key=b"k")

    async def scenario() -> tuple[bytes, list[str], list[str]]:
        whole = _RecordingReader()
        data = b"".join([chunk async for chunk in Download(store, whole)])
        abandoned = _RecordingReader()
        chunks = Download(store, abandoned).__aiter__()
        first = await anext(chunks)  # the second chunk is being read now, ahead of its turn
        assert first == b"111"
        await chunks.aclose()  # the client went away
        return data, whole.events, abandoned.events

    data, whole, abandoned = anyio.run(scenario)
    assert data == b"111222333"
    assert whole == ["read", "read", "read", "read", "close"]
    assert abandoned == ["read", "read", "close"]  # the read ahead ended before the file was closed
