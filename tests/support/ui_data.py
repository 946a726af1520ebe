"""A project with the data the web UI shows, made through the real MLflow REST API: an experiment of
training runs with params, metric histories, tags, a CI job and an artifact, and a registered model with
two versions. Shared by the web UI tests and ``docs/screenshots/make.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.live_server import LiveServer
from tests.support.world import Ref, UserRef, World, unique

PASSWORD = "correct-horse-battery"
T0 = 1_717_000_000_000
RUN_SETTINGS = [
    # name, learning rate, max depth, optimizer, final loss, r2
    ("baseline", "0.1", "4", "sgd", 0.62, 0.21),
    ("deeper-trees", "0.1", "8", "sgd", 0.48, 0.38),
    ("adam-fast", "0.03", "8", "adam", 0.35, 0.52),
    ("adam-slow", "0.01", "8", "adam", 0.41, 0.47),
]


@dataclass
class SeededRun:
    run_id: str
    name: str
    experiment_id: str


@dataclass
class SeededProject:
    project: Ref
    developer: UserRef
    developer_token: str
    experiment_id: str
    experiment_name: str
    runs: list[SeededRun] = field(default_factory=list)
    model_name: str = ""

    def ml(self, base_url: str) -> str:
        return f"{base_url}/{self.project.full_path}/-/ml"


def seed_project(server: LiveServer, world: World, *, steps: int = 30) -> SeededProject:
    project = world.project()
    developer = world.user(password=PASSWORD)
    world.member(developer, Role.DEVELOPER, project=project)
    token = world.token(developer)
    artifacts = ArtifactHttp(server, project.id, token)
    http = artifacts.tracking
    name = unique("churn-classifier")
    experiment_id = http.experiment(name)
    seeded = SeededProject(project, developer, token, experiment_id, name)
    for index, (run_name, rate, depth, optimizer, final_loss, r2) in enumerate(RUN_SETTINGS):
        start = T0 + index * 3_600_000
        tags = [
            {"key": "mlflow.source.type", "value": "JOB" if index == 2 else "LOCAL"},
            {"key": "mlflow.source.name", "value": "train.py"},
            {"key": "mlflow.source.git.commit", "value": f"{index + 1:x}" * 8},
            {"key": "team", "value": "ml platform"},
        ]
        if index == 2:
            tags += [
                {"key": "gitlab.CI_JOB_ID", "value": "4711"},
                {"key": "gitlab.CI_JOB_URL", "value": "https://gitlab.example.com/ml/churn/-/jobs/4711"},
            ]
        info = http.run(experiment_id, run_name=run_name, start_time=start, tags=tags)["info"]
        metrics = []
        for step in range(steps):
            progress = step / max(1, steps - 1)
            loss = final_loss + (1.2 - final_loss) * math.exp(-4 * progress)
            metrics.append({"key": "loss", "value": round(loss, 4), "timestamp": start + step * 1000, "step": step})
            metrics.append(
                {"key": "accuracy", "value": round(1 - loss / 2, 4), "timestamp": start + step * 1000, "step": step}
            )
        metrics.append({"key": "r2", "value": r2, "timestamp": start + steps * 1000, "step": 0})
        params = [
            {"key": "learning_rate", "value": rate},
            {"key": "max_depth", "value": depth},
            {"key": "optimizer", "value": optimizer},
        ]
        http.ok("/runs/log-batch", {"run_id": info["run_id"], "metrics": metrics, "params": params})
        http.ok("/runs/update", {"run_id": info["run_id"], "status": "FINISHED", "end_time": start + 95_000})
        root = str(info["artifact_uri"]).removeprefix("mlflow-artifacts:/")
        answer = artifacts.put(f"{root}/confusion.csv", b"label,predicted,count\nchurn,churn,41\n")
        assert answer.status_code == 200, answer.text
        seeded.runs.append(SeededRun(info["run_id"], run_name, experiment_id))
    seeded.model_name = unique("churn-model")
    http.ok("/registered-models/create", {"name": seeded.model_name, "description": "Predicts customer churn."})
    for version_description in ("First release.", "Retrained on May data."):
        version = http.ok(
            "/model-versions/create", {"name": seeded.model_name, "source": "", "description": version_description}
        )["model_version"]
        run_id = version["run_id"]
        http.ok(
            "/runs/log-batch",
            {"run_id": run_id, "metrics": [{"key": "r2", "value": 0.52, "timestamp": T0, "step": 0}]},
        )
    http.ok("/registered-models/alias", {"name": seeded.model_name, "alias": "champion", "version": "2"})
    return seeded
