"""``serve --workers N``'s supervisor (``gateway.supervisor``): the workers it keeps, and when it stops.

Each test runs a real ``mlgateway serve --workers 2`` (or the supervisor alone) and watches its
worker processes through ``/proc``. The shutdown drain with several workers is tested with the
one-worker case in ``test_serve_lifecycle``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.db import Database
from gateway.settings import Settings
from gateway.supervisor import STARTUP_FAILURE
from tests.support.gateway_process import ROOT, GatewayProcess, free_port, gateway_environment, start_gateway
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow
WAIT_S = 60.0


@pytest.fixture
def gateway(settings: Settings, database: Database, tmp_path: Path) -> Iterator[GatewayProcess]:
    """``serve --workers 2`` on the tests' (migrated) database, once both workers run."""
    with start_gateway(settings, gateway_environment(settings, tmp_path), "--workers", "2") as gateway:
        wait_for(lambda: len(children(gateway.process.pid)) == 2, "both workers run")
        yield gateway


def state_and_parent(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid from ``/proc/<pid>/stat``; ``None`` once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    stat = state_and_parent(pid)
    return stat is not None and stat[0] != "Z"


def children(pid: int) -> set[int]:
    """Live (not zombie) children of ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        stat = state_and_parent(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and stat[0] != "Z" and stat[1] == pid:
            found.add(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], what: str) -> None:
    assert eventually(condition, WAIT_S), f"timed out waiting until {what}"


def ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/-/readiness", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_worker_that_dies_is_replaced(gateway: GatewayProcess) -> None:
    first, second = sorted(children(gateway.process.pid))
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: first not in children(gateway.process.pid), "the killed worker is gone")
    wait_for(lambda: len(children(gateway.process.pid) - {second}) == 1, "a new worker replaces the dead one")
    wait_for(lambda: ready(gateway.base_url), "the gateway answers")


def test_sighup_replaces_every_worker(gateway: GatewayProcess) -> None:
    old = children(gateway.process.pid)
    gateway.process.send_signal(signal.SIGHUP)
    wait_for(lambda: len(children(gateway.process.pid) - old) == 2, "two new workers replace the old ones")
    wait_for(lambda: not children(gateway.process.pid) & old, "the old workers exit")
    assert gateway.process.poll() is None
    wait_for(lambda: ready(gateway.base_url), "the gateway answers")


def test_workers_stop_when_their_supervisor_is_killed(gateway: GatewayProcess) -> None:
    workers = children(gateway.process.pid)
    gateway.process.kill()
    gateway.process.wait(timeout=WAIT_S)
    wait_for(lambda: not any(alive(pid) for pid in workers), "the orphaned workers exit")
    assert not ready(gateway.base_url)


def test_a_worker_that_cannot_start_stops_the_supervisor(settings: Settings, tmp_path: Path) -> None:
    """A setting only the workers read is wrong (``serve`` itself would refuse it before starting any)."""
    env = gateway_environment(settings, tmp_path, GATEWAY_WORKER_THREADS="0")
    command = [sys.executable, "-m", "gateway.supervisor", "--host", "127.0.0.1", "--port", str(free_port())]
    supervisor = subprocess.run(
        [*command, "--workers", "2"], env=env, cwd=ROOT, capture_output=True, timeout=WAIT_S, check=False
    )
    assert supervisor.returncode == STARTUP_FAILURE, supervisor.stderr.decode()[-2000:]
    assert b"could not start" in supervisor.stderr and b"GATEWAY_WORKER_THREADS" in supervisor.stderr


def test_its_startup_failure_code_is_uvicorns() -> None:
    from uvicorn.config import STARTUP_FAILURE as UVICORN_STARTUP_FAILURE

    assert STARTUP_FAILURE == UVICORN_STARTUP_FAILURE
