"""MLflow 3 logged models over HTTP: the ``LoggedModel`` JSON, finalize, tags, params, delete, search,
``runs/outputs``, metrics with ``model_id``, ``runs/log-model``, bad input, roles and cross-project
isolation. (Their artifacts and registry versions: ``test_logged_model_artifacts.py``.)
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique


class LoggedModels(MlflowHttp):
    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        if method == "GET":
            return self.get(path, **(body or {}))
        return httpx.request(method, self.base + path, json=body, headers=self.headers)

    def must(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.call(method, path, body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def create(self, experiment_id: str, **extra: Any) -> dict[str, Any]:
        return dict(self.must("POST", "/logged-models", {"experiment_id": experiment_id, **extra})["model"])

    def model(self, model_id: str) -> dict[str, Any]:
        return dict(self.must("GET", f"/logged-models/{model_id}")["model"])

    def search(self, experiment_ids: list[str], **extra: Any) -> dict[str, Any]:
        return self.must("POST", "/logged-models/search", {"experiment_ids": experiment_ids, **extra})


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, str(answer.json()["error_code"])


@pytest.fixture
def api(live_server: LiveServer, world: World) -> LoggedModels:
    project = world.project()
    return LoggedModels(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def kv(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def test_create_get_finalize_tag_and_delete(api: LoggedModels) -> None:
    experiment_id = api.experiment()
    run = api.run(experiment_id)
    run_id = run["info"]["run_id"]
    created = api.create(
        experiment_id,
        name="clf",
        model_type="sklearn",
        source_run_id=run_id,
        params=kv({"alpha": "0.5"}),
        tags=kv({"mlflow.source.type": "LOCAL", "team": "a"}),
    )
    info = created["info"]
    model_id = info["model_id"]
    assert model_id.startswith("m-") and len(model_id) == 34 and int(model_id[2:], 16) >= 0
    assert info["experiment_id"] == experiment_id and info["name"] == "clf" and info["model_type"] == "sklearn"
    assert info["source_run_id"] == run_id and info["status"] == "LOGGED_MODEL_PENDING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    assert info["creation_timestamp_ms"] == info["last_updated_timestamp_ms"] > 0
    assert isinstance(info["creator_id"], int) and info["registrations"] == []
    assert info["tags"] == kv({"mlflow.source.type": "LOCAL", "team": "a"})
    assert created["data"] == {"params": kv({"alpha": "0.5"}), "metrics": []}
    assert api.model(model_id) == created

    finalized = api.must("PATCH", f"/logged-models/{model_id}", {"model_id": model_id, "status": "LOGGED_MODEL_READY"})
    assert finalized["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert api.must("PATCH", f"/logged-models/{model_id}", {"status": 3})["model"]["info"]["status"] == (
        "LOGGED_MODEL_UPLOAD_FAILED"
    )

    tagged = api.must("PATCH", f"/logged-models/{model_id}/tags", {"tags": kv({"team": "b", "a/b": "c"})})
    assert {t["key"]: t["value"] for t in tagged["model"]["info"]["tags"]}["team"] == "b"
    assert api.must("DELETE", f"/logged-models/{model_id}/tags/a/b") == {}  # tag keys may hold '/'
    assert error(api.call("DELETE", f"/logged-models/{model_id}/tags/a/b")) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert api.must("POST", f"/logged-models/{model_id}/params", {"params": kv({"alpha": "0.5", "beta": "1"})}) == {}
    assert api.model(model_id)["data"]["params"] == kv({"alpha": "0.5", "beta": "1"})
    changed = api.call("POST", f"/logged-models/{model_id}/params", {"params": kv({"alpha": "0.7"})})
    assert error(changed) == (400, "INVALID_PARAMETER_VALUE") and "alpha" in changed.json()["message"]

    assert api.must("DELETE", f"/logged-models/{model_id}", {"model_id": model_id}) == {}
    for method, path in (
        ("GET", f"/logged-models/{model_id}"),
        ("PATCH", f"/logged-models/{model_id}"),
        ("DELETE", f"/logged-models/{model_id}"),
        ("PATCH", f"/logged-models/{model_id}/tags"),
    ):
        assert error(api.call(method, path, {"status": "LOGGED_MODEL_READY"})) == (404, "RESOURCE_DOES_NOT_EXIST")
    kept = api.must("GET", f"/logged-models/{model_id}", {"allow_deleted": "true"})["model"]
    assert kept["info"]["model_id"] == model_id
    assert api.search([experiment_id]) == {"models": []}


def test_a_name_is_generated_and_experiment_0_is_the_default(api: LoggedModels) -> None:
    created = api.create("0")
    assert created["info"]["experiment_id"] == "0" and "-" in created["info"]["name"]
    assert "source_run_id" not in created["info"] and "model_type" not in created["info"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"experiment_id": "abc"}, "experiment_id"),
        ({}, "experiment_id"),
        ({"experiment_id": "1", "name": 5}, "name"),
        ({"experiment_id": "1", "name": "a/b"}, "cannot contain"),
        ({"experiment_id": "1", "name": "v1.0"}, "cannot contain"),
        ({"experiment_id": "1", "tags": "x"}, "tags"),
        ({"experiment_id": "1", "params": [{"key": 1, "value": "v"}]}, "key"),
        ({"experiment_id": "1", "params": [{"key": "k", "value": "a"}, {"key": "k", "value": "b"}]}, "Duplicate"),
        ({"experiment_id": "1", "model_type": ["x"]}, "model_type"),
        ({"experiment_id": "1", "params": [{"key": f"k{i}", "value": "v"} for i in range(101)]}, "at most 100"),
    ],
)
def test_create_refuses_bad_input(api: LoggedModels, body: dict[str, Any], words: str) -> None:
    api.experiment()  # experiment 1 exists
    answer = api.call("POST", "/logged-models", body)
    assert error(answer) == (400, "INVALID_PARAMETER_VALUE") and words in answer.json()["message"], answer.text


def test_create_needs_a_live_experiment_and_a_run_of_the_project(api: LoggedModels, world: World) -> None:
    assert error(api.call("POST", "/logged-models", {"experiment_id": "999"})) == (404, "RESOURCE_DOES_NOT_EXIST")
    experiment_id = api.experiment()
    missing_run = api.call("POST", "/logged-models", {"experiment_id": experiment_id, "source_run_id": "f" * 32})
    assert error(missing_run) == (404, "RESOURCE_DOES_NOT_EXIST")
    api.ok("/experiments/delete", {"experiment_id": experiment_id})
    assert error(api.call("POST", "/logged-models", {"experiment_id": experiment_id})) == (
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_malformed_bodies_and_statuses(api: LoggedModels) -> None:
    model_id = api.create(api.experiment())["info"]["model_id"]
    for path, method in (("/logged-models", "POST"), (f"/logged-models/{model_id}", "PATCH")):
        answer = httpx.request(method, api.base + path, content=b"{not json", headers=api.headers)
        assert error(answer) == (400, "INVALID_PARAMETER_VALUE"), answer.text
    for status in ("DONE", "", None, True, 7, ["LOGGED_MODEL_READY"]):
        answer = api.call("PATCH", f"/logged-models/{model_id}", {"status": status})
        assert error(answer) == (400, "INVALID_PARAMETER_VALUE"), (status, answer.text)
    assert api.model(model_id)["info"]["status"] == "LOGGED_MODEL_PENDING"
    assert error(api.call("PATCH", f"/logged-models/{model_id}/tags", {"tags": [{"key": "k"}]})) == (
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert error(api.call("POST", "/logged-models/m-unknown/params", {"params": []})) == (
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert error(api.call("GET", "/logged-models/" + "m" * 200)) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert error(api.call("PUT", f"/logged-models/{model_id}")) == (404, "ENDPOINT_NOT_FOUND")


def test_search_filters_orders_and_pages(api: LoggedModels) -> None:
    e1, e2 = api.experiment(), api.experiment()
    run_id = api.run(e1)["info"]["run_id"]
    a = api.create(e1, name="alpha", model_type="agent", params=kv({"lr": "0.1"}), tags=kv({"stage": "dev"}))
    b = api.create(e1, name="beta", params=kv({"lr": "0.2"}))
    c = api.create(e2, name="gamma", source_run_id=run_id)
    ids = {m["info"]["name"]: m["info"]["model_id"] for m in (a, b, c)}
    api.must("PATCH", f"/logged-models/{ids['beta']}", {"status": "LOGGED_MODEL_READY"})
    metrics = [
        {"key": "acc", "value": 0.5, "timestamp": 1, "step": 0, "model_id": ids["alpha"], "dataset_name": "train"},
        {"key": "acc", "value": 0.9, "timestamp": 2, "step": 1, "model_id": ids["alpha"], "dataset_name": "eval"},
        {"key": "acc", "value": 0.7, "timestamp": 1, "step": 0, "model_id": ids["beta"], "dataset_name": "eval"},
    ]
    api.ok("/runs/log-batch", {"run_id": run_id, "metrics": metrics})

    def names(**body: Any) -> list[str]:
        found = api.search(body.pop("experiment_ids", [e1, e2]), **body)
        return [m["info"]["name"] for m in found["models"]]

    assert names() == ["gamma", "beta", "alpha"]  # newest first
    assert names(filter="name = 'alpha'") == ["alpha"]
    assert names(filter="name LIKE 'b%'") == ["beta"] and names(filter="name ILIKE 'B%'") == ["beta"]
    assert names(filter="name IN ('alpha', 'gamma')") == ["gamma", "alpha"]
    assert names(filter="attributes.model_type = 'agent'") == ["alpha"]
    assert names(filter="status = 'READY'") == ["beta"] == names(filter="status = 'LOGGED_MODEL_READY'")
    assert names(filter=f"source_run_id = '{run_id}'") == ["gamma"]
    assert names(filter="params.lr = '0.2'") == ["beta"] and names(filter="params.lr != '0.2'") == ["alpha"]
    assert names(filter="tags.stage = 'dev'") == ["alpha"]
    assert names(filter="metrics.acc > 0.8") == ["alpha"]  # any point of the model matches
    assert names(filter="metrics.acc > 0.6", datasets=[{"dataset_name": "train"}]) == []
    assert names(datasets=[{"dataset_name": "eval"}]) == ["beta", "alpha"]
    assert names(filter="creation_timestamp > 0 AND name != 'beta'") == ["gamma", "alpha"]
    assert names(experiment_ids=[e2]) == ["gamma"] and names(experiment_ids=["999"]) == []
    by_metric = names(order_by=[{"field_name": "metrics.acc", "ascending": False}])
    assert by_metric == ["alpha", "beta", "gamma"]  # latest point: alpha 0.9, beta 0.7, gamma none (last)
    assert names(order_by=[{"field_name": "metrics.acc", "ascending": True}]) == ["beta", "alpha", "gamma"]
    assert names(order_by=[{"field_name": "metrics.acc", "dataset_name": "train"}]) == ["alpha", "gamma", "beta"]
    assert names(order_by=[{"field_name": "name"}]) == ["alpha", "beta", "gamma"]
    assert names(order_by=["name DESC"]) == ["gamma", "beta", "alpha"]

    first = api.search([e1, e2], max_results=2, order_by=[{"field_name": "name"}])
    assert [m["info"]["name"] for m in first["models"]] == ["alpha", "beta"]
    rest = api.search([e1, e2], max_results=2, order_by=[{"field_name": "name"}], page_token=first["next_page_token"])
    assert [m["info"]["name"] for m in rest["models"]] == ["gamma"] and "next_page_token" not in rest
    replayed = api.call(
        "POST", "/logged-models/search", {"experiment_ids": [e1], "page_token": first["next_page_token"]}
    )
    assert error(replayed) == (400, "INVALID_PARAMETER_VALUE")
    found = api.search([e1], filter="name = 'alpha'")["models"][0]
    assert [(m["key"], m["value"], m["dataset_name"], m["run_id"]) for m in found["data"]["metrics"]] == [
        ("acc", 0.5, "train", run_id),
        ("acc", 0.9, "eval", run_id),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"experiment_ids": []},
        {"experiment_ids": ["x"]},
        {"experiment_ids": ["1"], "filter": "name = "},
        {"experiment_ids": ["1"], "filter": "name = 'a' OR name = 'b'"},
        {"experiment_ids": ["1"], "filter": "foo = 'a'"},
        {"experiment_ids": ["1"], "filter": "metrics.acc = 'high'"},
        {"experiment_ids": ["1"], "filter": "creation_timestamp LIKE '1%'"},
        {"experiment_ids": ["1"], "order_by": [{"field_name": "params.lr"}]},
        {"experiment_ids": ["1"], "order_by": [{"field_name": "nope"}]},
        {"experiment_ids": ["1"], "order_by": [{"ascending": True}]},
        {"experiment_ids": ["1"], "order_by": [{"field_name": "name", "ascending": "yes"}]},
        {"experiment_ids": ["1"], "order_by": [{"field_name": "name"}, {"field_name": "name"}]},
        {"experiment_ids": ["1"], "datasets": [{"dataset_digest": "d"}]},
        {"experiment_ids": ["1"], "datasets": "train"},
        {"experiment_ids": ["1"], "max_results": 0},
        {"experiment_ids": ["1"], "max_results": "lots"},
        {"experiment_ids": ["1"], "page_token": "not-a-token"},
    ],
)
def test_search_refuses_bad_input(api: LoggedModels, body: dict[str, Any]) -> None:
    answer = api.call("POST", "/logged-models/search", body)
    assert error(answer) == (400, "INVALID_PARAMETER_VALUE"), answer.text


def test_runs_record_outputs_inputs_and_model_metrics(api: LoggedModels) -> None:
    experiment_id = api.experiment()
    run_id = api.run(experiment_id)["info"]["run_id"]
    model_id = api.create(experiment_id, name="m", source_run_id=run_id)["info"]["model_id"]
    api.ok("/runs/log-metric", {"run_id": run_id, "key": "acc", "value": 0.8, "timestamp": 5, "step": 2})
    assert api.ok("/runs/outputs", {"run_id": run_id, "models": [{"model_id": model_id, "step": "2"}]}) == {}
    api.ok("/runs/outputs", {"run_id": run_id, "models": [{"model_id": model_id, "step": 2}]})  # a repeat: once
    # What MLflow 3's log_model sends next: the run's points again, now with model_id. They are not doubled.
    again = {"key": "acc", "value": 0.8, "timestamp": 5, "step": 2, "model_id": model_id}
    api.ok("/runs/log-batch", {"run_id": run_id, "metrics": [again]})
    api.ok("/runs/log-metric", {"run_id": run_id, **again})
    api.ok("/runs/log-metric", {"run_id": run_id, "key": "f1", "value": "NaN", "timestamp": 6, "model_id": model_id})
    history = api.get("/metrics/get-history", run_id=run_id, metric_key="acc").json()["metrics"]
    assert [(m["value"], m["step"]) for m in history] == [(0.8, 2)]
    assert [m["key"] for m in api.get("/metrics/get-history", run_id=run_id, metric_key="f1").json()["metrics"]]
    model = api.model(model_id)
    assert [(m["key"], m["value"], m["step"], m["model_id"]) for m in model["data"]["metrics"]] == [
        ("acc", 0.8, 2, model_id),
        ("f1", "NaN", 0, model_id),
    ]
    consumer = api.run(experiment_id)["info"]["run_id"]
    api.ok("/runs/log-inputs", {"run_id": consumer, "models": [{"model_id": model_id}]})
    assert api.fetch(run_id)["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 2}]}
    assert api.fetch(consumer)["inputs"] == {"model_inputs": [{"model_id": model_id}]}
    assert api.fetch(consumer)["outputs"] == {}
    searched = api.ok("/runs/search", {"experiment_ids": [experiment_id], "filter": f"run_id = '{run_id}'"})
    assert searched["runs"][0]["outputs"]["model_outputs"][0]["model_id"] == model_id


def test_runs_refuse_unknown_models_without_writing(api: LoggedModels) -> None:
    experiment_id = api.experiment()
    run_id = api.run(experiment_id)["info"]["run_id"]
    unknown = "m-" + "0" * 32
    answers = [
        api.call("POST", "/runs/outputs", {"run_id": run_id, "models": [{"model_id": unknown, "step": 0}]}),
        api.call("POST", "/runs/log-inputs", {"run_id": run_id, "models": [{"model_id": unknown}]}),
        api.call(
            "POST",
            "/runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [
                    {"key": "plain", "value": 1, "timestamp": 1},
                    {"key": "linked", "value": 1, "timestamp": 1, "model_id": unknown},
                ],
                "params": kv({"p": "1"}),
            },
        ),
    ]
    for answer in answers:
        assert error(answer) == (404, "RESOURCE_DOES_NOT_EXIST"), answer.text
    run = api.fetch(run_id)
    assert run["data"].get("metrics", []) == [] and run["data"].get("params", []) == []
    assert run["outputs"] == {} and run["inputs"] == {}
    for body in (
        {"run_id": run_id},
        {"run_id": run_id, "models": "m"},
        {"run_id": run_id, "models": [{"step": 1}]},
        {"run_id": run_id, "models": [{"model_id": unknown, "step": "x"}]},
        {"models": []},
    ):
        assert error(api.call("POST", "/runs/outputs", body)) == (400, "INVALID_PARAMETER_VALUE"), body
    bad_metric = {"key": "m", "value": 1, "timestamp": 1, "model_id": 5}
    assert error(api.call("POST", "/runs/log-metric", {"run_id": run_id, **bad_metric})) == (
        400,
        "INVALID_PARAMETER_VALUE",
    )


def model_json(run_id: str) -> str:
    """What 2.7.1's ``log_model`` sends: the whole MLmodel as JSON."""
    return json.dumps(
        {
            "artifact_path": "",
            "run_id": run_id,
            "utc_time_created": "2026-01-01 00:00:00.000000",
            "flavors": {"sklearn": {"pickled_model": "model.pkl", "config": {"x": 1}}},
            "mlflow_version": "2.7.1",
        }
    )


def test_runs_log_model_appends_to_the_history_tag(api: LoggedModels) -> None:
    run_id = api.run()["info"]["run_id"]
    for _ in range(2):
        assert api.ok("/runs/log-model", {"run_id": run_id, "model_json": model_json(run_id)}) == {}
    tags = {t["key"]: t["value"] for t in api.fetch(run_id)["data"]["tags"]}
    history = json.loads(tags["mlflow.log-model.history"])
    assert (
        history
        == [
            {
                "run_id": run_id,
                "utc_time_created": "2026-01-01 00:00:00.000000",
                "artifact_path": "",
                "flavors": {"sklearn": {"pickled_model": "model.pkl"}},
            }
        ]
        * 2
    )
    for bad in ("{not json", "[]", '{"artifact_path": ""}'):
        answer = api.call("POST", "/runs/log-model", {"run_id": run_id, "model_json": bad})
        assert error(answer) == (400, "INVALID_PARAMETER_VALUE"), answer.text
    assert error(api.call("POST", "/runs/log-model", {"run_id": run_id})) == (400, "INVALID_PARAMETER_VALUE")
    missing = api.call("POST", "/runs/log-model", {"run_id": "f" * 32, "model_json": model_json(run_id)})
    assert error(missing) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_readers_read_and_search_but_do_not_write(live_server: LiveServer, world: World) -> None:
    project = world.project()
    owner = LoggedModels(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    experiment_id = owner.experiment()
    model_id = owner.create(experiment_id)["info"]["model_id"]
    for token in (
        world.member_token(project, Role.REPORTER),
        world.member_token(project, Role.DEVELOPER, scopes=("read_api",)),
    ):
        reader = LoggedModels(live_server, project.id, token)
        assert reader.model(model_id)["info"]["model_id"] == model_id
        assert len(reader.search([experiment_id])["models"]) == 1
        for method, path, body in (
            ("POST", "/logged-models", {"experiment_id": experiment_id}),
            ("PATCH", f"/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}),
            ("PATCH", f"/logged-models/{model_id}/tags", {"tags": kv({"k": "v"})}),
            ("DELETE", f"/logged-models/{model_id}/tags/k", {}),
            ("POST", f"/logged-models/{model_id}/params", {"params": kv({"k": "v"})}),
            ("DELETE", f"/logged-models/{model_id}", {}),
        ):
            assert error(reader.call(method, path, body)) == (403, "PERMISSION_DENIED"), (method, path)
    assert owner.model(model_id)["info"]["tags"] == []


def a_model_of_project_a(live_server: LiveServer, world: World) -> tuple[LoggedModels, LoggedModels, dict[str, Any]]:
    """A member of projects A and B; ``(client on A, client on B, A's project, experiment, run and model)``."""
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    in_a, in_b = LoggedModels(live_server, a.id, token), LoggedModels(live_server, b.id, token)
    experiment_id = in_a.experiment()
    run_id = in_a.run(experiment_id)["info"]["run_id"]
    model_id = in_a.create(experiment_id, name="secret", source_run_id=run_id, tags=kv({"k": "v"}))["info"]["model_id"]
    return in_a, in_b, {"project": a.id, "experiment_id": experiment_id, "run_id": run_id, "model_id": model_id}


def test_another_projects_logged_model_is_not_found_even_for_a_member_of_both(
    live_server: LiveServer, world: World
) -> None:
    in_a, in_b, ids = a_model_of_project_a(live_server, world)
    model_id = ids["model_id"]
    b_experiment = in_b.experiment()
    b_run = in_b.run(b_experiment)["info"]["run_id"]
    for method, path, body in (
        ("GET", f"/logged-models/{model_id}", {}),
        ("GET", f"/logged-models/{model_id}", {"allow_deleted": "true"}),
        ("PATCH", f"/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}),
        ("DELETE", f"/logged-models/{model_id}", {}),
        ("PATCH", f"/logged-models/{model_id}/tags", {"tags": kv({"k": "stolen"})}),
        ("DELETE", f"/logged-models/{model_id}/tags/k", {}),
        ("POST", f"/logged-models/{model_id}/params", {"params": kv({"p": "1"})}),
        ("POST", "/runs/outputs", {"run_id": b_run, "models": [{"model_id": model_id, "step": 0}]}),
        ("POST", "/runs/log-inputs", {"run_id": b_run, "models": [{"model_id": model_id}]}),
        ("POST", "/runs/log-metric", {"run_id": b_run, "key": "m", "value": 1, "timestamp": 1, "model_id": model_id}),
        ("POST", "/logged-models", {"experiment_id": b_experiment, "source_run_id": ids["run_id"]}),
    ):
        answer = in_b.call(method, path, body)
        assert error(answer) == (404, "RESOURCE_DOES_NOT_EXIST"), (method, path, answer.text)
    # Searching B with A's experiment id (or any id) finds nothing of A.
    assert in_b.search([ids["experiment_id"], b_experiment]) == {"models": []}
    unchanged = in_a.model(model_id)
    assert unchanged["info"]["status"] == "LOGGED_MODEL_PENDING" and unchanged["info"]["tags"] == kv({"k": "v"})
    assert unchanged["data"] == {"params": [], "metrics": []}
    b_model = in_b.create(b_experiment)["info"]["model_id"]
    assert error(in_a.call("GET", f"/logged-models/{b_model}")) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_a_stranger_gets_404_on_every_logged_model_endpoint(live_server: LiveServer, world: World) -> None:
    in_a, _, ids = a_model_of_project_a(live_server, world)
    stranger = LoggedModels(live_server, ids["project"], world.member_token(world.project(), Role.MAINTAINER))
    model_id = ids["model_id"]
    for method, path, body in (
        ("POST", "/logged-models", {"experiment_id": ids["experiment_id"]}),
        ("POST", "/logged-models/search", {"experiment_ids": [ids["experiment_id"]]}),
        ("GET", f"/logged-models/{model_id}", {}),
        ("PATCH", f"/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}),
        ("DELETE", f"/logged-models/{model_id}", {}),
        ("PATCH", f"/logged-models/{model_id}/tags", {"tags": []}),
        ("DELETE", f"/logged-models/{model_id}/tags/k", {}),
        ("POST", f"/logged-models/{model_id}/params", {"params": []}),
        ("POST", "/runs/outputs", {"run_id": ids["run_id"], "models": []}),
        ("POST", "/runs/log-model", {"run_id": ids["run_id"], "model_json": "{}"}),
    ):
        answer = stranger.call(method, path, body)
        assert error(answer) == (404, "RESOURCE_DOES_NOT_EXIST"), (method, path, answer.text)
    assert in_a.model(model_id)["info"]["status"] == "LOGGED_MODEL_PENDING"


def test_unique_names_are_not_required(api: LoggedModels) -> None:
    experiment_id = api.experiment()
    name = unique("same")
    first, second = api.create(experiment_id, name=name), api.create(experiment_id, name=name)
    assert first["info"]["model_id"] != second["info"]["model_id"]
    assert len(api.search([experiment_id], filter=f"name = '{name}'")["models"]) == 2
