"""MLflow's artifact proxy and GitLab's package route over httpx, for tests that check the wire."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp


class ArtifactHttp:
    def __init__(self, server: LiveServer, project: object, token: str) -> None:
        self.server = server
        self.project = project
        self.tracking = MlflowHttp(server, project, token)
        self.base = server.project_url(project) + "/api/2.0/mlflow-artifacts"
        self.headers = {"Authorization": f"Bearer {token}"}

    def new_run(self, experiment_id: str | None = None) -> str:
        """A fresh run; returns its artifact root path ``<experiment_id>/<run_id>/artifacts``."""
        info = self.tracking.run(experiment_id)["info"]
        uri = info["artifact_uri"]
        assert uri == f"mlflow-artifacts:/{info['experiment_id']}/{info['run_id']}/artifacts"
        return str(uri).removeprefix("mlflow-artifacts:/")

    def put(self, path: str, content: Any = b"", **headers: str) -> httpx.Response:
        return httpx.put(f"{self.base}/artifacts/{path}", content=content, headers={**self.headers, **headers})

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}/artifacts/{path}", headers=self.headers)

    def list(self, path: str | None) -> httpx.Response:
        params = {} if path is None else {"path": path}
        return httpx.get(f"{self.base}/artifacts", params=params, headers=self.headers)

    def delete(self, path: str) -> httpx.Response:
        return httpx.delete(f"{self.base}/artifacts/{path}", headers=self.headers)

    def mpu(self, action: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}/mpu/{action}/{path}", json=body, headers=self.headers)

    def server_info(self) -> httpx.Response:
        return httpx.get(self.server.project_url(self.project) + "/api/3.0/mlflow/server-info", headers=self.headers)

    def raw(self, method: str, target: str, content: bytes = b"") -> httpx.Response:
        """Send ``target`` (path and query) exactly as written: no dot-segment removal, no re-encoding."""
        request = httpx.Request(
            method,
            self.server.base_url + "/",
            content=content,
            headers=self.headers,
            extensions={"target": target.encode()},
        )
        with httpx.Client() as session:
            return session.send(request)

    def package_url(self, package: str, path: str) -> str:
        return self.server.api(f"projects/{self.project}/packages/ml_models/{package}/files/{path}")

    def package_put(self, package: str, path: str, content: bytes) -> httpx.Response:
        return httpx.put(self.package_url(package, path), content=content, headers=self.headers)

    def package_get(self, package: str, path: str) -> httpx.Response:
        return httpx.get(self.package_url(package, path), headers=self.headers)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error_code"])
