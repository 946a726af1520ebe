"""ASGI's zero-copy send (``http.response.zerocopysend``) on uvicorn's httptools protocol.

uvicorn does not implement the extension, so without it every byte of a local artifact passes through
Python twice: read into a buffer in a worker thread, then copied into the socket by the event loop.
With it, the kernel moves the file's pages into the socket (``os.sendfile``). On the 2-core bench
machine a cold 100 MiB download went from ~72 % to ~100 % of a raw disk read (docs/decisions.md).

Wiring: ``ZeroCopyHttpToolsProtocol`` is uvicorn's protocol with one hook, where uvicorn starts a
request's ASGI task. A plain-TCP request gets the extension in ``scope["extensions"]`` and a ``send``
that understands its message; every other message goes on to uvicorn's own ``send``, which still
frames the response (Content-Length, completion, keep-alive). A TLS connection gets neither (the
kernel cannot encrypt), and the app streams instead. The message is the ASGI spec's: ``file`` (an
object with ``fileno()``), optional ``offset`` and ``count``, ``more_body``.

Safety: the bytes are sent from a worker thread on *duplicates* of the socket's and the file's
descriptors, which the thread closes itself. Nothing the event loop closes meanwhile (the connection,
the file) can be reused under the thread, so no response can get another response's bytes, even when
the request is cancelled and the thread is left to notice. A client that takes nothing for
``STALLED_SEND_S`` seconds is dropped; one that goes away ends the send at once.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from uvicorn._types import ASGI3Application, ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import is_ssl

from gateway.http import ZERO_COPY_SEND

STALLED_SEND_S = 60.0
"""A download whose client accepts no byte for this long is dropped (its connection is aborted)."""
CONCURRENT_SENDS = 64
"""Each zero-copy send holds a thread for its whole length, as an upload does; more wait their turn."""
_POLL_SLICE_MS = 250
"""How often a waiting sender checks whether its request was cancelled."""
_FALLBACK_CHUNK = 1024 * 1024

_senders = ThreadPoolExecutor(max_workers=CONCURRENT_SENDS, thread_name_prefix="zero-copy-send")


class ZeroCopyHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus ``http.response.zerocopysend`` on plain-TCP connections."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if not is_ssl(self.transport) and self.transport.get_extra_info("socket") is not None:
            cycle.scope.setdefault("extensions", {})[ZERO_COPY_SEND] = {}
            cycle.send = _ZeroCopySend(cycle, cycle.send)  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


class _ZeroCopySend:
    """A request's ``send``: zero-copy messages are sent here, everything else by uvicorn's ``send``."""

    def __init__(self, cycle: RequestResponseCycle, send: Any) -> None:
        self._cycle = cycle
        self._send = send

    async def __call__(self, message: ASGISendEvent) -> None:
        if message["type"] != ZERO_COPY_SEND:
            await self._send(message)
            return
        cycle = self._cycle
        if not cycle.response_started or cycle.response_complete:
            raise RuntimeError(f"Unexpected ASGI message '{ZERO_COPY_SEND}' outside a response body.")
        fields: dict[str, Any] = dict(message)
        file_fd = fields["file"].fileno()
        offset = fields.get("offset")
        start = os.lseek(file_fd, 0, os.SEEK_CUR) if offset is None else offset
        count = fields.get("count")
        length = os.fstat(file_fd).st_size - start if count is None else count
        more_body = bool(fields.get("more_body", False))
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        if cycle.scope["method"] != "HEAD" and length > 0:
            transport_busy = cycle.transport.get_write_buffer_size() > 0
            if cycle.chunked_encoding or transport_busy or length > cycle.expected_content_length:
                # The kernel cannot frame chunks, nor jump bytes already queued; uvicorn refuses excess.
                await self._copy(file_fd, start, length)
            elif not await self._sendfile(file_fd, start, length):
                return  # the client went away, or stalled and was dropped
            if offset is None:
                os.lseek(file_fd, start + length, os.SEEK_SET)
        await self._send({"type": "http.response.body", "body": b"", "more_body": more_body})

    async def _sendfile(self, file_fd: int, offset: int, count: int) -> bool:
        """Send ``count`` bytes from ``offset``; ``False`` when the connection ended (and is aborted)."""
        cycle = self._cycle
        socket_fd = cycle.transport.get_extra_info("socket").fileno()
        sender = _FileSender(os.dup(socket_fd), os.dup(file_fd), offset, count)
        try:
            await asyncio.get_running_loop().run_in_executor(_senders, sender.run)
        except BaseException:
            sender.cancel()  # the thread stops within a poll slice; it owns its descriptors
            raise
        if sender.short:
            cycle.transport.abort()
            raise _shrank()
        if sender.remaining:  # gone or stalled: the response cannot be completed
            cycle.transport.abort()
            cycle.disconnected = True  # as uvicorn's connection_lost will say, before the app returns
            return False
        cycle.expected_content_length -= count
        return True

    async def _copy(self, file_fd: int, offset: int, count: int) -> None:
        loop = asyncio.get_running_loop()
        end = offset + count
        while offset < end:
            chunk = await loop.run_in_executor(_senders, os.pread, file_fd, min(_FALLBACK_CHUNK, end - offset), offset)
            if not chunk:
                raise _shrank()
            offset += len(chunk)
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})


def _shrank() -> RuntimeError:
    return RuntimeError("Response content shorter than Content-Length: the file shrank while it was sent.")


class _FileSender:
    """``os.sendfile`` in a worker thread until done, the client is gone or stalled, or it is cancelled.

    Owns (and closes) its two descriptors. The socket is non-blocking (the event loop's): when it is
    full, the thread waits in ``poll`` in short slices, so a cancellation is noticed promptly.
    """

    def __init__(self, socket_fd: int, file_fd: int, offset: int, count: int) -> None:
        self._socket_fd = socket_fd
        self._file_fd = file_fd
        self._offset = offset
        self.remaining = count
        self.short = False
        """The file ended before ``count`` bytes: it shrank after its length was announced."""
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self) -> None:
        try:
            self._send()
        except OSError:  # EPIPE, ECONNRESET: the client went away
            pass
        finally:
            os.close(self._socket_fd)
            os.close(self._file_fd)

    def _send(self) -> None:
        poller = select.poll()
        poller.register(self._socket_fd, select.POLLOUT)
        progressed = time.monotonic()
        while self.remaining and not self._cancelled.is_set():
            try:
                sent = os.sendfile(self._socket_fd, self._file_fd, self._offset, self.remaining)
            except BlockingIOError:
                if time.monotonic() - progressed > STALLED_SEND_S:
                    return
                poller.poll(_POLL_SLICE_MS)
                continue
            if sent == 0:
                self.short = True
                return
            self._offset += sent
            self.remaining -= sent
            progressed = time.monotonic()
