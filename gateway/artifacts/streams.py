"""A request body as a file-like object for a backend that pulls from a worker thread.

``ChunkReader.read(size)`` gathers chunks until it has ``size`` bytes (so minio's part reader gets
a whole part in one call instead of re-concatenating bytes), keeps only what it has not handed
out yet, and raises ``PayloadTooLarge`` as soon as the running total passes the limit: memory is
bounded by the largest ``size`` asked for plus one chunk, whatever the body's length.

Async chunk sources (``request.stream()``) are stepped on the event loop through
``anyio.from_thread.run``, so ``read`` must run in an anyio worker thread; sync iterables are read
directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import anyio.from_thread

from gateway.errors import PayloadTooLarge

Chunks = AsyncIterable[bytes] | Iterable[bytes]
DEFAULT_READ = 1024 * 1024


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The artifact file is larger than this project's {limit}-byte limit (the project's "
        "max_artifacts_size, else GATEWAY_ARTIFACT_MAX_FILE_BYTES). Split it into smaller files."
    )


class ChunkReader:
    def __init__(self, chunks: Chunks, max_bytes: int) -> None:
        self._async: AsyncIterator[bytes] | None = None
        self._sync: Iterator[bytes] | None = None
        if isinstance(chunks, AsyncIterable):
            self._async = aiter(chunks)
        else:
            self._sync = iter(chunks)
        self.max_bytes = max_bytes
        self.total = 0
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._eof = False

    def read(self, size: int = -1, /) -> bytes:
        wanted = size if size is not None and size >= 0 else DEFAULT_READ
        while self._buffered < wanted and not self._eof:
            chunk = self._next()
            if chunk is None:
                self._eof = True
            elif chunk:
                self.total += len(chunk)
                if self.total > self.max_bytes:
                    raise too_large(self.max_bytes)
                self._pieces.append(chunk)
                self._buffered += len(chunk)
        data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        head, rest = data[:wanted], data[wanted:]
        self._pieces = [rest] if rest else []
        self._buffered = len(rest)
        return head

    def _next(self) -> bytes | None:
        if self._sync is not None:
            return next(self._sync, None)
        return anyio.from_thread.run(self._anext)

    async def _anext(self) -> bytes | None:
        assert self._async is not None
        try:
            return await anext(self._async)
        except StopAsyncIteration:
            return None
