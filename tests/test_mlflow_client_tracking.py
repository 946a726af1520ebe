"""GitLab's documented tracking calls, made by the real MLflow clients (2.7.1 and 3.17.2) over loopback.

One snippet per client version drives the whole table (each subprocess costs seconds to start);
the assertions below check what the gateway stored, through the same client.
"""

from __future__ import annotations

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import MlflowClientRunner
from tests.support.world import World

pytestmark = pytest.mark.slow

TRACKING_SNIPPET = r"""
import math
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

client = MlflowClient()
out = {}

# Experiments: set (new, then existing), get, get by name, missing name, delete + restore.
exp_id = mlflow.set_experiment("documented").experiment_id
out["same_on_second_set"] = mlflow.set_experiment("documented").experiment_id == exp_id
out["get_experiment_name"] = client.get_experiment(exp_id).name
out["by_name_id"] = mlflow.get_experiment_by_name("documented").experiment_id == exp_id
out["missing_by_name"] = mlflow.get_experiment_by_name("does-not-exist")
doomed = client.create_experiment("doomed", tags={"team": "vision"})
client.delete_experiment(doomed)
out["deleted_stage"] = client.get_experiment(doomed).lifecycle_stage
client.restore_experiment(doomed)
out["restored_stage"] = client.get_experiment(doomed).lifecycle_stage
out["experiment_tags"] = client.get_experiment(doomed).tags

# Runs through the fluent API: unnamed, named with a nested child, params, metrics, batches, tags.
with mlflow.start_run() as unnamed:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"l1": 1, "l2": "two"})
    mlflow.log_metric("acc", 0.7)
    mlflow.log_metric("loss", 1.5, step=1)
    mlflow.log_metric("loss", 0.9, step=2)
    mlflow.log_metrics({"loss": 0.4, "nan_metric": float("nan")}, step=3)
    mlflow.set_tag("gitlab.CI_JOB_ID", "1234")
    mlflow.set_tags({"env": "test", "stage": "one"})
    mlflow.set_tag("stage", "two")
out["unnamed_name"] = unnamed.info.run_name

with mlflow.start_run(run_name="parent", description="the parent") as parent:
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_param("child_param", 1)
out["child_parent_tag"] = client.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId") == parent.info.run_id

run = client.get_run(unnamed.info.run_id)
out["status"] = run.info.status
out["params"] = run.data.params
out["metrics"] = {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in run.data.metrics.items()}
out["tags"] = {k: v for k, v in run.data.tags.items() if k in ("gitlab.CI_JOB_ID", "env", "stage", "mlflow.runName")}
out["history"] = [(m.step, m.value) for m in client.get_metric_history(unnamed.info.run_id, "loss")]

# The client API: create_run, log_batch, set_terminated, update_run (rename), delete + restore.
created = client.create_run(exp_id)
client.log_batch(
    created.info.run_id,
    metrics=[Metric("m", 1.0, 1, 0), Metric("m", 2.0, 2, 1)],
    params=[Param("p", "v")],
    tags=[RunTag("bt", "x")],
)
client.set_terminated(created.info.run_id, "FAILED")
out["terminated"] = client.get_run(created.info.run_id).info.status
client.update_run(created.info.run_id, status="FINISHED", name="renamed")
renamed = client.get_run(created.info.run_id)
out["renamed"] = [renamed.info.run_name, renamed.info.status, renamed.data.tags["mlflow.runName"]]
client.delete_run(created.info.run_id)
out["deleted_run"] = client.get_run(created.info.run_id).info.lifecycle_stage
client.restore_run(created.info.run_id)
out["restored_run"] = client.get_run(created.info.run_id).info.lifecycle_stage
out["param_conflict"] = error_code_of(lambda: client.log_param(created.info.run_id, "p", "other"))
out["missing_run"] = error_code_of(lambda: client.get_run("0" * 32))
emit(out)
"""


def test_documented_tracking_calls(mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(TRACKING_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)

    assert out["same_on_second_set"] and out["by_name_id"]
    assert out["get_experiment_name"] == "documented"
    assert out["missing_by_name"] is None
    assert (out["deleted_stage"], out["restored_stage"]) == ("deleted", "active")
    assert out["experiment_tags"] == {"team": "vision"}

    assert out["unnamed_name"].count("-") == 2
    assert out["child_parent_tag"]
    assert out["status"] == "FINISHED"
    assert out["params"] == {"alpha": "0.5", "l1": "1", "l2": "two"}
    assert out["metrics"] == {"acc": 0.7, "loss": 0.4, "nan_metric": "nan"}
    assert out["tags"] == {
        "gitlab.CI_JOB_ID": "1234",
        "env": "test",
        "stage": "two",
        "mlflow.runName": out["unnamed_name"],
    }
    assert out["history"] == [[1, 1.5], [2, 0.9], [3, 0.4]]

    assert out["terminated"] == "FAILED"
    assert out["renamed"] == ["renamed", "FINISHED", "renamed"]
    assert (out["deleted_run"], out["restored_run"]) == ("deleted", "active")
    assert out["param_conflict"] == "INVALID_PARAMETER_VALUE"
    assert out["missing_run"] == "RESOURCE_DOES_NOT_EXIST"


ISOLATION_SNIPPET = r"""
import os
from mlflow import MlflowClient

client = MlflowClient()
theirs = os.environ["THEIR_RUN"]
emit({
    "get_run": error_code_of(lambda: client.get_run(theirs)),
    "log_metric": error_code_of(lambda: client.log_metric(theirs, "m", 1.0)),
    "get_experiment": error_code_of(lambda: client.get_experiment(os.environ["THEIR_EXPERIMENT"])),
})
"""


def test_the_client_cannot_reach_another_projects_run(
    mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World
) -> None:
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    run = mlflow_client.run(
        "from mlflow import MlflowClient\nc = MlflowClient()\nc.create_experiment('a1')\n"
        "e2 = c.create_experiment('a2')\nemit({'run': c.create_run(e2).info.run_id, 'experiment': e2})",
        tracking_uri=live_server.project_url(a.id),
        token=token,
    )
    out = mlflow_client.run(
        ISOLATION_SNIPPET,
        tracking_uri=live_server.project_url(b.id),
        token=token,
        env={"THEIR_RUN": run["run"], "THEIR_EXPERIMENT": run["experiment"]},
    )
    assert out == {
        "get_run": "RESOURCE_DOES_NOT_EXIST",
        "log_metric": "RESOURCE_DOES_NOT_EXIST",
        "get_experiment": "RESOURCE_DOES_NOT_EXIST",
    }
