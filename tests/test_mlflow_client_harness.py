"""The MLflow client harness: both real clients reach the live gateway, fail fast, and fail readably."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import MlflowClientRunner, client_venv, ensure_client_venv, ready_marker
from tests.support.world import World

pytestmark = pytest.mark.slow


@dataclass
class FailingPeer:
    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def failing_peer() -> Iterator[FailingPeer]:
    """A loopback server that answers every request 503 with an MLflow error body, counting requests."""
    peer = FailingPeer(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer.requests.append(self.path)
            body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down"}).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        peer.url = f"http://127.0.0.1:{server.server_address[1]}/mlflow"
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_real_client_meets_the_gateway_with_each_kind_of_token(
    mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World
) -> None:
    project = world.project()
    member = world.member_token(project, Role.DEVELOPER)
    stranger = world.token(world.user())
    tracking_uri = live_server.project_url(project.id)

    with failing_peer() as peer:
        result = mlflow_client.run(
            """
            import os
            import time

            import mlflow
            from mlflow.utils.rest_utils import MlflowHostCreds, http_request_safe

            member = os.environ["MLFLOW_TRACKING_TOKEN"]


            def unrouted(token):
                # The client's own transport and error parsing, on a path the gateway will never route.
                creds = MlflowHostCreds(mlflow.get_tracking_uri(), token=token)
                return error_code_of(lambda: http_request_safe(creds, "/api/2.0/mlflow/harness/unrouted", "GET"))


            codes = {
                "member": unrouted(member),
                "no token": unrouted(None),
                "bad token": unrouted("glpat-not-a-real-token-at-all"),
                "stranger": unrouted(os.environ["STRANGER_TOKEN"]),
            }
            # The high-level client, configured by the environment alone; it reads the token again per request.
            client = mlflow.MlflowClient()
            missing = client.get_experiment_by_name("harness-no-such-experiment")
            os.environ["MLFLOW_TRACKING_TOKEN"] = "glpat-not-a-real-token-at-all"
            rejected = error_code_of(lambda: client.get_experiment_by_name("harness-no-such-experiment"))

            started = time.monotonic()
            failing = error_of(lambda: mlflow.MlflowClient(os.environ["FAILING_PEER"]).get_experiment("1"))
            emit({
                "version": mlflow.__version__,
                "tracking_uri": mlflow.get_tracking_uri(),
                "codes": codes,
                "missing": None if missing is None else missing.name,
                "rejected": rejected,
                "failing": failing,
                "failing_seconds": time.monotonic() - started,
            })
            """,
            tracking_uri=tracking_uri,
            token=member,
            env={"STRANGER_TOKEN": stranger, "FAILING_PEER": peer.url},
        )

    assert result["version"] == mlflow_client.version
    assert result["tracking_uri"] == tracking_uri
    assert result["codes"] == {
        "member": "ENDPOINT_NOT_FOUND",
        "no token": "UNAUTHENTICATED",
        "bad token": "UNAUTHENTICATED",
        "stranger": "RESOURCE_DOES_NOT_EXIST",
    }
    # get_experiment_by_name turns RESOURCE_DOES_NOT_EXIST (and only that code) into None.
    assert result["missing"] is None
    assert result["rejected"] == "UNAUTHENTICATED"
    # MLFLOW_HTTP_REQUEST_MAX_RETRIES=0: one request, no back-off. A retryable status loses its body's code.
    assert peer.requests == ["/mlflow/api/2.0/mlflow/experiments/get?experiment_id=1"]
    assert result["failing_seconds"] < 5
    assert result["failing"]["error_code"] == "INTERNAL_ERROR"
    assert "too many 503 error responses" in result["failing"]["message"]


def test_snippets_run_in_a_clean_place_and_fail_readably(mlflow_client: MlflowClientRunner) -> None:
    unreachable = "http://127.0.0.1:9/api/v4/projects/1/ml/mlflow"
    seen = mlflow_client.run(
        """
        import os
        import sys

        print("ordinary output", end="")  # emit's line must still be found
        emit({
            "python": sys.executable,
            "home": os.environ["HOME"],
            "cwd": os.getcwd(),
            "mlflow_env": {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")},
            "extra": os.environ.get("EXTRA"),
            "pytest_leak": [k for k in os.environ if k.startswith("PYTEST_")],
        })
        """,
        tracking_uri=unreachable,
        token="tok",
        env={"EXTRA": "yes", "MLFLOW_HTTP_REQUEST_TIMEOUT": "7"},
    )
    assert seen["python"] == str(mlflow_client.python)
    assert seen["home"].startswith(str(mlflow_client.workdir)) and seen["home"].endswith("/home")
    assert seen["cwd"] == seen["home"].removesuffix("/home") + "/cwd"
    assert seen["mlflow_env"] == {
        "MLFLOW_TRACKING_URI": unreachable,
        "MLFLOW_TRACKING_TOKEN": "tok",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "7",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    assert seen["extra"] == "yes"
    assert seen["pytest_leak"] == []

    exited = re.escape(f"MLflow {mlflow_client.version} snippet exited with 1")
    with pytest.raises(AssertionError, match=exited) as failed:
        mlflow_client.run(
            """
            import sys

            print("some context on stderr", file=sys.stderr)
            raise RuntimeError("went wrong on purpose")
            """,
            tracking_uri=unreachable,
            token=None,
        )
    assert "some context on stderr" in str(failed.value)
    assert 'snippet.py", line 4' in str(failed.value)  # the snippet's own line numbers
    assert "RuntimeError: went wrong on purpose" in str(failed.value)

    with pytest.raises(AssertionError, match=re.escape("snippet timed out after 0.5 s")):
        mlflow_client.run("import time; time.sleep(60)", tracking_uri=unreachable, token=None, timeout=0.5)


def test_the_2_7_1_venv_is_built_once_and_records_what_it_holds() -> None:
    python = ensure_client_venv("2.7.1")
    marker_file = client_venv("2.7.1") / "mlgateway-ready.json"
    built = marker_file.stat().st_mtime_ns
    assert ensure_client_venv("2.7.1") == python  # ready: reused, not rebuilt
    assert marker_file.stat().st_mtime_ns == built
    marker = ready_marker("2.7.1")
    assert marker is not None
    assert "mlflow==2.7.1" in marker["freeze"]
    assert marker["key"]["mlflow"] == "2.7.1"
