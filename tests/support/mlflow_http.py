"""A tiny MLflow REST client over httpx for tests that check the wire (status codes, bodies)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.live_server import LiveServer
from tests.support.world import unique


class MlflowHttp:
    def __init__(self, server: LiveServer, project: object, token: str, *, api: str = "/api/2.0/mlflow") -> None:
        self.base = server.project_url(project) + api
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.base + path, params=params, headers=self.headers)

    def post(self, path: str, body: Any = None, content: bytes | None = None) -> httpx.Response:
        if content is not None:
            headers = {**self.headers, "Content-Type": "application/json"}
            return httpx.post(self.base + path, content=content, headers=headers)
        return httpx.post(self.base + path, json=body, headers=self.headers)

    def ok(self, path: str, body: Any) -> dict[str, Any]:
        answer = self.post(path, body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    # Shortcuts for tests that need a run to work on (paths relative to /api/2.0/mlflow).
    def experiment(self, name: str | None = None, **extra: Any) -> str:
        return str(self.ok("/experiments/create", {"name": name or unique("exp"), **extra})["experiment_id"])

    def run(self, experiment_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"experiment_id": experiment_id or self.experiment(), "start_time": 1_700_000_000_000, **extra}
        return dict(self.ok("/runs/create", body)["run"])

    def fetch(self, run_id: str) -> dict[str, Any]:
        answer = self.get("/runs/get", run_id=run_id)
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["run"])
