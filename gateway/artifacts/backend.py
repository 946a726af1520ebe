"""The storage backend contract: what a local directory or an S3 bucket must offer.

Backends are synchronous (plain files, the minio SDK) and run only in worker threads;
``gateway.artifacts.store.ArtifactStore`` is the async face the handlers use. A backend takes
``ObjectKey``s made by ``gateway.artifacts.keys`` and nothing else, and raises ``gateway.errors``
for the conditions a caller can cause (missing object → ``NotFound``; unsupported multipart →
``NotImplementedByStore``). Must not: hold a whole object in memory, or make a partial object
visible (an upload appears complete or not at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from gateway.artifacts.keys import ObjectKey
from gateway.errors import NotImplementedByStore

MULTIPART_NOT_SUPPORTED = "Multipart upload is not supported for the current artifact repository"
"""MLflow's own message: the 3.x client matches its prefix and falls back to a single PUT."""


class Readable(Protocol):
    """An upload's body: ``read`` gathers exactly ``size`` bytes, ``read1`` returns what is at hand."""

    def read(self, size: int = -1, /) -> bytes: ...

    def read1(self, size: int = -1, /) -> bytes: ...


class ObjectReader(Protocol):
    """An open object: ``size`` when known, ``read`` until ``b""``, then ``close``."""

    @property
    def size(self) -> int | None: ...

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...

    @property
    def file(self) -> BinaryIO | None:
        """The open local file behind the object, for a zero-copy send; ``None`` when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One child in a one-level listing; ``size`` is ``None`` for a directory."""

    name: str
    is_dir: bool
    size: int | None


@dataclass(frozen=True, slots=True)
class PartTarget:
    """Where a client PUTs one part of a multipart upload (a presigned URL)."""

    part_number: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    upload_id: str
    parts: list[PartTarget]


class StorageBackend(Protocol):
    @property
    def supports_multipart(self) -> bool: ...

    def put(self, key: ObjectKey, source: Readable) -> None:
        """Store everything ``source.read`` yields under ``key``; visible only once complete."""

    def open(self, key: ObjectKey) -> ObjectReader:
        """Open the object for reading; ``NotFound`` when there is none (a directory is none)."""
        ...

    def list(self, key: ObjectKey) -> list[Entry]:
        """The children of the directory ``key``, sorted by name; ``[]`` for a file or nothing."""
        ...

    def delete(self, key: ObjectKey) -> None:
        """Remove the object ``key`` and everything below it; nothing there is fine."""

    def ping(self) -> None:
        """Raise unless the store can be used (readiness)."""

    def create_multipart(self, key: ObjectKey, num_parts: int) -> MultipartUpload: ...

    def complete_multipart(
        self, key: ObjectKey, upload_id: str, parts: Sequence[tuple[int, str]], *, max_bytes: int
    ) -> None:
        """Assemble the parts (``(part_number, etag)``); ``PayloadTooLarge`` (and abort) over ``max_bytes``."""

    def abort_multipart(self, key: ObjectKey, upload_id: str) -> None: ...


class NoMultipart:
    """Mixin for backends without multipart uploads: MLflow's exact 501, so clients fall back."""

    @property
    def supports_multipart(self) -> bool:
        return False

    def create_multipart(self, key: ObjectKey, num_parts: int) -> MultipartUpload:
        raise NotImplementedByStore(MULTIPART_NOT_SUPPORTED)

    def complete_multipart(
        self, key: ObjectKey, upload_id: str, parts: Sequence[tuple[int, str]], *, max_bytes: int
    ) -> None:
        raise NotImplementedByStore(MULTIPART_NOT_SUPPORTED)

    def abort_multipart(self, key: ObjectKey, upload_id: str) -> None:
        raise NotImplementedByStore(MULTIPART_NOT_SUPPORTED)
