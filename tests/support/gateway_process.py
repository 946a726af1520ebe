"""``mlgateway serve`` as a real subprocess (this checkout's code), configured only by ``GATEWAY_*`` variables.

For what a thread-hosted server cannot show: signals and graceful shutdown, several processes on one
database and one object store. ``start_gateway`` waits for readiness and stops the process on exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gateway.settings import Settings
from tests.support.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_environment(settings: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    """The variables that make a subprocess use ``settings``' database, key and artifact store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        PYTHONPATH=str(ROOT),  # this checkout, not whatever is installed in the venv
        GATEWAY_DATA_DIR=str(data_dir),
        GATEWAY_DATABASE_URL=settings.database_url,
        GATEWAY_SECRET_KEY=settings.secret_key,
        GATEWAY_BOOTSTRAP="false",
        GATEWAY_LOG_LEVEL="WARNING",
    )
    if settings.artifacts_uri:
        env.update(
            GATEWAY_ARTIFACTS_URI=settings.artifacts_uri,
            GATEWAY_ARTIFACTS_S3_ENDPOINT=settings.artifacts_s3_endpoint,
            GATEWAY_ARTIFACTS_S3_ACCESS_KEY=settings.artifacts_s3_access_key,
            GATEWAY_ARTIFACTS_S3_SECRET_KEY=settings.artifacts_s3_secret_key,
            GATEWAY_ARTIFACTS_S3_REGION=settings.artifacts_s3_region,
            GATEWAY_ARTIFACTS_S3_SECURE=str(settings.artifacts_s3_secure).lower(),
        )
    env.update(extra)
    return env


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    server: LiveServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)


@contextmanager
def start_gateway(settings: Settings, env: Mapping[str, str], *args: str) -> Iterator[GatewayProcess]:
    port = free_port()
    log = Path(env["GATEWAY_DATA_DIR"]) / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port), *args],
            env=dict(env),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/-/readiness").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield GatewayProcess(process, LiveServer(base_url=base_url, settings=settings))
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
