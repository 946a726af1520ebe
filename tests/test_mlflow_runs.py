"""MLflow ``runs/*`` over HTTP: semantics, batches, bad input and cross-project isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World


@pytest.fixture
def client(live_server: LiveServer, world: World) -> MlflowHttp:
    project = world.project()
    return MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"]["tags"]}


def test_unnamed_run_gets_a_nickname_mirrored_into_the_tag(client: MlflowHttp) -> None:
    run = client.run()
    info = run["info"]
    assert info["status"] == "RUNNING" and info["lifecycle_stage"] == "active"
    assert info["run_id"] == info["run_uuid"] and len(info["run_id"]) == 32
    assert info["start_time"] == 1_700_000_000_000 and "end_time" not in info
    assert tags_of(run)["mlflow.runName"] == info["run_name"]
    adjective, animal, number = info["run_name"].split("-")
    assert adjective.isalpha() and animal.isalpha() and number.isdigit()
    assert info["artifact_uri"] == f"mlflow-artifacts:/{info['experiment_id']}/{info['run_id']}/artifacts"


def test_name_from_run_name_or_tag(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    named = client.run(experiment_id, run_name="first", tags=[{"key": "mlflow.runName", "value": "first"}])
    by_tag = client.run(experiment_id, tags=[{"key": "mlflow.runName", "value": "from-tag"}])
    assert named["info"]["run_name"] == "first"
    assert (by_tag["info"]["run_name"], tags_of(by_tag)["mlflow.runName"]) == ("from-tag", "from-tag")


def test_experiment_zero_is_made_on_first_use(client: MlflowHttp) -> None:
    run = client.run("0")
    assert run["info"]["experiment_id"] == "0"
    default = client.get("/experiments/get", experiment_id="0").json()["experiment"]
    assert default["name"] == "Default"
    assert client.run("0")["info"]["experiment_id"] == "0"


def test_update_status_end_time_and_rename(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    info = client.ok(
        "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 1_700_000_005_000, "run_name": "renamed"}
    )["run_info"]
    assert (info["status"], info["end_time"], info["run_name"]) == ("FINISHED", 1_700_000_005_000, "renamed")
    assert tags_of(client.fetch(run_id))["mlflow.runName"] == "renamed"


def test_metrics_keep_history_and_show_the_latest(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    for step, value in ((1, 1.5), (3, 0.5), (2, 0.9)):
        client.ok(
            "/runs/log-metric", {"run_id": run_id, "key": "loss", "value": value, "timestamp": 10 + step, "step": step}
        )
    client.ok("/runs/log-metric", {"run_id": run_id, "key": "odd", "value": "NaN", "timestamp": 1})
    client.ok("/runs/log-metric", {"run_id": run_id, "key": "big", "value": "Infinity", "timestamp": 1})
    metrics = {m["key"]: m for m in client.fetch(run_id)["data"]["metrics"]}
    assert (metrics["loss"]["value"], metrics["loss"]["step"]) == (0.5, 3)
    assert metrics["odd"]["value"] == "NaN" and metrics["big"]["value"] == "Infinity"
    assert metrics["odd"]["step"] == 0


def test_the_latest_point_of_one_batch_is_mlflows(client: MlflowHttp) -> None:
    # MLflow's order: highest step, then timestamp, then value (NaN lowest); points may come in any order.
    points = {
        "loss": [(2, 5, 0.1), (3, 1, "NaN"), (3, 1, 0.2), (1, 9, 9.0), (3, 1, -0.5)],
        "acc": [(5, 1, 0.3), (5, 2, 0.1), (4, 99, 0.9)],
        "lr": [(0, 1, "NaN"), (0, 0, 1.0)],
    }
    metrics = [
        {"key": key, "value": value, "timestamp": timestamp, "step": step}
        for key, triples in points.items()
        for step, timestamp, value in triples
    ]
    run_id = client.run()["info"]["run_id"]
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    latest = {m["key"]: (m["step"], m["timestamp"], m["value"]) for m in client.fetch(run_id)["data"]["metrics"]}
    assert latest == {"loss": (3, 1, 0.2), "acc": (5, 2, 0.1), "lr": (0, 1, "NaN")}


def test_an_older_bulk_batch_leaves_the_latest_values_alone(client: MlflowHttp) -> None:
    # 30 keys per batch: on PostgreSQL the bulk path (COPY, then the upsert on its own), on SQLite the
    # same upsert; its WHERE keeps the newer point.
    def batch(step: int, value: float) -> list[dict[str, object]]:
        return [{"key": f"k{i}", "value": value + i, "timestamp": 100 + step, "step": step} for i in range(30)]

    run_id = client.run()["info"]["run_id"]
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": batch(5, 0.5)})
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": batch(4, 9.0)})
    latest = {m["key"]: (m["step"], m["value"]) for m in client.fetch(run_id)["data"]["metrics"]}
    assert latest == {f"k{i}": (5, 0.5 + i) for i in range(30)}
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": batch(6, 2.0)})
    latest = {m["key"]: (m["step"], m["value"]) for m in client.fetch(run_id)["data"]["metrics"]}
    assert latest == {f"k{i}": (6, 2.0 + i) for i in range(30)}


@pytest.mark.parametrize("size", [1, 10, 40], ids=["one-point", "few", "bulk"])
def test_metric_points_are_stored_exactly(client: MlflowHttp, size: int) -> None:
    # On PostgreSQL a batch of 40 goes in as a binary COPY, smaller ones in one statement with the
    # latest-value upsert (compat.metrics); SQLite takes every size the same way.
    odd = [("nan", "NaN"), ("up", "Infinity"), ("down", "-Infinity"), ("tiny", 5e-324), ("third", 1 / 3)]
    extremes = [(-(2**63), 2**63 - 1), (2**63 - 1, -(2**63))]  # (timestamp, step)
    points = [
        {"key": f"{name}-{size}", "value": value, "timestamp": timestamp, "step": step}
        for name, value in odd
        for timestamp, step in extremes
    ]
    points += [{"key": f"ünï/cøde {i}", "value": i, "timestamp": i, "step": i} for i in range(size - len(points))]
    run_id = client.run()["info"]["run_id"]
    for first in range(0, len(points), size):
        client.ok("/runs/log-batch", {"run_id": run_id, "metrics": points[first : first + size]})
    for point in points:
        history = client.get("/metrics/get-history", run_id=run_id, metric_key=point["key"]).json()["metrics"]
        expected = {**point, "value": point["value"] if isinstance(point["value"], str) else float(point["value"])}
        assert expected in history, (point, history)


def test_params_are_immutable_but_identical_relogs_pass(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    client.ok("/runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.5"})
    client.ok("/runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.5"})
    conflict = client.post("/runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.7"})
    assert conflict.status_code == 400 and "Changing param values is not allowed" in conflict.json()["message"]
    assert client.fetch(run_id)["data"]["params"] == [{"key": "alpha", "value": "0.5"}]


def test_tags_upsert_and_delete(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    for value in ("a", "b"):
        client.ok("/runs/set-tag", {"run_id": run_id, "key": "stage", "value": value})
    assert tags_of(client.fetch(run_id))["stage"] == "b"
    client.ok("/runs/delete-tag", {"run_id": run_id, "key": "stage"})
    assert "stage" not in tags_of(client.fetch(run_id))
    assert client.post("/runs/delete-tag", {"run_id": run_id, "key": "stage"}).status_code == 404


def test_log_batch_writes_everything(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    metrics = [{"key": f"m{i}", "value": i, "timestamp": 5, "step": 0} for i in range(1000)]
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    params = [{"key": f"p{i}", "value": str(i)} for i in range(100)]
    tags = [{"key": f"t{i}", "value": "x"} for i in range(100)]
    client.ok("/runs/log-batch", {"run_id": run_id, "params": params, "tags": tags})
    data = client.fetch(run_id)["data"]
    assert len(data["metrics"]) == 1000 and len(data["params"]) == 100
    assert {t["key"] for t in data["tags"]} >= {f"t{i}" for i in range(100)}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 1001}, "at most 1000 metrics"),
        ({"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]}, "at most 100 params"),
        ({"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]}, "at most 100 tags"),
        (
            {
                "metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 950,
                "params": [{"key": f"p{i}", "value": "1"} for i in range(51)],
            },
            "at most 1000 metrics, params and tags in total",
        ),
        (
            {
                "metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 999
                + [{"key": "m", "value": "x", "timestamp": 1}]
            },
            "expected a number",
        ),
        ({"params": [{"key": "same", "value": "1"}, {"key": "same", "value": "2"}]}, "different values"),
        ({"metrics": "nope"}, "expected a list"),
        ({"tags": [{"key": "k"}]}, "Missing value for required parameter 'value'"),
    ],
)
def test_invalid_batches_store_nothing(client: MlflowHttp, body: dict[str, Any], fragment: str) -> None:
    run_id = client.run()["info"]["run_id"]
    before = client.fetch(run_id)["data"]
    answer = client.post("/runs/log-batch", {"run_id": run_id, **body})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE" and fragment in answer.json()["message"]
    assert client.fetch(run_id)["data"] == before


def test_delete_and_restore_are_soft(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    client.ok("/runs/delete", {"run_id": run_id})
    assert client.fetch(run_id)["info"]["lifecycle_stage"] == "deleted"
    refused = client.post("/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1})
    assert refused.status_code == 400 and "must be in the 'active' state" in refused.json()["message"]
    client.ok("/runs/restore", {"run_id": run_id})
    assert client.fetch(run_id)["info"]["lifecycle_stage"] == "active"


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/runs/create", {}, "'experiment_id'"),
        ("/runs/create", {"experiment_id": "x1"}, "ids are positive integers"),
        ("/runs/create", {"experiment_id": "999999"}, "No Experiment with id=999999"),
        ("/runs/update", {"run_id": "RUN", "status": "YOLO"}, "Invalid run status"),
        ("/runs/update", {"run_id": "RUN", "end_time": "soon"}, "expected an integer"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1}, "'timestamp'"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "m" * 251, "value": 1, "timestamp": 1}, "limit is 250"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "m", "value": True, "timestamp": 1}, "expected a number"),
        # a float value with int timestamp and step takes the common-case check: it must refuse as much
        ("/runs/log-metric", {"run_id": "RUN", "key": "m" * 251, "value": 0.5, "timestamp": 1}, "limit is 250"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "a/../b", "value": 0.5, "timestamp": 1}, "Invalid metric name"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "", "value": 0.5, "timestamp": 1}, "'key'"),
        ("/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 0.5, "timestamp": 2**63}, "int64"),
        (
            "/runs/log-metric",
            {"run_id": "RUN", "key": "m", "value": 0.5, "timestamp": 1, "step": 2**63},
            "int64",
        ),
        ("/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 0.5, "timestamp": 1, "step": True}, "integer"),
        (
            "/runs/log-batch",
            {"run_id": "RUN", "metrics": [{"key": "ok", "value": 0.5, "timestamp": 1}, {"key": "m", "value": 0.5}]},
            "'timestamp'",
        ),
        ("/runs/log-parameter", {"run_id": "RUN", "key": "p", "value": "v" * 6001}, "limit is 6000"),
        ("/runs/set-tag", {"run_id": "RUN", "key": "../x", "value": "v"}, "Invalid tag name"),
        ("/runs/get", {}, "'run_id'"),
        ("/runs/get", {"run_id": "no-such-run"}, "not found"),
    ],
)
def test_bad_input_is_a_clear_4xx(client: MlflowHttp, path: str, body: dict[str, Any], fragment: str) -> None:
    run_id = client.run()["info"]["run_id"]
    body = {k: (run_id if v == "RUN" else v) for k, v in body.items()}
    answer = client.get(path, **body) if path == "/runs/get" else client.post(path, body)
    assert 400 <= answer.status_code < 500, answer.text
    assert fragment in answer.json()["message"]


RUN_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/runs/get", {}),
    ("POST", "/runs/update", {"status": "KILLED"}),
    ("POST", "/runs/delete", {}),
    ("POST", "/runs/restore", {}),
    ("POST", "/runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}),
    ("POST", "/runs/log-parameter", {"key": "p", "value": "1"}),
    ("POST", "/runs/set-tag", {"key": "t", "value": "1"}),
    ("POST", "/runs/delete-tag", {"key": "mlflow.runName"}),
    ("POST", "/runs/log-batch", {"metrics": [{"key": "m", "value": 1, "timestamp": 1}]}),
    (
        "POST",
        "/runs/log-inputs",
        {"datasets": [{"dataset": {"name": "d", "digest": "1", "source_type": "s", "source": ""}}]},
    ),
]


@pytest.mark.parametrize(("method", "path", "extra"), RUN_CALLS)
def test_another_projects_run_is_not_found_even_for_a_member_of_both(
    live_server: LiveServer, world: World, method: str, path: str, extra: dict[str, Any]
) -> None:
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    in_a, in_b = MlflowHttp(live_server, a.id, token), MlflowHttp(live_server, b.id, token)
    run = in_a.run()
    body = {"run_id": run["info"]["run_id"], **extra}
    answer = in_b.get(path, **body) if method == "GET" else in_b.post(path, body)
    assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert in_a.fetch(run["info"]["run_id"]) == run  # untouched
    stolen = in_b.post("/runs/create", {"experiment_id": run["info"]["experiment_id"]})
    assert stolen.status_code == 404


def test_metric_history_pages_in_step_order(client: MlflowHttp) -> None:
    run_id = client.run()["info"]["run_id"]
    points = [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": 100 + s, "step": s} for s in reversed(range(7))]
    client.ok("/runs/log-batch", {"run_id": run_id, "metrics": points})
    seen: list[int] = []
    token = None
    for _ in range(5):
        params = {"run_id": run_id, "metric_key": "loss", "max_results": 3, **({"page_token": token} if token else {})}
        page = client.get("/metrics/get-history", **params).json()
        seen += [m["step"] for m in page["metrics"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == list(range(7))
    unknown = client.get("/metrics/get-history", run_id=run_id, metric_key="nope").json()
    assert unknown == {"metrics": []}


def test_a_long_history_is_one_json_document_across_its_encoded_pieces(client: MlflowHttp) -> None:
    # 2 500 points answered 2 100 at a time: the page is encoded a thousand points at a time and
    # sent as those pieces (gateway.http.EncodedJSON), so the splices must make one valid document.
    run_id = client.run()["info"]["run_id"]
    for first in range(0, 2500, 1000):
        points = [{"key": "loss", "value": s / 7, "timestamp": 10 + s, "step": s} for s in range(first, first + 1000)]
        client.ok("/runs/log-batch", {"run_id": run_id, "metrics": points[: 2500 - first]})
    params = {"run_id": run_id, "metric_key": "loss", "max_results": 2100}
    first_page = client.get("/metrics/get-history", **params)
    assert first_page.headers["content-type"] == "application/json"
    assert int(first_page.headers["content-length"]) == len(first_page.content)
    body = first_page.json()
    assert [m["step"] for m in body["metrics"]] == list(range(2100))
    assert body["metrics"][1234] == {"key": "loss", "value": 1234 / 7, "timestamp": 1244, "step": 1234}
    rest = client.get("/metrics/get-history", **params, page_token=body["next_page_token"]).json()
    assert [m["step"] for m in rest["metrics"]] == list(range(2100, 2500))
    assert "next_page_token" not in rest
    head = httpx.head(client.base + "/metrics/get-history", params=params, headers=client.headers)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == first_page.headers["content-length"]


@pytest.mark.parametrize("token", ["garbage!", "eyJrIjoicnVucyJ9", "bm90IGpzb24"])
def test_tampered_page_tokens_are_a_400(client: MlflowHttp, token: str) -> None:
    run_id = client.run()["info"]["run_id"]
    answer = client.get("/metrics/get-history", run_id=run_id, metric_key="m", page_token=token)
    assert (answer.status_code, answer.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "page_token" in answer.json()["message"]


def test_history_of_another_projects_run_is_not_found(live_server: LiveServer, world: World) -> None:
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    run_id = MlflowHttp(live_server, a.id, token).run()["info"]["run_id"]
    answer = MlflowHttp(live_server, b.id, token).get("/metrics/get-history", run_id=run_id, metric_key="m")
    assert answer.status_code == 404


def dataset(name: str = "train", digest: str = "abc123", **extra: Any) -> dict[str, Any]:
    return {"name": name, "digest": digest, "source_type": "local", "source": '{"uri": "/data/train.csv"}', **extra}


def test_log_inputs_stores_datasets_shown_in_the_run_and_searchable(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    run_id = client.run(experiment_id)["info"]["run_id"]
    context = {"key": "mlflow.data.context", "value": "training"}
    body = {"run_id": run_id, "datasets": [{"dataset": dataset(schema='{"a": 1}'), "tags": [context]}]}
    client.ok("/runs/log-inputs", body)
    client.ok("/runs/log-inputs", body)  # the same dataset again: still one input
    client.ok("/runs/log-inputs", {"run_id": run_id, "datasets": [{"dataset": dataset("eval", "def")}], "models": []})
    inputs = client.fetch(run_id)["inputs"]["dataset_inputs"]
    assert [(i["dataset"]["name"], i["tags"]) for i in inputs] == [("train", [context]), ("eval", [])]
    assert inputs[0]["dataset"]["schema"] == '{"a": 1}' and "profile" not in inputs[0]["dataset"]
    for filter in ("datasets.name = 'eval'", "datasets.context = 'training'", "datasets.digest IN ('abc123')"):
        found = client.ok("/runs/search", {"experiment_ids": [experiment_id], "filter": filter})["runs"]
        assert [r["info"]["run_id"] for r in found] == [run_id], filter


@pytest.mark.parametrize(
    "datasets",
    [
        [{"dataset": {"name": "x"}}],
        [{"dataset": dataset(digest="d" * 37)}],
        [{"dataset": dataset(), "tags": [{"key": "k", "value": "v" * 501}]}],
        [{"tags": []}],
        "not-a-list",
    ],
)
def test_log_inputs_refuses_bad_datasets_and_stores_nothing(client: MlflowHttp, datasets: Any) -> None:
    run_id = client.run()["info"]["run_id"]
    body = (
        {"run_id": run_id, "datasets": [{"dataset": dataset("fine")}, *datasets]}
        if isinstance(datasets, list)
        else {
            "run_id": run_id,
            "datasets": datasets,
        }
    )
    answer = client.post("/runs/log-inputs", body)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE", answer.text
    assert client.fetch(run_id)["inputs"] == {}
