"""``mlgateway serve`` as a process: graceful shutdown, and what ``--workers N`` does to ``/-/metrics``.

Shutdown order on SIGTERM: readiness answers 503 while requests are still served (the drain), then
the listener closes, then in-flight requests finish. The test holds an upload open across all three.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest

from gateway.app import create_app
from gateway.db import Database
from gateway.settings import Settings, SettingsError
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.gateway_process import gateway_environment, start_gateway
from tests.support.world import World

pytestmark = pytest.mark.slow


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def readiness(base_url: str) -> int | None:
    """The readiness status, or ``None`` once nothing listens any more."""
    try:
        return httpx.get(f"{base_url}/-/readiness", timeout=5).status_code
    except httpx.TransportError:
        return None


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_turns_readiness_off_first_and_lets_in_flight_requests_finish(
    settings: Settings, world: World, tmp_path: Path, workers: str
) -> None:
    """With several workers the supervisor passes the signal on, and every worker drains alike."""
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    env = gateway_environment(settings, tmp_path, GATEWAY_SHUTDOWN_DRAIN_S="3", GATEWAY_SHUTDOWN_TIMEOUT_S="60")
    with start_gateway(settings, env, "--workers", workers) as gateway:
        http = ArtifactHttp(gateway.server, project.id, token)
        root = http.new_run()
        first_sent, release = threading.Event(), threading.Event()

        def body() -> Iterator[bytes]:
            yield b"a" * 1000
            first_sent.set()  # httpx asks for the next chunk once the first is on the wire
            release.wait(timeout=60)
            yield b"b" * 1000

        answers: list[httpx.Response] = []
        upload = threading.Thread(target=lambda: answers.append(http.put(f"{root}/held.bin", body())))
        upload.start()
        assert first_sent.wait(timeout=30)

        gateway.terminate()
        wait_until(lambda: readiness(gateway.base_url) == 503, "readiness answers 503 (the drain)")
        assert httpx.get(f"{gateway.base_url}/-/health").status_code == 200  # still serving
        wait_until(lambda: readiness(gateway.base_url) is None, "the listener closes after the drain")
        assert gateway.process.poll() is None, "the process must wait for the upload in flight"

        release.set()
        upload.join(timeout=60)
        assert [a.status_code for a in answers] == [200]
        gateway.process.wait(timeout=60)
    stored = list((tmp_path / "artifacts").rglob("held.bin"))
    assert [p.read_bytes() for p in stored] == [b"a" * 1000 + b"b" * 1000]


def test_several_workers_serve_but_refuse_per_process_metrics(settings: Settings, tmp_path: Path) -> None:
    env = gateway_environment(settings, tmp_path)
    with start_gateway(settings, env, "--workers", "2") as gateway:
        answer = httpx.get(f"{gateway.base_url}/-/metrics")
        assert answer.status_code == 503 and "GATEWAY_WORKERS" in answer.text
        assert httpx.get(f"{gateway.base_url}/-/readiness").status_code == 200


def test_the_thread_pool_of_a_worker_has_the_configured_size(settings: Settings, database: Database) -> None:
    """``GATEWAY_WORKER_THREADS`` bounds how many blocking requests a worker runs at once (and their memory)."""
    app = create_app(dataclasses.replace(settings, worker_threads=3), database=database)

    async def pool_size_while_serving() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(pool_size_while_serving) == 3


@pytest.mark.parametrize("value", ["0", "257", "many"])
def test_a_bad_thread_count_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_WORKER_THREADS"):
        Settings.from_env({"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_WORKER_THREADS": value})
