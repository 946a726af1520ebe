"""Two gateway processes on one PostgreSQL database and one S3 endpoint (moto), driven at once.

What a load balancer in front of replicas needs: no duplicate ids or versions, no errors, and every
write visible through the other replica at once (the processes share no memory, only the database
and the bucket). PostgreSQL only: SQLite is the single-process embedded default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from tenants.roles import Role
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.support.artifact_http import ArtifactHttp
from tests.support.artifact_servers import ServerFarm
from tests.support.gateway_process import GatewayProcess, gateway_environment, start_gateway
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_URL_VARIABLE),
        reason=f"replicas share a PostgreSQL database: set {POSTGRES_URL_VARIABLE} (CI does)",
    ),
]

WORKERS_PER_REPLICA = 4
ROUNDS = 3


@pytest.fixture
def replicas(settings: Settings, servers: ServerFarm, tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    s3_settings = servers.s3.settings(settings)
    with ExitStack() as stack:
        yield [
            stack.enter_context(start_gateway(s3_settings, gateway_environment(s3_settings, tmp_path / name)))
            for name in ("a", "b")
        ]


def test_two_replicas_share_one_database_and_one_bucket(replicas: list[GatewayProcess], world: World) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    clients = [MlflowHttp(r.server, project.id, token) for r in replicas]
    model = unique("shared-model")
    clients[0].ok("/registered-models/create", {"name": model})
    shared_experiment = clients[1].experiment()

    def work(job: int) -> dict[str, Any]:
        me, other = job % 2, 1 - job % 2
        client = clients[me]
        artifacts = ArtifactHttp(replicas[me].server, project.id, token)
        done: dict[str, Any] = {"experiments": [], "runs": [], "versions": [], "files": []}
        for round_ in range(ROUNDS):
            done["experiments"].append(client.experiment(unique(f"replica-{job}")))
            run = client.run(shared_experiment)["info"]
            batch = {
                "run_id": run["run_id"],
                "metrics": [{"key": "loss", "value": step / 10, "timestamp": 1, "step": step} for step in range(20)],
                "params": [{"key": "job", "value": str(job)}],
                "tags": [{"key": "round", "value": str(round_)}],
            }
            client.ok("/runs/log-batch", batch)
            root = str(run["artifact_uri"]).removeprefix("mlflow-artifacts:/")
            content = f"job {job} round {round_}".encode()
            assert artifacts.put(f"{root}/model.bin", content).status_code == 200
            version = clients[me].ok("/model-versions/create", {"name": model, "source": "", "run_id": run["run_id"]})
            done["runs"].append((run["run_id"], job, other))
            done["files"].append((f"{root}/model.bin", content, other))
            done["versions"].append(int(version["model_version"]["version"]))
        return done

    jobs = 2 * WORKERS_PER_REPLICA
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(work, range(jobs)))

    experiments = [e for r in results for e in r["experiments"]]
    runs = [run for r in results for run in r["runs"]]
    versions = [v for r in results for v in r["versions"]]
    assert len(set(experiments)) == len(experiments) == jobs * ROUNDS
    assert len({run_id for run_id, _, _ in runs}) == len(runs)
    assert sorted(versions) == list(range(1, jobs * ROUNDS + 1))  # one model, no duplicate or lost version

    for run_id, job, other in runs:  # every write is visible through the other replica
        fetched = clients[other].fetch(run_id)
        assert {p["key"]: p["value"] for p in fetched["data"]["params"]} == {"job": str(job)}
        assert [m["value"] for m in fetched["data"]["metrics"]] == [1.9]
        history = clients[other].get("/metrics/get-history", run_id=run_id, metric_key="loss").json()["metrics"]
        assert len(history) == 20
    for path, content, other in [f for r in results for f in r["files"]]:
        assert ArtifactHttp(replicas[other].server, project.id, token).get(path).content == content
    listed = clients[1].get("/model-versions/search", filter=f"name='{model}'", max_results=1000).json()
    assert sorted(int(v["version"]) for v in listed["model_versions"]) == sorted(versions)
    for replica in replicas:
        assert httpx.get(f"{replica.base_url}/-/readiness").json()["status"] == "ok"
