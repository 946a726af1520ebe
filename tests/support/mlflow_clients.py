"""Real MLflow clients, 2.7.1 and 3.17.2, run in subprocesses against the live gateway.

The two versions can't share one environment. 3.17.2 is the project's own ``.venv`` (the interpreter
running pytest). 2.7.1, the version GitLab documents, gets its own venv, ``<repo>/.venv-mlflow-2.7.1``.
The first test that needs it builds it with ``python -m venv`` and pip. The install is pinned by
``mlflow-2.7.1-constraints.txt`` and accepts wheels only, so a package that has no wheel fails at once
instead of compiling. Later sessions reuse the venv:

* a lock file next to the venv (``fcntl.flock``) makes concurrent pytest processes build it once;
* ``mlgateway-ready.json`` inside it is written last, after an import check. It records the pip freeze
  and what the build depended on: the mlflow version, the Python version and the constraints' hash. If
  the file is missing or any of those has changed, the venv is rebuilt from scratch.

A test gets a :class:`MlflowClientRunner` from the ``mlflow_client`` fixture, parametrized over both
versions. ``run(script, ...)`` writes the dedented snippet to a fresh temporary directory and runs it
under ``mlflow_snippet_prelude.py``, with a clean ``HOME`` and working directory in that same
directory. The prelude defines ``emit``, ``error_of`` and ``error_code_of``. ``run`` returns the
value the snippet emitted. If the snippet exits non-zero, ``run`` raises an ``AssertionError`` that
ends with the snippet's stderr.

How the clients behave with the environment set here (both versions):

* ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`` means one request and no back-off. A 408/429/500/502/503/504
  does not become a ``RestException`` with the body's ``error_code``. It becomes an
  ``MlflowException`` with ``INTERNAL_ERROR`` ("Max retries exceeded ... too many 500 error
  responses"). The default retry settings end the same way, only minutes later.
* In 2.7.1, a JSON error body whose ``error_code`` is not in MLflow's ``ErrorCode`` enum raises a bare
  ``ValueError`` from ``RestException.__init__``. 3.x logs a warning and uses ``INTERNAL_ERROR``.
  ``error_code_of`` lets the ``ValueError`` propagate, so the gateway must only send MLflow's codes.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.mlflow_snippet_prelude import MARKER

MLFLOW_VERSIONS = ("2.7.1", "3.17.2")
CURRENT_VERSION = "3.17.2"  # the one pinned in pyproject.toml's dev extra, installed in .venv

# Each test that uses the ``mlflow_client`` fixture is marked slow automatically. Tests still say so themselves.
MLFLOW_CLIENT_PARAMS = [pytest.param(v, id=f"mlflow-{v}", marks=pytest.mark.slow) for v in MLFLOW_VERSIONS]

SUPPORT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SUPPORT_DIR.parent.parent
PRELUDE = SUPPORT_DIR / "mlflow_snippet_prelude.py"
READY_MARKER = "mlgateway-ready.json"
INSTALL_LOG = "mlgateway-install.log"
INSTALL_TIMEOUT_SECONDS = 1800.0

# Variables that must not leak from the developer's shell or from pytest into a client subprocess.
_DROPPED_PREFIXES = ("MLFLOW_", "DATABRICKS_", "PYTHON", "PYTEST_", "VIRTUAL_ENV", "CONDA_", "XDG_")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def client_environment(
    python: Path, *, tracking_uri: str, token: str | None, home: Path, env: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """The environment of a client subprocess: the caller's, cleaned, plus the MLflow settings.

    ``env`` overrides; a ``None`` value removes the variable (``{"MLFLOW_TRACKING_TOKEN": None}``).
    """
    result = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    # The client's bin directory first, so `python` and `mlflow` (e.g. inside `mlflow run`) are that client's.
    result["PATH"] = os.pathsep.join([str(python.parent), os.environ.get("PATH", os.defpath)])
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY") or os.environ.get("no_proxy"), *_LOOPBACK]))
    result.update(
        HOME=str(home),
        NO_PROXY=no_proxy,
        no_proxy=no_proxy,
        MLFLOW_TRACKING_URI=tracking_uri,
        MLFLOW_DISABLE_TELEMETRY="true",  # 3.x; no telemetry in 2.7.1
        MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true",  # 3.x prints "View run" (and GETs the run) otherwise
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",  # a 5xx fails at once instead of after minutes of back-off
        MLFLOW_HTTP_REQUEST_TIMEOUT="30",  # a hung request fails before the snippet's own timeout
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",  # keeps stderr readable
    )
    if token is not None:
        result["MLFLOW_TRACKING_TOKEN"] = token
    for key, value in (env or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


@dataclass(frozen=True)
class MlflowClientRunner:
    """One MLflow client version: its interpreter and a scratch directory for its snippets."""

    version: str
    python: Path
    workdir: Path

    def run(
        self,
        script: str,
        *,
        tracking_uri: str,
        token: str | None,
        env: Mapping[str, str | None] | None = None,
        timeout: float = 120,
    ) -> Any:
        """Run ``script`` with this client and return what it passed to ``emit`` (``None`` if nothing).

        ``token=None`` sets no ``MLFLOW_TRACKING_TOKEN``; ``env`` adds variables (``None`` removes one).
        """
        rundir = Path(tempfile.mkdtemp(prefix="run-", dir=self.workdir))
        home, cwd = rundir / "home", rundir / "cwd"
        home.mkdir()
        cwd.mkdir()
        snippet = rundir / "snippet.py"
        snippet.write_text(textwrap.dedent(script).strip("\n") + "\n")
        prelude = self.workdir / "prelude" / PRELUDE.name
        environment = self.environment(tracking_uri=tracking_uri, token=token, home=home, env=env)
        command = [str(self.python), str(prelude), str(snippet)]
        try:
            done = subprocess.run(
                command, cwd=cwd, env=environment, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as expired:
            raise AssertionError(
                self._report(snippet, f"timed out after {timeout:g} s", expired.stdout, expired.stderr)
            ) from None
        if done.returncode != 0:
            raise AssertionError(self._report(snippet, f"exited with {done.returncode}", done.stdout, done.stderr))
        results = [line[len(MARKER) :] for line in _text(done.stdout).splitlines() if line.startswith(MARKER)]
        return json.loads(results[0]) if results else None

    def environment(
        self, *, tracking_uri: str, token: str | None, home: Path, env: Mapping[str, str | None] | None = None
    ) -> dict[str, str]:
        """What ``run`` gives a snippet, for tests that start ``self.python`` themselves (``-m mlflow run ...``)."""
        return client_environment(self.python, tracking_uri=tracking_uri, token=token, home=home, env=env)

    def _report(self, snippet: Path, what: str, stdout: bytes | str | None, stderr: bytes | str | None) -> str:
        return (
            f"MLflow {self.version} snippet {what} ({snippet})\n"
            f"--- stdout (tail) ---\n{_tail(_text(stdout), 20)}\n"
            f"--- stderr (tail) ---\n{_tail(_text(stderr), 60)}"
        )


def prepare_mlflow_client(version: str, workdir: Path) -> MlflowClientRunner:
    """The runner for ``version``, building its venv first if it needs one."""
    if version == CURRENT_VERSION:
        installed = importlib.metadata.version("mlflow")
        if installed != version:
            raise RuntimeError(f"this interpreter has mlflow {installed}, not {version}: run `pip install -e '.[dev]'`")
        python = Path(sys.executable)  # not resolved: the symlink inside .venv is what selects the venv
    else:
        python = ensure_client_venv(version)
    (workdir / "prelude").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PRELUDE, workdir / "prelude" / PRELUDE.name)
    return MlflowClientRunner(version=version, python=python, workdir=workdir)


def client_venv(version: str) -> Path:
    return REPO_ROOT / f".venv-mlflow-{version}"


def constraints_file(version: str) -> Path:
    return SUPPORT_DIR / f"mlflow-{version}-constraints.txt"


def ensure_client_venv(version: str) -> Path:
    """``<repo>/.venv-mlflow-<version>/bin/python``, building the venv unless a matching build is ready."""
    venv = client_venv(version)
    python = venv / "bin" / "python"
    wanted = _build_key(version)
    with open(venv.with_name(venv.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        marker = _read_marker(venv)
        if marker is None or marker.get("key") != wanted or not python.exists():
            _build(venv, version, wanted)
    return python


def ready_marker(version: str) -> dict[str, Any] | None:
    """What the last successful build of ``version``'s venv recorded, or ``None``."""
    return _read_marker(client_venv(version))


def _read_marker(venv: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads((venv / READY_MARKER).read_text())
    except (OSError, ValueError):
        return None
    return loaded


def _build_key(version: str) -> dict[str, str]:
    return {
        "mlflow": version,
        "python": platform.python_version(),
        "constraints_sha256": hashlib.sha256(constraints_file(version).read_bytes()).hexdigest(),
    }


def _build(venv: Path, version: str, key: dict[str, str]) -> None:
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    venv.mkdir()
    log = venv / INSTALL_LOG
    python = venv / "bin" / "python"
    # sys.executable may itself be a venv's python; `-m venv` then builds on the same base interpreter.
    _logged(log, [sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    install = [*pip, "install", "--progress-bar", "off", "--only-binary", ":all:"]
    _logged(log, [*install, f"mlflow=={version}", "--constraint", str(constraints_file(version))])
    _logged(log, [str(python), "-c", "import mlflow, mlflow.sklearn, mlflow.pyfunc; print(mlflow.__version__)"])
    freeze = subprocess.run([*pip, "freeze"], capture_output=True, text=True, check=True, timeout=120).stdout
    marker = {
        "key": key,
        "build_seconds": round(time.monotonic() - started, 1),
        "freeze": freeze.split(),
    }
    temporary = venv / (READY_MARKER + ".tmp")
    temporary.write_text(json.dumps(marker, indent=2) + "\n")
    os.replace(temporary, venv / READY_MARKER)


def _logged(log: Path, command: list[str]) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        try:
            done = subprocess.run(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                timeout=INSTALL_TIMEOUT_SECONDS,
            )
            failed = done.returncode != 0
        except subprocess.TimeoutExpired:
            failed = True
    if failed:
        # pip's index configuration here repeats one harmless warning per package: leave it out.
        lines = [line for line in log.read_text().splitlines() if not line.startswith("WARNING: Location")]
        raise RuntimeError(f"building {log.parent} failed at `{' '.join(command)}`:\n" + "\n".join(lines[-40:]))


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode("utf-8", "replace")


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:]) or "(empty)"
