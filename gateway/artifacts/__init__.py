"""Artifact storage (kernel): keys, the backend contract, the local and S3 backends, the async store.

``open_artifact_store(settings)`` picks the backend from ``GATEWAY_ARTIFACTS_URI``: ``s3://bucket/prefix``
(with the ``GATEWAY_ARTIFACTS_S3_*`` settings) or a local directory (``file:///…``, a plain path, or
the default ``<data dir>/artifacts``). Must not: know tenants, runs or MLflow; callers build keys
with ``gateway.artifacts.keys`` from ids they have already authorised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from gateway.artifacts.backend import MULTIPART_NOT_SUPPORTED, Entry, MultipartUpload, PartTarget, StorageBackend
from gateway.artifacts.keys import (
    ArtifactRoot,
    ObjectKey,
    RelativePath,
    candidate_root,
    file_name,
    logged_model_root,
    relative_path,
)
from gateway.artifacts.local import LocalBackend
from gateway.artifacts.store import (
    CONCURRENT_STORE_CALLS,
    CONCURRENT_UPLOADS,
    ArtifactStore,
    Download,
    TransferObserver,
)
from gateway.settings import Settings, SettingsError

if TYPE_CHECKING:
    from gateway.artifacts.s3 import S3Backend

__all__ = [
    "MULTIPART_NOT_SUPPORTED",
    "ArtifactRoot",
    "ArtifactStore",
    "Download",
    "Entry",
    "MultipartUpload",
    "ObjectKey",
    "PartTarget",
    "RelativePath",
    "TransferObserver",
    "candidate_root",
    "file_name",
    "logged_model_root",
    "open_artifact_store",
    "relative_path",
]

DEFAULT_S3_ENDPOINT = "s3.amazonaws.com"


def open_artifact_store(settings: Settings, observer: TransferObserver | None = None) -> ArtifactStore:
    uri = settings.effective_artifacts_uri
    parts = urlsplit(uri)
    backend: StorageBackend
    if parts.scheme == "s3":
        backend = _s3_backend(settings, parts)
    elif parts.scheme == "file":
        backend = LocalBackend(Path(unquote(parts.path)))
    elif parts.scheme == "":
        backend = LocalBackend(Path(uri).absolute())
    else:
        raise SettingsError(f"GATEWAY_ARTIFACTS_URI={uri!r}: use file:///path, a plain path or s3://bucket/prefix")
    return ArtifactStore(
        backend,
        max_file_bytes=settings.artifact_max_file_bytes,
        signing_key=settings.secret_key_bytes(),
        kind="s3" if parts.scheme == "s3" else "local",
        observer=observer,
    )


def _s3_backend(settings: Settings, uri: SplitResult) -> S3Backend:
    # Imported here: minio and urllib3 cost every worker ~20 MB of RSS on the (default) local store.
    import certifi
    import urllib3
    from minio import Minio

    from gateway.artifacts.s3 import S3Backend

    if not uri.netloc:
        raise SettingsError("GATEWAY_ARTIFACTS_URI=s3://… needs a bucket: s3://bucket/optional/prefix")
    endpoint, secure = settings.artifacts_s3_endpoint or DEFAULT_S3_ENDPOINT, settings.artifacts_s3_secure
    if "://" in endpoint:  # a URL: its scheme decides TLS
        parsed = urlsplit(endpoint)
        endpoint, secure = parsed.netloc, parsed.scheme == "https"
    http = urllib3.PoolManager(
        # Short connect timeout: a dead store fails the readiness probe quickly, not after minutes.
        timeout=urllib3.Timeout(connect=10, read=300),
        maxsize=CONCURRENT_UPLOADS + CONCURRENT_STORE_CALLS,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    client = Minio(
        endpoint,
        access_key=settings.artifacts_s3_access_key or None,
        secret_key=settings.artifacts_s3_secret_key or None,
        secure=secure,
        region=settings.artifacts_s3_region or None,
        http_client=http,
    )
    return S3Backend(client, uri.netloc, uri.path, multipart=settings.artifacts_s3_multipart)
