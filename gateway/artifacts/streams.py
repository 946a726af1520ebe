"""A request body as a file-like object for a backend that pulls from a worker thread.

``ChunkReader.read(size)`` gathers chunks until it has ``size`` bytes (so minio's part reader gets
a whole part in one call instead of re-concatenating bytes), keeps only what it has not handed
out yet, and raises ``PayloadTooLarge`` as soon as the running total passes the limit: memory is
bounded by the largest ``size`` asked for plus one chunk, whatever the body's length.

A request body (an async chunk source) is read on the event loop by ``BodyPump``, ahead of the
worker thread that stores it: the loop keeps the socket drained while the thread writes, and the
thread crosses to the loop once per ``PUMP_PIECE`` bytes instead of once per network chunk (64 KiB).
At most ``PUMP_DEPTH`` pieces wait between the two, so read-ahead memory stays a few MiB per upload.
Iterating a pump must happen in an anyio worker thread; sync iterables are read directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Iterable, Iterator

import anyio
import anyio.from_thread

from gateway.errors import PayloadTooLarge

Chunks = AsyncIterable[bytes] | Iterable[bytes]
DEFAULT_READ = 1024 * 1024
PUMP_PIECE = 1024 * 1024
PUMP_DEPTH = 2


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The artifact file is larger than this project's {limit}-byte limit (the project's "
        "max_artifacts_size, else GATEWAY_ARTIFACT_MAX_FILE_BYTES). Split it into smaller files."
    )


class BodyPump:
    """An async body read on the event loop and iterated, a piece at a time, from a worker thread.

    ``async with BodyPump(body, limit) as pump:`` reads ahead in a task until the block ends, when
    the task stops and what it read and nobody took is dropped. A failure of the body
    (``ClientDisconnect``) reaches the thread as that exception. Reading stops once more than
    ``max_bytes`` have arrived: the thread's ``ChunkReader`` sees the excess and refuses it.
    """

    def __init__(self, chunks: AsyncIterable[bytes], max_bytes: int) -> None:
        self._chunks = chunks
        self._max_bytes = max_bytes
        self._send, self._receive = anyio.create_memory_object_stream[bytes | Exception](PUMP_DEPTH)
        self._task: asyncio.Future[None]

    async def __aenter__(self) -> BodyPump:
        self._task = asyncio.ensure_future(self.run())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._task.cancel()
        with anyio.CancelScope(shield=True), contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._receive.close()

    async def run(self) -> None:
        """Read the body into pieces of about ``PUMP_PIECE`` bytes; runs on the event loop."""
        pieces: list[bytes] = []
        gathered = total = 0
        async with self._send:
            try:
                async for chunk in self._chunks:
                    pieces.append(chunk)
                    gathered += len(chunk)
                    total += len(chunk)
                    if gathered >= PUMP_PIECE or total > self._max_bytes:
                        await self._send.send(b"".join(pieces))
                        pieces, gathered = [], 0
                        if total > self._max_bytes:
                            return
                if pieces:
                    await self._send.send(b"".join(pieces))
            except Exception as error:  # noqa: BLE001 - handed to the thread, which raises it
                await self._send.send(error)

    def __iter__(self) -> Iterator[bytes]:
        """The pieces, in order; runs in a worker thread."""
        while True:
            try:
                item = anyio.from_thread.run(self._receive.receive)
            except anyio.EndOfStream:
                return
            if isinstance(item, Exception):
                raise item
            yield item


class ChunkReader:
    def __init__(self, chunks: Iterable[bytes], max_bytes: int) -> None:
        self._chunks = iter(chunks)
        self.max_bytes = max_bytes
        self.total = 0
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._eof = False

    def read(self, size: int = -1, /) -> bytes:
        """``size`` bytes (fewer only at the end), gathered from as many chunks as that takes."""
        wanted = size if size is not None and size >= 0 else DEFAULT_READ
        while self._buffered < wanted and self._pull():
            pass
        data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        head, rest = data[:wanted], data[wanted:]
        self._pieces = [rest] if rest else []
        self._buffered = len(rest)
        return head

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes of what is at hand, without gathering or copying (``b""`` at the end)."""
        wanted = size if size is not None and size >= 0 else DEFAULT_READ
        while not self._pieces and self._pull():
            pass
        if not self._pieces:
            return b""
        piece = self._pieces.pop(0)
        if len(piece) > wanted:
            piece, rest = piece[:wanted], piece[wanted:]
            self._pieces.insert(0, rest)
        self._buffered -= len(piece)
        return piece

    def _pull(self) -> bool:
        """Buffer the next chunk; ``False`` at the end of the body."""
        if self._eof:
            return False
        chunk = self._next()
        if chunk is None:
            self._eof = True
            return False
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise too_large(self.max_bytes)
        if chunk:
            self._pieces.append(chunk)
            self._buffered += len(chunk)
        return True

    def _next(self) -> bytes | None:
        return next(self._chunks, None)
