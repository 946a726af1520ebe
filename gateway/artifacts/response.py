"""``DownloadResponse``: a stored object as an HTTP response body.

A local file goes out zero-copy (``os.sendfile``) when the server offers ASGI's
``http.response.zerocopysend`` (``gateway.zero_copy``, which ``serve`` installs); an S3 object, a TLS
connection or a server without the extension (the in-process test transport) gets the object
streamed chunk by chunk, each read in a worker thread. Either way the object is closed at the end,
and also when the response never starts.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.artifacts.store import Download
from gateway.http import ZERO_COPY_SEND


def length_headers(download: Download) -> dict[str, str]:
    """``Content-Length`` when the object's size is known (an S3 object may not say)."""
    return {} if download.size is None else {"Content-Length": str(download.size)}


class DownloadResponse(StreamingResponse):
    def __init__(self, download: Download, media_type: str) -> None:
        headers = length_headers(download)
        super().__init__(download, media_type=media_type, headers=headers, background=BackgroundTask(download.aclose))
        self._download = download
        self._zero_copy = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._zero_copy = (
            ZERO_COPY_SEND in scope.get("extensions", {})
            and self._download.file is not None
            and self._download.size is not None
        )
        await super().__call__(scope, receive, send)

    async def stream_response(self, send: Send) -> None:
        if not self._zero_copy:
            await super().stream_response(send)
            return
        size = self._download.size or 0
        file = self._download.file
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": ZERO_COPY_SEND, "file": file, "offset": 0, "count": size, "more_body": False})
        self._download.sent_without_copy(size)
