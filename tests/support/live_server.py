"""A real uvicorn server in a background thread, bound to a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.db import Database
from gateway.settings import Settings
from gateway.zero_copy import ZeroCopyHttpToolsProtocol


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    settings: Settings

    def project_url(self, project: object) -> str:
        """The MLFLOW_TRACKING_URI of a project (by id, or an already-encoded path)."""
        return f"{self.base_url}/api/v4/projects/{project}/ml/mlflow"

    def api(self, path: str) -> str:
        return f"{self.base_url}/api/v4/{path.lstrip('/')}"


@contextmanager
def start_live_server(
    settings: Settings, database: Database | None = None, *, app: Starlette | None = None
) -> Iterator[LiveServer]:
    """Serve ``create_app(settings, database=database)`` (or ``app``, built by the caller) on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = app or create_app(settings, database=database)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", loop="asyncio", http=ZeroCopyHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live gateway did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
