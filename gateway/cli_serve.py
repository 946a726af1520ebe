"""``mlgateway serve`` and ``mlgateway migrate``.

Shutdown (SIGTERM or Ctrl+C), one worker: ``/-/readiness`` answers 503 at once while requests are still
served for ``GATEWAY_SHUTDOWN_DRAIN_S`` (so a load balancer stops routing here first), then the
listener closes and in-flight requests get ``GATEWAY_SHUTDOWN_TIMEOUT_S`` to finish. A second signal
skips the drain; a second Ctrl+C during the wait forces the exit (uvicorn's own rule).

With ``--workers N`` > 1 each worker does the same (``gateway.supervisor`` passes signals on); metrics
are refused (503), since a scrape would reach one worker at random.

Processes: ``serve`` prepares the database (migrations, bootstrap), then replaces itself (``exec``, same
pid, so signals and exit codes are unchanged) with the server: ``python -m gateway.cli_serve`` for one
worker, or ``python -m gateway.supervisor``, which starts N ``python -m gateway.cli_serve --socket-fd``
workers on the socket it bound. Neither ever imported SQLAlchemy, Alembic or the admin commands; a
server builds its app with ``app_from_env`` here, importing no more than the app needs. That keeps the
process tree small (SPEC §9: RSS ≤ 10 % of a stock MLflow server's; bench/README.md), so heavy imports
here stay inside functions.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from gateway.settings import Settings
from gateway.supervisor import STARTUP_FAILURE

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gateway.db import Database

BOOTSTRAP_TOKEN_FILE = "bootstrap-token"


JSON_FLAG = argparse.ArgumentParser(add_help=False)
JSON_FLAG.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")


class SchemaOutdated(RuntimeError):
    pass


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the gateway", parents=[JSON_FLAG])
    serve.add_argument("--host", help="address to bind (GATEWAY_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (GATEWAY_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (GATEWAY_WORKERS)")
    serve.add_argument("--migrate", action="store_true", help="apply pending migrations first")
    serve.set_defaults(handler=run_serve)
    migrate_cmd = commands.add_parser("migrate", help="apply pending database migrations", parents=[JSON_FLAG])
    migrate_cmd.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from gateway import migrate
    from gateway.db import Database

    database = Database.from_settings(settings)
    before = migrate.current_revision(database.engine)
    migrate.upgrade(database.engine)
    after = migrate.current_revision(database.engine)
    database.dispose()
    if args.json:
        import orjson

        print(orjson.dumps({"from": before, "to": after}).decode())
    else:
        print(f"database at revision {after} (was {before or 'empty'})")
    return 0


def prepare_database(settings: Settings, *, force_migrate: bool = False) -> Database:
    """Migrate on the embedded default (or when asked); elsewhere refuse an outdated schema."""
    from gateway import migrate
    from gateway.db import Database

    database = Database.from_settings(settings)
    if migrate.is_pending(database.engine):
        if settings.is_embedded_sqlite or force_migrate:
            migrate.upgrade(database.engine)
        else:
            database.dispose()
            raise SchemaOutdated(
                f"the database schema is not at revision {migrate.head_revision()}; "
                "run 'mlgateway migrate' (or 'mlgateway serve --migrate') first"
            )
    return database


class GatewayServer(uvicorn.Server):
    """uvicorn's server, plus the drain: readiness turns unready before the listener closes.

    A worker of ``gateway.supervisor`` (``parent_pid``) also shuts down if its supervisor is gone.
    """

    def __init__(self, config: uvicorn.Config, *, drain_s: float, parent_pid: int | None = None) -> None:
        super().__init__(config)
        self.drain_s = drain_s
        self.drain_ends: float | None = None
        self.parent_pid = parent_pid

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        state = getattr(getattr(self, "lifespan", None), "state", {})
        shutting_down = state.get("shutting_down")
        if isinstance(shutting_down, threading.Event):
            shutting_down.set()  # the app's readiness probe answers 503 from now on
        if self.drain_s > 0 and self.drain_ends is None and self.started:
            self.drain_ends = time.monotonic() + self.drain_s
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_ends is not None and time.monotonic() >= self.drain_ends:
            self.should_exit = True
        if self.parent_pid is not None and os.getppid() != self.parent_pid and not self.should_exit:
            logging.getLogger("gateway.supervisor").error("the supervisor is gone; worker %d stops", os.getpid())
            self.should_exit = True
        return await super().on_tick(counter)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    # Flags become the environment so that every worker process builds the same Settings.
    for flag, variable in (("host", "GATEWAY_HOST"), ("port", "GATEWAY_PORT"), ("workers", "GATEWAY_WORKERS")):
        value = getattr(args, flag)
        if value is not None:
            os.environ[variable] = str(value)
    settings = Settings.from_env(os.environ).with_secret_key()
    database = prepare_database(settings, force_migrate=args.migrate)
    if settings.bootstrap and settings.is_embedded_sqlite:
        _bootstrap(settings, database)
    database.dispose()
    # Threads of the request pool would each get a glibc malloc arena (up to 8 per core): two is plenty
    # for a server whose allocations are mostly Python's own, and saves tens of MB per worker.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    server = [sys.executable, "-m", "gateway.cli_serve"]
    if settings.workers > 1:
        server = [
            *(sys.executable, "-m", "gateway.supervisor"),
            *("--host", settings.host, "--port", str(settings.port), "--workers", str(settings.workers)),
            *("--log-format", settings.log_format, "--log-level", settings.log_level),
        ]
    os.execv(sys.executable, server)  # noqa: S606 - our interpreter, our module


def serve(argv: list[str]) -> int:
    """What ``serve`` execs into for one worker (``python -m gateway.cli_serve``), and what
    ``gateway.supervisor`` starts for each of several (``--socket-fd``, the socket it bound).

    Exits with ``STARTUP_FAILURE`` when the server never started: whatever stopped it (settings, an app
    that cannot load, a port taken) would stop every restart alike, and the supervisor reads it so.
    """
    parser = argparse.ArgumentParser(prog="python -m gateway.cli_serve")
    parser.add_argument("--socket-fd", type=int, help="serve this inherited listening socket (a supervisor's worker)")
    args = parser.parse_args(argv)
    server: GatewayServer | None = None
    try:
        server = _server(Settings.from_env(os.environ), parent_pid=None if args.socket_fd is None else os.getppid())
        sockets = None if args.socket_fd is None else [socket.socket(fileno=args.socket_fd)]
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl+C it caught, once shut down
            server.run(sockets)
    except (Exception, SystemExit):  # uvicorn exits 1 when the app factory cannot load
        if server is not None and server.started:
            raise
        logging.getLogger("gateway.server").exception("the server could not start")
    return 0 if server is not None and server.started else STARTUP_FAILURE


def _server(settings: Settings, *, parent_pid: int | None) -> GatewayServer:
    from gateway.logging import configure_logging
    from gateway.zero_copy import ZeroCopyHttpToolsProtocol

    configure_logging(settings.log_format, settings.log_level)
    config = uvicorn.Config(
        "gateway.cli_serve:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=ZeroCopyHttpToolsProtocol,  # httptools, plus zero-copy artifact downloads (gateway.zero_copy)
        ws="none",  # no WebSocket routes: "auto" would import a WebSocket library (2.5 MB) into each worker
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,  # type: ignore[arg-type]  # int in its hints, a float timeout in its code
    )
    return GatewayServer(config, drain_s=settings.shutdown_drain_s, parent_pid=parent_pid)


def app_from_env() -> Starlette:
    """Uvicorn factory: the server process builds its app from the env (``serve`` set it up)."""
    from gateway.app import create_app

    return create_app(Settings.from_env(os.environ))


def _bootstrap(settings: Settings, database: Database) -> None:
    from tenants.bootstrap import bootstrap_instance

    with database.unit_of_work() as session:
        created = bootstrap_instance(session, settings.secret_key_bytes())
    token_file = settings.data_dir / BOOTSTRAP_TOKEN_FILE
    if created is not None:
        issued, project = created
        _write_private(token_file, issued.secret + "\n")
        print("mlgateway: created admin 'root', project 'root/default' and an api token.", file=sys.stderr)
        print("Point the MLflow client at it with:\n", file=sys.stderr)
        print(f'export MLFLOW_TRACKING_URI="{settings.base_url}/api/v4/projects/{project.id}/ml/mlflow"')
        print(f'export MLFLOW_TRACKING_TOKEN="{issued.secret}"\n', flush=True)
        print(
            f"Web UI: {settings.base_url}/root/default/-/ml/experiments (sign in as root with that token as password)",
            file=sys.stderr,
        )
    elif token_file.exists():
        print(
            f"mlgateway: MLFLOW_TRACKING_URI={settings.base_url}/api/v4/projects/1/ml/mlflow ; "
            f"the bootstrap token is in {token_file}",
            file=sys.stderr,
        )


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
