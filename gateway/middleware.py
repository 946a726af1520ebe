"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it buffers and breaks streaming).

- ``AccessLog``: request id (echoes a sane ``X-Request-Id`` or makes one), one JSON access-log line
  per request with route, status, duration, bytes and who called, and the request's metrics (same
  route template, status and duration). Never logs headers or bodies.
- ``EncodedPathSegments``: ``/api/v4/projects/group%2Fsub%2Fproj/...`` must route as one path
  parameter; ASGI servers decode ``%2F`` in ``path``, so the id segment is restored from ``raw_path``.
- ``BodySizeLimit``: refuses request bodies over the limit — at once when ``Content-Length`` says
  so, or as soon as a streamed body crosses it. Artifact upload routes are exempt (own limits).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import PayloadTooLarge
from gateway.http import ZERO_COPY_SEND, error_response, route_template
from gateway.metrics import Metrics

access_log = logging.getLogger("gateway.access")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        bytes_in = 0
        bytes_out = 0

        async def counting_receive() -> Message:
            nonlocal bytes_in
            message = await receive()
            if message["type"] == "http.request":
                bytes_in += len(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, bytes_out
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            elif message["type"] == ZERO_COPY_SEND:
                bytes_out += message.get("count") or 0
            await send(message)

        try:
            await self.app(scope, counting_receive, send_with_id)
        finally:
            duration_s = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.request_done(route, scope["method"], status, duration_s)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_s * 1000, 3),
                    "bytes_in": bytes_in,
                    "bytes_out": bytes_out,
                    "project_id": state.get("project_id"),
                    "principal_id": state.get("principal_id"),
                    "token_id": state.get("token_id"),
                },
            )


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.match(text) else None
    return None


_ID_SEGMENT = re.compile(rb"^/api/v4/(projects|groups)/([^/]+)(/.*)?$")


class EncodedPathSegments:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or quote(scope["path"]).encode()
            raw = raw.split(b"?", 1)[0]
            match = _ID_SEGMENT.match(raw)
            if match and b"%2f" in match.group(2).lower():
                kind, segment, rest = match.group(1), match.group(2), match.group(3) or b""
                # Keep the id segment encoded (handlers unquote it), decode the rest as usual.
                path = f"/api/v4/{kind.decode()}/{segment.decode('latin-1')}{unquote(rest.decode('latin-1'))}"
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, exempt: Callable[[str], bool]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                response = error_response(scope["path"], _too_large(limit))
                await response(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than the {limit}-byte limit (GATEWAY_MAX_BODY_BYTES)")
