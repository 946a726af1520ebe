"""``ArtifactStore``: the async face of a storage backend, the one object handlers talk to.

Every backend call runs in a worker thread, never on the event loop. An upload holds one thread
for its whole duration (the backend pulls the body through ``ChunkReader``, while ``BodyPump``
reads it off the socket on the event loop), so uploads get their own capacity limiter: a burst of
slow uploads cannot starve the database work that shares Starlette's default thread pool. Short
store calls (open, read a chunk, list, delete) use a second limiter for the same reason. The store
enforces the per-file size limit.

Multipart upload ids are sealed to their key (``<store id>.<HMAC of key and id>``) before a client
sees them: completing or aborting an upload under any other key is "no such upload", whatever the
store itself checks (S3 does; some S3 look-alikes do not).

A ``TransferObserver`` (the app's metrics) hears of bytes in and out and of objects written, labelled
by the store's kind (``local`` / ``s3``); multipart parts go straight to the store, so a completed
multipart upload counts as an object written but its bytes are not seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import BinaryIO, Protocol, TypeVar

import anyio
import anyio.to_thread

from gateway.artifacts.backend import Entry, MultipartUpload, ObjectReader, StorageBackend
from gateway.artifacts.keys import ObjectKey
from gateway.artifacts.streams import BodyPump, ChunkReader, Chunks
from gateway.errors import NotFound

T = TypeVar("T")
DOWNLOAD_CHUNK = 1024 * 1024
"""Bigger chunks did not download faster, but glibc keeps freed multi-MiB buffers in the heap: with
4 MiB a worker stayed 8-16 MB larger after a few 100 MiB downloads, with 1 MiB it stays flat."""
CONCURRENT_UPLOADS = 64
CONCURRENT_STORE_CALLS = 64


class TransferObserver(Protocol):
    def bytes_in(self, store: str, count: int) -> None: ...

    def bytes_out(self, store: str, count: int) -> None: ...

    def object_written(self, store: str) -> None: ...


class _Unobserved:
    def bytes_in(self, store: str, count: int) -> None:
        pass

    def bytes_out(self, store: str, count: int) -> None:
        pass

    def object_written(self, store: str) -> None:
        pass


class Download:
    """An open object: iterate it for its bytes; it closes itself at the end (or on ``aclose``)."""

    def __init__(self, store: ArtifactStore, reader: ObjectReader) -> None:
        self._store = store
        self._reader = reader
        self._closed = False
        self.size = reader.size

    @property
    def file(self) -> BinaryIO | None:
        """The open local file, for a zero-copy send (``gateway.artifacts.response``); ``None`` for S3."""
        return self._reader.file

    def sent_without_copy(self, count: int) -> None:
        """``count`` bytes left by a zero-copy send, which bypasses the iterator that counts them."""
        self._store.observer.bytes_out(self._store.kind, count)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # The next chunk is read in a worker thread while this one is being sent, so the store and
        # the socket work at the same time instead of taking turns; a download holds two chunks at most.
        ahead: asyncio.Task[bytes] | None = self._read_ahead()
        try:
            while ahead is not None:
                chunk = await ahead
                ahead = None
                if not chunk:
                    break
                ahead = self._read_ahead()
                self._store.observer.bytes_out(self._store.kind, len(chunk))
                yield chunk
        finally:
            if ahead is not None:  # the client went away: the read in flight must end before the close
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await ahead
            await self.aclose()

    def _read_ahead(self) -> asyncio.Task[bytes]:
        return asyncio.ensure_future(self._store._call(self._reader.read, DOWNLOAD_CHUNK))

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            with anyio.CancelScope(shield=True):  # a client that went away still gets its file closed
                await self._store._call(self._reader.close)


class ArtifactStore:
    def __init__(
        self,
        backend: StorageBackend,
        *,
        max_file_bytes: int,
        signing_key: bytes,
        kind: str = "local",
        observer: TransferObserver | None = None,
    ) -> None:
        self.backend = backend
        self.kind = kind
        """``local`` or ``s3``: the label of this store's transfer metrics."""
        self.observer: TransferObserver = observer or _Unobserved()
        self.max_file_bytes = max_file_bytes
        self._signing_key = hashlib.sha256(b"mlgateway multipart upload ids\n" + signing_key).digest()
        self._uploads = anyio.CapacityLimiter(CONCURRENT_UPLOADS)
        self._calls = anyio.CapacityLimiter(CONCURRENT_STORE_CALLS)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.backend!r})"

    @property
    def supports_multipart(self) -> bool:
        return self.backend.supports_multipart

    def limit(self, project_limit: int | None) -> int:
        """The size limit of one file: the project's own when it has one, else the instance default."""
        return self.max_file_bytes if project_limit is None else project_limit

    async def put(self, key: ObjectKey, chunks: Chunks, *, max_bytes: int | None = None) -> int:
        """Stream ``chunks`` into ``key``; returns the byte count. ``PayloadTooLarge`` past the limit."""
        limit = self.limit(max_bytes)
        if isinstance(chunks, AsyncIterable):
            async with BodyPump(chunks, limit) as pump:
                return await self._put(key, ChunkReader(pump, limit))
        return await self._put(key, ChunkReader(chunks, limit))

    async def _put(self, key: ObjectKey, reader: ChunkReader) -> int:
        try:
            await anyio.to_thread.run_sync(self.backend.put, key, reader, limiter=self._uploads)
        finally:
            self.observer.bytes_in(self.kind, reader.total)
        self.observer.object_written(self.kind)
        return reader.total

    async def get(self, key: ObjectKey) -> Download:
        """Open ``key`` for streaming; ``NotFound`` when there is no such object."""
        return Download(self, await self._call(self.backend.open, key))

    async def list(self, key: ObjectKey) -> list[Entry]:
        return await self._call(self.backend.list, key)

    async def delete(self, key: ObjectKey) -> None:
        await self._call(self.backend.delete, key)

    def ping(self) -> None:
        """Readiness check (synchronous: the health probe runs it in a worker thread)."""
        self.backend.ping()

    async def create_multipart(self, key: ObjectKey, num_parts: int) -> MultipartUpload:
        upload = await self._call(self.backend.create_multipart, key, num_parts)
        return MultipartUpload(self._seal(key, upload.upload_id), upload.parts)

    async def complete_multipart(
        self, key: ObjectKey, upload_id: str, parts: Sequence[tuple[int, str]], *, max_bytes: int | None = None
    ) -> None:
        store_id = self._unseal(key, upload_id)

        def complete() -> None:
            self.backend.complete_multipart(key, store_id, parts, max_bytes=self.limit(max_bytes))

        await self._call(complete)
        self.observer.object_written(self.kind)

    async def abort_multipart(self, key: ObjectKey, upload_id: str) -> None:
        await self._call(self.backend.abort_multipart, key, self._unseal(key, upload_id))

    def _mac(self, key: ObjectKey, store_id: str) -> str:
        return hmac.new(self._signing_key, f"{key}\n{store_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def _seal(self, key: ObjectKey, store_id: str) -> str:
        return f"{store_id}.{self._mac(key, store_id)}"

    def _unseal(self, key: ObjectKey, upload_id: str) -> str:
        store_id, dot, mac = upload_id[:-33], upload_id[-33:-32], upload_id[-32:]
        if dot != "." or not store_id or not hmac.compare_digest(mac, self._mac(key, store_id)):
            raise NotFound(f"No multipart upload {upload_id!r} for this artifact path.")
        return store_id

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=self._calls)
