"""``serve --workers N`` (N > 1): one listening socket, N worker processes, and this small supervisor.

It binds the socket once and starts each worker as ``python -m gateway.cli_serve --socket-fd FD``, a
fresh interpreter that inherits the socket and serves it with uvicorn, exactly as a one-worker
``serve`` does (the same drain on shutdown). SIGTERM and SIGINT are passed on to every worker (SIGQUIT
as SIGTERM); the supervisor exits once they all have. SIGHUP replaces the workers: each old one drains
and exits, and a new one takes its place. A worker that dies is replaced, unless it died before
serving (exit code ``STARTUP_FAILURE``): then the app cannot start, every restart would fail alike,
and the supervisor stops the others and exits with that code. A worker whose supervisor is gone
(killed outright) notices within a tick and shuts down.

Why not uvicorn's own supervisor: it starts workers through ``multiprocessing``'s spawn, which also
starts a resource-tracker process, and it imports uvicorn (and with it asyncio and ssl) into the
supervisor: ~41 MB of RSS that serves no request. This one imports the standard library and our log
formatter (~13 MB), which SPEC §9's memory budget needs (bench/README.md). Workers run in a process
group of their own, so a Ctrl+C at a terminal reaches them once, through the supervisor, and the
second one (which skips the drain) only when it is pressed again.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from types import FrameType

from gateway.logging import configure_logging

STARTUP_FAILURE = 3
"""A worker's exit code when its server never started (uvicorn's ``STARTUP_FAILURE``)."""
BACKLOG = 2048  # uvicorn's default
FORWARDED = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGINT, signal.SIGQUIT: signal.SIGTERM}

log = logging.getLogger("gateway.supervisor")


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG)  # sets SO_REUSEADDR
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, sock: socket.socket, workers: int) -> None:
        self.sock = sock
        self.size = workers
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.retiring: set[int] = set()
        self.exit_code = 0

    def run(self) -> int:
        for sig in FORWARDED:
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        log.info("supervisor %d starting %d workers on %s", os.getpid(), self.size, _address(self.sock))
        for _ in range(self.size):
            self._start_worker()
        while self.workers:
            pid, status = os.waitpid(-1, 0)  # signals run their handler and the wait goes on (PEP 475)
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            worker.returncode = code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                continue
            if pid in self.retiring:
                self.retiring.discard(pid)
                log.info("worker %d retired; starting its replacement", pid)
            elif code == STARTUP_FAILURE:
                log.error("worker %d could not start its server; stopping", pid)
                self.exit_code = STARTUP_FAILURE
                self._signal_workers(signal.SIGTERM)
                self.stopping = True
                continue
            else:
                log.warning("worker %d exited with code %d; starting another", pid, code)
            self._start_worker()
        log.info("supervisor %d stopped", os.getpid())
        return self.exit_code

    def _start_worker(self) -> None:
        command = [sys.executable, "-m", "gateway.cli_serve", "--socket-fd", str(self.sock.fileno())]
        worker = subprocess.Popen(command, pass_fds=[self.sock.fileno()], process_group=0)
        self.workers[worker.pid] = worker

    def _on_stop_signal(self, sig: int, _frame: FrameType | None) -> None:
        self.stopping = True
        self._signal_workers(FORWARDED[signal.Signals(sig)])

    def _on_reload_signal(self, _sig: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("replacing the workers")
            self.retiring.update(self.workers)
            self._signal_workers(signal.SIGTERM)

    def _signal_workers(self, sig: int) -> None:
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):  # exited; the wait loop reaps it
                os.kill(pid, sig)


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.supervisor")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--log-format", default="json")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    configure_logging(args.log_format, args.log_level)
    with listening_socket(args.host, args.port) as sock:
        return Supervisor(sock, args.workers).run()


if __name__ == "__main__":
    sys.exit(main())
