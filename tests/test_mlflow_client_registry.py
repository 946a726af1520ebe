"""GitLab's documented model-registry snippets, run by the real MLflow clients (2.7.1 and 3.17.2).

Loading models from a version's files needs the artifact proxy; those flows live with the artifact
tests. Here: models, versions (automatic and ``gitlab.version``), latest, search, aliases, logging to
a version's run, linking it to a CI job, and deleting.
"""

from __future__ import annotations

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import MlflowClientRunner
from tests.support.world import World

pytestmark = pytest.mark.slow

REGISTRY_SNIPPET = r"""
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

client = MlflowClient()
out = {}
model_name = "docs-model"
model = client.create_registered_model(model_name, tags={"ignored": "yes"}, description="A model")
out["created"] = [model.name, model.description, dict(model.tags)]
out["get"] = client.get_registered_model(model_name).description
client.update_registered_model(model_name, description="New description")
out["updated"] = client.get_registered_model(model_name).description

# Log candidates to the model through its experiment.
exp = client.get_experiment_by_name(f"[model]{model_name}")
with mlflow.start_run(experiment_id=exp.experiment_id) as candidate:
    mlflow.log_metric("acc", 0.8)
out["candidate_experiment"] = exp.name

# Versions: automatic numbering, then an explicit SemVer through the gitlab.version tag.
first = client.create_model_version(model_name, source="", description="first")
version = "2.0.0"
second = client.create_model_version(model_name, version, description="second", tags={"gitlab.version": version})
out["versions"] = [[first.version, list(first.aliases)], [second.version, list(second.aliases)]]
client.update_model_version(model_name, version, description="updated")
out["get_by_semver"] = [
    client.get_model_version(model_name, version).description,
    client.get_model_version(model_name, first.version).description,
]
out["latest"] = [v.version for v in client.get_latest_versions(model_name, stages=["Production"])]
version = mlflow.search_registered_models(filter_string=f"name='{model_name}'")[0].latest_versions[0].version
out["searched_latest"] = version
out["search_versions"] = sorted(v.version for v in client.search_model_versions(f"name='{model_name}'"))

# Metrics, params and the CI job on a version's run.
run_id = client.get_model_version(model_name, "2.0.0").run_id
client.log_metric(run_id, "accuracy", 0.93)
client.log_param(run_id, "depth", "4")
client.log_batch(run_id, [Metric("loss", 0.1, 0, 1)], [Param("lr", "0.01")], [RunTag("note", "batch")])
client.set_tag(run_id, "gitlab.CI_JOB_ID", "4242")
run = client.get_run(run_id)
out["version_run"] = [run.data.metrics, run.data.params, run.data.tags["gitlab.CI_JOB_ID"], run.data.tags["note"]]

# Aliases (a SemVer is one too).
client.set_registered_model_alias(model_name, "champion", second.version)
out["alias"] = client.get_model_version_by_alias(model_name, "champion").version
try:  # 2.7.1 refuses dots in alias names before sending anything
    out["semver_alias"] = client.get_model_version_by_alias(model_name, "1.0.0").version
except mlflow.exceptions.MlflowException as refused:
    out["semver_alias"] = "client: " + refused.message
out["bad_version"] = error_code_of(lambda: client.create_model_version(model_name, "", tags={"gitlab.version": "v1"}))
out["duplicate"] = error_code_of(lambda: client.create_model_version(model_name, "", tags={"gitlab.version": "2.0.0"}))

client.delete_registered_model(model_name)
out["deleted"] = error_code_of(lambda: client.get_registered_model(model_name))
out["experiment_gone"] = client.get_experiment_by_name(f"[model]{model_name}")
emit(out)
"""


def test_documented_registry_snippets(mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(REGISTRY_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)
    assert out["created"] == ["docs-model", "A model", {}]
    assert (out["get"], out["updated"]) == ("A model", "New description")
    assert out["candidate_experiment"] == "[model]docs-model"
    assert out["versions"] == [["1", ["1.0.0"]], ["2", ["2.0.0"]]]
    assert out["get_by_semver"] == ["updated", "first"]
    assert out["latest"] == ["2"] and out["searched_latest"] == "2"
    assert out["search_versions"] == ["1", "2"]
    metrics, params, job, note = out["version_run"]
    assert metrics == {"accuracy": 0.93, "loss": 0.1} and params == {"depth": "4", "lr": "0.01"}
    assert (job, note) == ("4242", "batch")
    assert out["alias"] == "2"
    if mlflow_client.version.startswith("2."):
        assert out["semver_alias"].startswith("client: Invalid alias name: '1.0.0'")
    else:
        assert out["semver_alias"] == "1"
    assert out["bad_version"] == "INVALID_PARAMETER_VALUE"
    assert out["duplicate"] == "RESOURCE_ALREADY_EXISTS"
    assert out["deleted"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["experiment_gone"] is None


LOAD_SNIPPET = r"""
import tempfile
import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression

client = MlflowClient()
model_name = "loadable"
client.create_registered_model(model_name)
client.create_model_version(model_name, source="")
version = client.create_model_version(model_name, source="", tags={"gitlab.version": "1.1.0"})
client.set_registered_model_alias(model_name, "champion", version.version)

# GitLab's documented way: the version's files are logged to its run, at the root (artifact_path="").
model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 2.0]))
with tempfile.TemporaryDirectory() as tmp:
    mlflow.sklearn.save_model(model, f"{tmp}/m", pip_requirements=["scikit-learn"])
    client.log_artifacts(version.run_id, f"{tmp}/m", artifact_path="")
files = sorted(f.path for f in client.list_artifacts(version.run_id))

out = {"files": files}
uris = (f"models:/{model_name}/latest", f"models:/{model_name}/{version.version}", f"models:/{model_name}@champion")
for uri in uris:
    loaded = mlflow.pyfunc.load_model(uri)
    out[uri.split(model_name)[1]] = [round(float(x), 6) for x in loaded.predict(np.array([[3.0]]))]
out["download_uri"] = client.get_model_version_download_uri(model_name, version.version)
emit(out)
"""


def test_models_load_from_a_versions_files(
    mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(LOAD_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)
    assert "MLmodel" in out["files"] and {"model.pkl", "model.skops"} & set(out["files"])  # 2.7.1 | 3.x
    assert out["/latest"] == out["/2"] == out["@champion"] == [3.0]
    assert out["download_uri"].startswith("mlflow-artifacts:/") and out["download_uri"].endswith("/artifacts")
