"""A simulated GitLab CI job drives the real MLflow clients (2.7.1 and 3.17.2) with its OIDC ID token
as ``MLFLOW_TRACKING_TOKEN``: the run carries the job's tags and is found by a search on the job id.
"""

from __future__ import annotations

import pytest

from tests.support.ci_gateway import CiGateway
from tests.support.mlflow_clients import MlflowClientRunner
from tests.support.oidc import CI_SERVER_URL
from tests.support.world import World

pytestmark = pytest.mark.slow

JOB_SNIPPET = r"""
import os
import mlflow
from mlflow import MlflowClient

assert os.environ["GITLAB_CI"] == "true"
mlflow.set_experiment("ci-training")
with mlflow.start_run() as run:
    mlflow.log_param("epochs", 3)
    mlflow.log_metric("loss", 0.25)
    mlflow.set_tag("gitlab.CI_JOB_ID", os.getenv("CI_JOB_ID"))  # GitLab's documented line: still fine

client = MlflowClient()
job_id, experiment_id = os.environ["CI_JOB_ID"], run.info.experiment_id
by_tag = client.search_runs([experiment_id], filter_string=f"tags.`gitlab.CI_JOB_ID` = '{job_id}'")
by_attribute = client.search_runs([experiment_id], filter_string=f"attributes.ci_job_id = {job_id}")
finished = client.get_run(run.info.run_id)
emit({
    "run_id": run.info.run_id,
    "status": finished.info.status,
    "tags": {k: v for k, v in finished.data.tags.items() if k.startswith("gitlab.")},
    "by_tag": [r.info.run_id for r in by_tag],
    "by_attribute": [r.info.run_id for r in by_attribute],
    "forged": error_code_of(lambda: client.set_tag(run.info.run_id, "gitlab.CI_JOB_ID", "1")),
    "other_project": error_code_of(lambda: MlflowClient(os.environ["OTHER_PROJECT_URI"]).search_experiments()),
})
"""


def test_a_ci_job_logs_a_run_linked_to_itself(
    mlflow_client: MlflowClientRunner, ci_gateway: CiGateway, world: World
) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    job_id = 424242 if mlflow_client.version.startswith("2.") else 434343
    token = ci_gateway.token(ci_project, job_id)
    job_env = {
        "GITLAB_CI": "true",
        "CI": "true",
        "CI_JOB_ID": str(job_id),
        "CI_PIPELINE_ID": "3141",
        "CI_PROJECT_PATH": ci_project,
        "CI_SERVER_URL": CI_SERVER_URL,
        "OTHER_PROJECT_URI": ci_gateway.server.project_url(world.project(visibility="public").id),
    }
    out = mlflow_client.run(
        JOB_SNIPPET, tracking_uri=ci_gateway.server.project_url(project.id), token=token, env=job_env
    )
    assert out["status"] == "FINISHED"
    assert out["tags"] == {
        "gitlab.CI_JOB_ID": str(job_id),
        "gitlab.CI_PIPELINE_ID": "3141",
        "gitlab.CI_COMMIT_SHA": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "gitlab.CI_COMMIT_REF_NAME": "main",
        "gitlab.CI_PROJECT_PATH": ci_project,
        "gitlab.CI_JOB_URL": f"{CI_SERVER_URL}/{ci_project}/-/jobs/{job_id}",
    }
    assert out["by_tag"] == out["by_attribute"] == [out["run_id"]]
    assert out["forged"] == "INVALID_PARAMETER_VALUE"
    assert out["other_project"] == "RESOURCE_DOES_NOT_EXIST"
