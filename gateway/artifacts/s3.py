"""Artifacts in an S3-compatible bucket (MinIO, AWS S3, …) through the ``minio`` SDK.

Uploads go through ``put_object`` with an unknown length and a fixed part size: a body smaller than
one part is a single PUT, a larger one a multipart upload that S3 shows only once it completes
(minio aborts it on any error). Parts are uploaded one after another, so an upload holds at most
one part in memory. Multipart uploads driven by the client (MLflow's ``mpu/*``) hand out presigned
part URLs; completing one first checks the parts' total against the size limit.

The minio client is synchronous: every method here runs in a worker thread. A few calls use the
SDK's underscore-prefixed multipart methods (``_create_multipart_upload`` and friends), the same
ones ``put_object`` uses; the SDK has no public equivalent. Must not: log credentials.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, BinaryIO, cast

from minio import Minio
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from gateway.artifacts.backend import MULTIPART_NOT_SUPPORTED, Entry, MultipartUpload, PartTarget, Readable
from gateway.artifacts.keys import ObjectKey
from gateway.errors import InvalidParameter, NotFound, NotImplementedByStore, PayloadTooLarge

PART_SIZE = 8 * 1024 * 1024
"""Part size of server-side uploads: the memory one upload holds (S3's minimum is 5 MiB)."""
PART_URL_TTL = timedelta(hours=12)
MAX_PARTS = 10_000
_MISSING_OBJECT = ("NoSuchKey", "NoSuchObject")
_BAD_PARTS = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML")


class S3Backend:
    def __init__(self, client: Minio, bucket: str, prefix: str, *, multipart: bool) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._multipart = multipart

    def __repr__(self) -> str:
        return f"S3Backend('s3://{self._bucket}/{self._prefix}')"

    @property
    def supports_multipart(self) -> bool:
        return self._multipart

    # ------------------------------------------------------------------------------- objects
    def put(self, key: ObjectKey, source: Readable) -> None:
        body = cast(BinaryIO, source)  # minio only calls read(size)
        self._client.put_object(
            self._bucket, self._name(key), body, length=-1, part_size=PART_SIZE, num_parallel_uploads=1
        )

    def open(self, key: ObjectKey) -> _ObjectReader:
        try:
            response = self._client.get_object(self._bucket, self._name(key))
        except S3Error as error:
            if error.code in _MISSING_OBJECT:
                raise NotFound("Artifact not found.") from None
            raise
        length = response.headers.get("Content-Length")
        return _ObjectReader(response, int(length) if length and length.isdigit() else None)

    def list(self, key: ObjectKey) -> list[Entry]:
        prefix = self._name(key) + "/"
        entries = []
        for item in self._client.list_objects(self._bucket, prefix=prefix, recursive=False):
            name = str(item.object_name)[len(prefix) :]
            if item.is_dir:
                entries.append(Entry(name.rstrip("/"), True, None))
            elif name:
                entries.append(Entry(name, False, item.size))
        return sorted(entries, key=lambda entry: entry.name)

    def delete(self, key: ObjectKey) -> None:
        name = self._name(key)
        self._client.remove_object(self._bucket, name)  # S3 deletes of missing keys succeed
        below = self._client.list_objects(self._bucket, prefix=name + "/", recursive=True)
        doomed = (DeleteObject(str(item.object_name)) for item in below)
        failures = list(self._client.remove_objects(self._bucket, doomed))  # lazy: iterating runs it
        if failures:
            raise RuntimeError(f"could not delete {len(failures)} objects below an artifact path: {failures[0]}")

    def ping(self) -> None:
        if not self._client.bucket_exists(self._bucket):
            raise RuntimeError(f"bucket {self._bucket!r} does not exist")

    # ------------------------------------------------------------------------------- multipart
    def create_multipart(self, key: ObjectKey, num_parts: int) -> MultipartUpload:
        self._require_multipart()
        name = self._name(key)
        upload_id: str = self._client._create_multipart_upload(self._bucket, name, {})
        targets = [
            PartTarget(
                number,
                self._client.get_presigned_url(
                    "PUT",
                    self._bucket,
                    name,
                    expires=PART_URL_TTL,
                    extra_query_params={"partNumber": str(number), "uploadId": upload_id},
                ),
            )
            for number in range(1, num_parts + 1)
        ]
        return MultipartUpload(upload_id, targets)

    def complete_multipart(
        self, key: ObjectKey, upload_id: str, parts: Sequence[tuple[int, str]], *, max_bytes: int
    ) -> None:
        self._require_multipart()
        name = self._name(key)
        with _upload_errors(upload_id):
            uploaded = sum(part.size or 0 for part in self._uploaded_parts(name, upload_id))
            if uploaded > max_bytes:
                self._client._abort_multipart_upload(self._bucket, name, upload_id)
                raise PayloadTooLarge(
                    f"The artifact file is larger than the {max_bytes}-byte limit (GATEWAY_ARTIFACT_MAX_FILE_BYTES); "
                    "the upload was aborted."
                )
            chosen = [Part(number, etag.strip().strip('"')) for number, etag in sorted(parts)]
            self._client._complete_multipart_upload(self._bucket, name, upload_id, chosen)

    def abort_multipart(self, key: ObjectKey, upload_id: str) -> None:
        self._require_multipart()
        try:
            self._client._abort_multipart_upload(self._bucket, self._name(key), upload_id)
        except S3Error as error:
            if error.code != "NoSuchUpload":  # already gone: aborting twice is fine
                raise

    # ------------------------------------------------------------------------------- helpers
    def _name(self, key: ObjectKey) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _require_multipart(self) -> None:
        if not self._multipart:
            raise NotImplementedByStore(MULTIPART_NOT_SUPPORTED)

    def _uploaded_parts(self, name: str, upload_id: str) -> Iterator[Part]:
        marker: str | None = None
        while True:
            page = self._client._list_parts(self._bucket, name, upload_id, part_number_marker=marker)
            yield from page.parts
            if not page.is_truncated or not page.next_part_number_marker:
                return
            marker = page.next_part_number_marker


@contextmanager
def _upload_errors(upload_id: str) -> Iterator[None]:
    """S3's answers about a client-driven upload, as the caller's mistakes they are."""
    try:
        yield
    except S3Error as error:
        if error.code == "NoSuchUpload":
            raise NotFound(f"No multipart upload {upload_id!r} for this artifact path.") from None
        if error.code in _BAD_PARTS:
            raise InvalidParameter(f"The multipart upload cannot be completed: {error.code}: {error.message}") from None
        raise


class _ObjectReader:
    def __init__(self, response: Any, size: int | None) -> None:
        self._response = response
        self._size = size
        self._closed = False

    @property
    def size(self) -> int | None:
        return self._size

    @property
    def file(self) -> None:
        return None

    def read(self, size: int, /) -> bytes:
        data: bytes = self._response.read(size)
        return data

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._response.close()
            self._response.release_conn()
