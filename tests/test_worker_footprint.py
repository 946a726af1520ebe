"""What a serve worker loads: only what serving the API needs (SPEC §9 keeps the tree's RSS small).

The web UI's template engine is loaded by the first page rendered, not by every worker at startup,
and uvicorn is told not to load a WebSocket library (the gateway has no WebSocket route).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = """
import os, sys
from gateway.cli_serve import _server
from gateway.settings import Settings

server = _server(Settings.from_env(os.environ), parent_pid=None)
server.config.load()  # imports the app and builds it through its factory, as a worker does
print(" ".join(sorted(name for name in ("jinja2", "websockets", "wsproto", "gateway.app") if name in sys.modules)))
"""


def loaded_by_a_worker(data_dir: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_worker_loads_no_template_engine_and_no_websocket_library(tmp_path: Path) -> None:
    assert loaded_by_a_worker(tmp_path) == ["gateway.app"]
