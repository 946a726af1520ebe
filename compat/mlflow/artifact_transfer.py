"""The HTTP side of artifact bytes, shared by MLflow's proxy routes and GitLab's package route.

Owns: streaming a request body into the store (never ``await request.body()``), streaming an object
back, refusing encoded separators in the raw URL, the early ``Content-Length`` check, and the
documented caveat (no directories below an artifact root unless ``GATEWAY_ARTIFACT_DIRECTORIES=allow``).
Runs outside any database transaction: the caller has already authorised and located the root.
"""

from __future__ import annotations

import mimetypes
import re

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.artifacts import ArtifactStore, ObjectKey, RelativePath
from gateway.artifacts.response import DownloadResponse, length_headers
from gateway.artifacts.streams import too_large
from gateway.errors import ArtifactDirectoriesNotSupported, InvalidParameter
from gateway.settings import Settings

_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c)", re.IGNORECASE)


def store_of(request: Request) -> ArtifactStore:
    store = request.state.artifacts
    assert isinstance(store, ArtifactStore)
    return store


def settings_of(request: Request) -> Settings:
    settings = request.state.settings
    assert isinstance(settings, Settings)
    return settings


def refuse_encoded_separators(request: Request, marker: bytes) -> None:
    """400 when the raw URL after ``marker`` hides a ``/`` or ``\\`` as ``%2F`` / ``%5C``.

    The server decodes the path before routing, so ``a%2Fb`` would otherwise look like ``a/b``.
    """
    raw = request.scope.get("raw_path") or b""
    _, found, rest = raw.partition(marker)
    if found and _ENCODED_SEPARATOR.search(rest.split(b"?", 1)[0]):
        raise InvalidParameter("Invalid artifact path: encoded path separators (%2F, %5C) are not allowed.")


def check_declared_length(request: Request, limit: int) -> None:
    """413 before reading a byte when ``Content-Length`` already says the file is too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


def enforce_directory_caveat(request: Request, path: RelativePath) -> None:
    """GitLab's documented caveat: files only at the root of a run's (or version's) artifacts."""
    if path.has_directories and settings_of(request).artifact_directories != "allow":
        raise ArtifactDirectoriesNotSupported(
            f"artifact_path must be empty: directories are not supported in artifacts (got '{path.text}'). "
            "Log files at the artifact root (artifact_path=None or ''), for example "
            "log_model(model, artifact_path=''), or ask the operator to set GATEWAY_ARTIFACT_DIRECTORIES=allow."
        )


async def receive_body(request: Request, store: ArtifactStore, key: ObjectKey, project_limit: int | None) -> int:
    """Stream the request body into ``key`` under the project's size limit; returns the byte count."""
    limit = store.limit(project_limit)
    check_declared_length(request, limit)
    try:
        return await store.put(key, request.stream(), max_bytes=limit)
    except ClientDisconnect:
        raise InvalidParameter("The upload was interrupted before the body was complete; nothing was stored.") from None


async def send_object(request: Request, store: ArtifactStore, key: ObjectKey, name: str) -> Response:
    """Stream ``key`` back (``NotFound`` before the first byte when it does not exist); HEAD reads no bytes."""
    download = await store.get(key)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if request.method == "HEAD":
        await download.aclose()
        return Response(None, media_type=media_type, headers=length_headers(download))
    return DownloadResponse(download, media_type)
