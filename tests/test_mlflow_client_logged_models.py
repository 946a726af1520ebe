"""MLflow 3 logged models through the real clients: 3.17.2's ``log_model(name=…)``, loading by
``models:/<model_id>`` and ``runs:/<run>/<name>``, search, tags, finalize, delete, registering a logged
model and loading the version; 2.7.1's ``runs/log-model`` history tag.
"""

from __future__ import annotations

import json

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import CURRENT_VERSION, MlflowClientRunner, prepare_mlflow_client
from tests.support.world import World

pytestmark = pytest.mark.slow

LOGGED_MODEL_SNIPPET = r"""
import json
import numpy as np
import mlflow
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from sklearn.linear_model import LinearRegression

client = MlflowClient()
out = {}
experiment_id = mlflow.set_experiment("logged-models").experiment_id
features = np.array([[0.0], [1.0], [2.0]])
model = LinearRegression().fit(features, np.array([0.0, 2.0, 4.0]))
predict = lambda loaded: [round(float(v), 6) for v in loaded.predict(np.array([[3.0]]))]

with mlflow.start_run() as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("acc", 0.9, step=0)
    info = mlflow.sklearn.log_model(model, name="m", pip_requirements=["scikit-learn"])
    mlflow.log_metric("rmse", 0.25, model_id=info.model_id)
run_id = run.info.run_id
out["model_uri"] = [info.model_uri, info.model_id]
out["sklearn"] = predict(mlflow.sklearn.load_model(info.model_uri))
out["pyfunc"] = predict(mlflow.pyfunc.load_model(info.model_uri))
out["runs_uri"] = predict(mlflow.pyfunc.load_model(f"runs:/{run_id}/m"))

logged = client.get_logged_model(info.model_id)
out["logged"] = {
    "name": logged.name,
    "status": str(logged.status),
    "source_run_id": logged.source_run_id == run_id,
    "experiment_id": logged.experiment_id == experiment_id,
    "artifact_location": logged.artifact_location,
    "params": logged.params,
    "metrics": sorted(
        [m.key, m.value, m.step, m.run_id == run_id, m.model_id == info.model_id] for m in logged.metrics
    ),
}
out["files"] = sorted(f.path for f in client.list_artifacts(run_id, "m"))
run_now = client.get_run(run_id)
out["outputs"] = [[o.model_id == info.model_id, o.step] for o in run_now.outputs.model_outputs]
out["acc_history"] = [m.value for m in client.get_metric_history(run_id, "acc")]
out["run_metrics"] = run_now.data.metrics

# A second model, logged outside any run, then registered, finalized, searched and deleted.
other = mlflow.sklearn.log_model(model, name="other", pip_requirements=["scikit-learn"])
ids = lambda models: sorted(m.model_id for m in models)
search = lambda **kw: ids(mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list", **kw))
out["search"] = {
    "all": search() == sorted([info.model_id, other.model_id]),
    "by_name": search(filter_string="name = 'm'") == [info.model_id],
    "by_metric": search(filter_string="metrics.rmse < 0.5") == [info.model_id],
    "by_param": search(filter_string="params.alpha = '0.5'") == [info.model_id],
    "by_status": search(filter_string="status = 'READY'") == sorted([info.model_id, other.model_id]),
    "ordered": [m.name for m in mlflow.search_logged_models(
        experiment_ids=[experiment_id], order_by=[{"field_name": "name", "ascending": False}], output_format="list"
    )],
}
first = client.search_logged_models([experiment_id], max_results=1)
second = client.search_logged_models([experiment_id], max_results=1, page_token=first.token)
out["paged"] = [len(first), bool(first.token), ids(first + second) == sorted([info.model_id, other.model_id])]

client.set_logged_model_tags(info.model_id, {"stage": "dev", "owner": "me"})
client.delete_logged_model_tag(info.model_id, "owner")
out["tags"] = {k: v for k, v in client.get_logged_model(info.model_id).tags.items() if not k.startswith("mlflow.")}
out["missing_tag"] = error_code_of(lambda: client.delete_logged_model_tag(info.model_id, "owner"))

version = mlflow.register_model(info.model_uri, "from-logged")
out["version"] = [version.version, version.source]  # (the 3.x client does not read model_id back)
out["version_predict"] = predict(mlflow.pyfunc.load_model("models:/from-logged/1"))
out["download_uri"] = client.get_model_version_download_uri("from-logged", "1") == logged.artifact_location
out["model_versions_tag"] = json.loads(client.get_logged_model(info.model_id).tags["mlflow.modelVersions"])
by_run = mlflow.register_model(f"runs:/{run_id}/m", "from-logged")
out["by_run"] = [by_run.version, by_run.source == info.model_uri]

pending = client.create_logged_model(experiment_id, name="external", model_type="agent")
out["pending"] = str(pending.status)
client.finalize_logged_model(pending.model_id, LoggedModelStatus.FAILED)
out["finalized"] = str(client.get_logged_model(pending.model_id).status)
client.delete_logged_model(pending.model_id)
out["deleted"] = error_code_of(lambda: client.get_logged_model(pending.model_id))
store = client._tracking_client.store  # the REST store: MlflowClient has no allow_deleted
out["deleted_allowed"] = store.get_logged_model(pending.model_id, allow_deleted=True).model_type
out["unknown"] = error_code_of(lambda: client.get_logged_model("m-" + "0" * 32))
emit(out)
"""


@pytest.fixture(scope="module")
def client_3(tmp_path_factory: pytest.TempPathFactory) -> MlflowClientRunner:
    return prepare_mlflow_client(CURRENT_VERSION, tmp_path_factory.mktemp("mlflow-3-logged-models"))


def test_mlflow_3_logs_loads_searches_and_registers_logged_models(
    client_3: MlflowClientRunner, live_server: LiveServer, world: World
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = client_3.run(LOGGED_MODEL_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)
    model_uri, model_id = out["model_uri"]
    assert model_uri == f"models:/{model_id}" and model_id.startswith("m-") and len(model_id) == 34
    assert out["sklearn"] == out["pyfunc"] == out["runs_uri"] == [6.0]
    logged = out["logged"]
    assert (logged["name"], logged["status"], logged["source_run_id"], logged["experiment_id"]) == (
        "m",
        "READY",
        True,
        True,
    )
    assert logged["artifact_location"].startswith("mlflow-artifacts:/") and logged["artifact_location"].endswith(
        f"/models/{model_id}/artifacts"
    )
    assert logged["params"] == {"alpha": "0.5"}
    assert logged["metrics"] == [["acc", 0.9, 0, True, True], ["rmse", 0.25, 0, True, True]]
    assert {"MLmodel", "m/MLmodel"} & set(out["files"]) and any(f.endswith("model.skops") for f in out["files"])
    assert out["outputs"] == [[True, 0]]
    assert out["acc_history"] == [0.9]  # log_model re-sends the run's points with model_id: not doubled
    assert out["run_metrics"] == {"acc": 0.9, "rmse": 0.25}
    assert out["search"] == {
        "all": True,
        "by_name": True,
        "by_metric": True,
        "by_param": True,
        "by_status": True,
        "ordered": ["other", "m"],
    }
    assert out["paged"] == [1, True, True]
    assert out["tags"] == {"stage": "dev"} and out["missing_tag"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["version"] == ["1", f"models:/{model_id}"]
    assert out["version_predict"] == [6.0] and out["download_uri"]
    assert out["model_versions_tag"] == [{"name": "from-logged", "version": "1"}]
    assert out["by_run"] == ["2", True]
    assert (out["pending"], out["finalized"]) == ("PENDING", "FAILED")
    assert out["deleted"] == "RESOURCE_DOES_NOT_EXIST" and out["deleted_allowed"] == "agent"
    assert out["unknown"] == "RESOURCE_DOES_NOT_EXIST"


HISTORY_SNIPPET = r"""
import json
import numpy as np
import mlflow
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression

model = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]))
with mlflow.start_run() as run:
    mlflow.sklearn.log_model(model, artifact_path="", pip_requirements=["scikit-learn"])
    mlflow.sklearn.log_model(model, artifact_path="", pip_requirements=["scikit-learn"])
tags = MlflowClient().get_run(run.info.run_id).data.tags
emit({"history": json.loads(tags["mlflow.log-model.history"]), "run_id": run.info.run_id})
"""


def test_mlflow_2_7_1_log_model_records_the_model_history_tag(
    live_server: LiveServer, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    client = prepare_mlflow_client("2.7.1", tmp_path_factory.mktemp("mlflow-2-history"))
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = client.run(HISTORY_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)
    history = out["history"]
    assert len(history) == 2
    for entry in history:
        assert entry["run_id"] == out["run_id"] and entry["artifact_path"] == ""
        assert {"sklearn", "python_function"} <= set(entry["flavors"]) and "utc_time_created" in entry
        assert set(entry) <= {"run_id", "utc_time_created", "artifact_path", "model_uuid", "flavors"}
    assert json.dumps(history)  # plain JSON, as MLflow's server stores it
