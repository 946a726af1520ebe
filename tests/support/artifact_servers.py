"""Live gateways with different artifact stores and settings, started on demand and kept for the session.

``ServerFarm.get("local" | "s3", **settings_overrides)`` returns a live server on the session's
database: ``local`` keeps files under the session's data dir, ``s3`` talks to moto's S3 in server
mode on loopback (started on first use, one bucket) through the real ``minio`` client. Each
distinct combination is started once and reused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from minio import Minio
from moto.server import ThreadedMotoServer

from gateway.db import Database
from gateway.settings import Settings
from tests.support.live_server import LiveServer, start_live_server

STORES = ("local", "s3")
S3_BUCKET = "mlgateway-test-artifacts"
S3_PREFIX = "gateway"
S3_REGION = "us-east-1"
S3_ACCESS_KEY = "testing-access-key"
S3_SECRET_KEY = "testing-secret-key"


@dataclass(frozen=True)
class S3Peer:
    endpoint: str
    """``host:port`` of moto on loopback (plain HTTP)."""

    def client(self) -> Minio:
        return Minio(self.endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region=S3_REGION)

    def object_names(self, below: str = "") -> list[str]:
        """Every object name in the test bucket under ``<prefix>/<below>``, without the prefix."""
        prefix = f"{S3_PREFIX}/{below}"
        objects = self.client().list_objects(S3_BUCKET, prefix=prefix, recursive=True)
        return sorted(str(o.object_name)[len(S3_PREFIX) + 1 :] for o in objects)

    def settings(self, base: Settings) -> Settings:
        return dataclasses.replace(
            base,
            artifacts_uri=f"s3://{S3_BUCKET}/{S3_PREFIX}",
            artifacts_s3_endpoint=self.endpoint,
            artifacts_s3_access_key=S3_ACCESS_KEY,
            artifacts_s3_secret_key=S3_SECRET_KEY,
            artifacts_s3_region=S3_REGION,
            artifacts_s3_secure=False,
        )


@contextmanager
def moto_s3() -> Iterator[S3Peer]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        peer = S3Peer(f"{host}:{port}")
        peer.client().make_bucket(S3_BUCKET)
        yield peer
    finally:
        server.stop()


class ServerFarm:
    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self._stack = ExitStack()
        self._servers: dict[tuple[str, tuple[tuple[str, Any], ...]], LiveServer] = {}
        self._s3: S3Peer | None = None

    @property
    def s3(self) -> S3Peer:
        if self._s3 is None:
            self._s3 = self._stack.enter_context(moto_s3())
        return self._s3

    def get(self, store: str, **overrides: Any) -> LiveServer:
        assert store in STORES, store
        marker = (store, tuple(sorted(overrides.items())))
        if marker not in self._servers:
            base = self.s3.settings(self._settings) if store == "s3" else self._settings
            settings = dataclasses.replace(base, **overrides)
            self._servers[marker] = self._stack.enter_context(start_live_server(settings, self._database))
        return self._servers[marker]

    def close(self) -> None:
        self._stack.close()
