"""The two servers under test, started side by side on the same backend, and their memory.

- ``ensure_mlflow_venv``: a stock ``mlflow==3.17.2`` in ``bench/.venv-mlflow-server`` (pip, once).
- ``backends``: SQLite files in the scratch dir, and fresh PostgreSQL databases (one per server)
  on ``--postgres`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) when it answers.
- ``start_mlflow``: ``mlflow server`` with its defaults except the worker count, which is given to
  both servers; artifacts proxied (``--artifacts-destination file://…``).
- ``start_gateway``: ``mlgateway migrate``, then the admin CLI seeds a user, a project and a personal
  token, then ``mlgateway serve --workers N``; the tracking URI is the project's
  ``/api/v4/projects/<id>/ml/mlflow`` prefix and every request carries the token.
- ``TreeMemory``: samples the RSS of a server's whole process tree (uvicorn workers, MLflow's job
  runner and huey consumers included) and keeps the peak.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.artifacts import free_port, log_tail
from bench.artifacts import stop as stop_process

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VERSION = "3.17.2"
MLFLOW_VENV = ROOT / "bench" / ".venv-mlflow-server"
START_TIMEOUT_S = 180.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


# ------------------------------------------------------------------------------------------ venv
def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_mlflow_venv(log: Any = print) -> Path:
    """The stock server's own virtualenv, created (and pip-installed) on first use."""
    python = venv_python(MLFLOW_VENV)
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m, psycopg; print(m.version('mlflow'))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == MLFLOW_VERSION:
            return python
    log(f"installing mlflow=={MLFLOW_VERSION} into {MLFLOW_VENV.relative_to(ROOT)} (once)…")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    # SQLAlchemy 2.1 (what mlflow 3.17.2 gets) drives postgresql:// URLs with psycopg 3.
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}", "psycopg[binary]"],
        check=True,
    )
    return python


# ------------------------------------------------------------------------------------------ backends
@dataclass
class Backend:
    name: str
    """``sqlite`` or ``postgresql``."""
    mlflow_url: str
    gateway_url: str
    cleanup: list[str] = field(default_factory=list)
    """PostgreSQL databases to drop at the end."""


def postgres_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def make_backend(name: str, work: Path, postgres: str) -> Backend:
    if name == "sqlite":
        return Backend(
            "sqlite",
            mlflow_url=f"sqlite:///{work / 'mlflow.sqlite3'}",
            gateway_url=f"sqlite:///{work / 'gateway.sqlite3'}",
        )
    import psycopg

    suffix = uuid.uuid4().hex[:8]
    names = [f"bench_mlflow_{suffix}", f"bench_gateway_{suffix}"]
    with psycopg.connect(postgres, autocommit=True) as conn:
        for db in names:
            conn.execute(f"CREATE DATABASE {db}")  # fresh, named by us: no injection surface
    base = postgres.rsplit("/", 1)[0]
    return Backend(
        "postgresql",
        mlflow_url=f"{base}/{names[0]}",
        gateway_url=f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{names[1]}",
        cleanup=names,
    )


def drop_backend(backend: Backend, postgres: str) -> None:
    if not backend.cleanup:
        return
    import psycopg

    with psycopg.connect(postgres, autocommit=True) as conn:
        for db in backend.cleanup:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


# ------------------------------------------------------------------------------------------ memory
class TreeMemory:
    """Peak summed RSS of a process and all its descendants, sampled every ``interval`` seconds, overall
    and per ``phase`` (what the bench was doing: set it before each step), so a report can say which
    step set the peak."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.last_bytes = 0
        self.processes = 0
        self.phase = "start"
        self.peak_by_phase: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> int:
        tree = process_tree(self.pid)
        if not tree:
            return 0
        total = 0
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += process.memory_info().rss
        self.last_bytes = total
        self.processes = max(self.processes, len(tree))
        self.peak_bytes = max(self.peak_bytes, total)
        self.peak_by_phase[self.phase] = max(self.peak_by_phase.get(self.phase, 0), total)
        return total

    def peak_phase(self) -> str | None:
        """The phase during which the highest sample was taken."""
        return max(self.peak_by_phase, key=self.peak_by_phase.__getitem__, default=None)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants; empty once the process is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User plus system CPU time of ``processes`` so far (one that ended meanwhile counts nothing)."""
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and all its descendants so far."""
    return cpu_seconds(process_tree(pid))


# ------------------------------------------------------------------------------------------ servers
@dataclass
class Server:
    name: str
    """``mlflow`` or ``gateway``."""
    tracking_uri: str
    """What ``MLFLOW_TRACKING_URI`` would be: every REST path goes below it."""
    headers: dict[str, str]
    token: str | None
    process: subprocess.Popen[bytes]
    log: Path
    python: Path
    """The interpreter whose ``mlflow`` client talks to this server in the official-client scenario."""
    artifacts: Path
    """Where this server stores artifact files (local store)."""
    memory: TreeMemory | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


def _wait_ready(url: str, server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{log_tail(server.log, 40)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} not ready after {START_TIMEOUT_S:.0f}s:\n{log_tail(server.log, 40)}")


def start_mlflow(python: Path, backend: Backend, work: Path, workers: int) -> Server:
    port = free_port()
    artifacts = work / "mlflow-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = work / "mlflow-server.log"
    command = [
        str(python.parent / "mlflow"),
        "server",
        "--backend-store-uri",
        backend.mlflow_url,
        "--artifacts-destination",
        artifacts.as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GATEWAY_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server("mlflow", f"http://127.0.0.1:{port}", {}, None, process, log, python, artifacts)
    _wait_ready(f"http://127.0.0.1:{port}/health", server)
    return server


def _gateway_env(backend: Backend, work: Path, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GATEWAY_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "GATEWAY_DATABASE_URL": backend.gateway_url,
            "GATEWAY_DATA_DIR": str(work / "gateway-data"),
            "GATEWAY_ARTIFACTS_URI": (work / "gateway-artifacts").as_uri(),
            "GATEWAY_BOOTSTRAP": "false",
            "GATEWAY_PORT": str(port),
            "GATEWAY_WORKERS": str(workers),
        }
    )
    return env


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlgateway {' '.join(args)} failed: {done.stderr or done.stdout}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def start_gateway(backend: Backend, work: Path, workers: int) -> Server:
    port = free_port()
    env = _gateway_env(backend, work, port, workers)
    _cli(env, "migrate")
    _cli(env, "users", "create", "bench", "--email", "bench@example.com")
    project = _cli(env, "projects", "create", "bench/perf")
    token = str(_cli(env, "tokens", "create", "--user", "bench", "--scopes", "api", "bench")["token"])
    log = work / "gateway-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--workers", str(workers)],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(
        "gateway",
        f"http://127.0.0.1:{port}/api/v4/projects/{project['id']}/ml/mlflow",
        {"Authorization": f"Bearer {token}"},
        token,
        process,
        log,
        Path(sys.executable),
        work / "gateway-artifacts",
    )
    _wait_ready(f"http://127.0.0.1:{port}/-/readiness", server)
    return server


def stop(server: Server) -> None:
    if server.memory is not None:
        server.memory.stop()
    try:
        family = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    stop_process(server.process)
    # MLflow's job runner and huey consumers can outlive their parent: sweep what is left of the tree.
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@contextlib.contextmanager
def scratch(parent: Path | None) -> Iterator[Path]:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="mlgateway-compare-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
