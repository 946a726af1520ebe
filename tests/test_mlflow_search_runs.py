"""``runs/search`` over HTTP: every filter form, ordering with MLflow's null rules, paging, view
types, several experiments, bad input and cross-project isolation. One seeded project per module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.db import Database
from gateway.settings import Settings
from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import Ref, World

T0 = 1_700_000_000_000


@dataclass
class Seeded:
    project: Ref
    client: MlflowHttp
    exp_a: str
    exp_b: str
    ids: dict[str, str]
    """run name -> run id"""


def _log(client: MlflowHttp, run_id: str, **batch: Iterable[dict[str, Any]]) -> None:
    client.ok("/runs/log-batch", {"run_id": run_id, **{k: list(v) for k, v in batch.items()}})


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer, database: Database, settings: Settings) -> Seeded:
    world = World(database, settings.secret_key_bytes())
    project = world.project()
    client = MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    exp_a, exp_b = client.experiment(), client.experiment()
    ids: dict[str, str] = {}
    # name: (experiment, start offset, acc, alpha param, tags)
    table: dict[str, tuple[str, int, float | str | None, str | None, dict[str, str]]] = {
        "r1": (exp_a, 1, 0.1, "0.1", {"team": "Vision", "gitlab.CI_JOB_ID": "1000"}),
        "r2": (exp_a, 2, 0.6, "0.5", {"team": "vision", "gitlab.CI_JOB_ID": "1001"}),
        "r3": (exp_a, 3, 0.9, "0.9", {"team": "nlp_core"}),
        "r4": (exp_a, 4, None, None, {}),
        "r5": (exp_a, 5, "NaN", "0.5", {"team": "a*b"}),
        "b1": (exp_b, 6, 0.7, "0.7", {"team": "vision"}),
    }
    for name, (experiment, offset, acc, alpha, tags) in table.items():
        run_id = client.run(experiment, run_name=name, start_time=T0 + offset)["info"]["run_id"]
        ids[name] = run_id
        _log(
            client,
            run_id,
            metrics=[] if acc is None else [{"key": "acc", "value": acc, "timestamp": T0, "step": 0}],
            params=[] if alpha is None else [{"key": "alpha", "value": alpha}],
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )
    client.ok("/runs/update", {"run_id": ids["r3"], "status": "FINISHED", "end_time": T0 + 100})
    client.ok("/runs/update", {"run_id": ids["r2"], "status": "FAILED", "end_time": T0 + 50})
    client.ok("/runs/delete", {"run_id": ids["r4"]})
    return Seeded(project, client, exp_a, exp_b, ids)


def search(seeded: Seeded, filter: str = "", **body: Any) -> list[str]:
    body = {"experiment_ids": [seeded.exp_a], "filter": filter, **body}
    answer = seeded.client.ok("/runs/search", body)
    return [run["info"]["run_name"] for run in answer.get("runs", [])]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("", ["r5", "r3", "r2", "r1"]),
        ("metrics.acc > 0.5", ["r3", "r2"]),
        ("metrics.acc >= 0.6 AND metrics.acc < 0.9", ["r2"]),
        ("metrics.acc != 0.1", ["r5", "r3", "r2"]),
        ("metrics.acc = 0.1", ["r1"]),
        ("params.alpha = '0.5'", ["r5", "r2"]),
        ("params.alpha != '0.5'", ["r3", "r1"]),
        ("params.alpha IS NULL", []),
        ("params.alpha IS NOT NULL", ["r5", "r3", "r2", "r1"]),
        ("tags.team = 'vision'", ["r2"]),
        ("tags.team LIKE 'vis%'", ["r2"]),
        ("tags.team ILIKE 'VIS%'", ["r2", "r1"]),
        ("tags.team LIKE '%_core'", ["r3"]),
        ("tags.team LIKE 'a*%'", ["r5"]),
        ("tags.team IS NULL", []),
        ("tags.`gitlab.CI_JOB_ID` = '1001'", ["r2"]),
        ("tags.\"mlflow.runName\" = 'r3'", ["r3"]),
        ("attributes.run_name = 'r2'", ["r2"]),
        ("run_name LIKE 'r%' AND attributes.status = 'FINISHED'", ["r3"]),
        ("attributes.status != 'RUNNING'", ["r3", "r2"]),
        (f"attributes.start_time > {T0 + 2}", ["r5", "r3"]),
        (f"attributes.end_time < {T0 + 60}", ["r2"]),
        ("attributes.user_id LIKE 'user-%'", ["r5", "r3", "r2", "r1"]),
    ],
)
def test_filters(seeded: Seeded, filter: str, expected: list[str]) -> None:
    assert search(seeded, filter) == expected


def test_run_id_in_and_artifact_uri(seeded: Seeded) -> None:
    wanted = f"('{seeded.ids['r1']}', '{seeded.ids['r3']}', '{seeded.ids['b1']}')"
    assert search(seeded, f"attributes.run_id IN {wanted}") == ["r3", "r1"]
    assert search(seeded, f"run_id NOT IN {wanted}") == ["r5", "r2"]
    uri = seeded.client.fetch(seeded.ids["r2"])["info"]["artifact_uri"]
    assert search(seeded, f"attributes.artifact_uri = '{uri}'") == ["r2"]


def test_view_types_and_several_experiments(seeded: Seeded) -> None:
    assert search(seeded, run_view_type="DELETED_ONLY") == ["r4"]
    assert search(seeded, run_view_type="ALL") == ["r5", "r4", "r3", "r2", "r1"]
    both = search(seeded, "tags.team = 'vision'", experiment_ids=[seeded.exp_a, seeded.exp_b])
    assert both == ["b1", "r2"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.acc DESC"], ["r3", "r2", "r1", "r5"]),  # NaN after numbers; r4 deleted
        (["metrics.acc ASC"], ["r1", "r2", "r3", "r5"]),
        (["params.alpha ASC", "attributes.start_time DESC"], ["r1", "r5", "r2", "r3"]),
        (["params.alpha DESC", "start_time ASC"], ["r3", "r2", "r5", "r1"]),
        (["tags.`gitlab.CI_JOB_ID` DESC"], ["r2", "r1", "r5", "r3"]),  # then runs without it, newest first
        (["attributes.run_name DESC"], ["r5", "r3", "r2", "r1"]),
        ("start_time ASC", ["r1", "r2", "r3", "r5"]),  # GitLab's form: one clause as a string
        (["attributes.end_time"], ["r2", "r3", "r5", "r1"]),  # no end time: last, newest first
    ],
)
def test_order_by(seeded: Seeded, order_by: Any, expected: list[str]) -> None:
    assert search(seeded, order_by=order_by) == expected


@pytest.mark.parametrize(
    ("filter", "order_by", "expected"),
    [
        ("metrics.acc > 0.05", ["metrics.acc DESC"], ["r3", "r2", "r1"]),  # no NaN (r5), no missing (r4)
        ("metrics.acc > 0.05", ["metrics.acc ASC"], ["r1", "r2", "r3"]),
        ("metrics.acc >= 0.1 AND metrics.acc < 0.9", ["metrics.acc DESC"], ["r2", "r1"]),
        ("metrics.acc != 0.6", ["metrics.acc DESC"], ["r3", "r1", "r5"]),  # != keeps NaN: last
        ("metrics.acc > 0.05", ["metrics.acc DESC", "params.alpha ASC"], ["r3", "r2", "r1"]),
    ],
)
def test_filter_and_order_on_the_same_metric(
    seeded: Seeded, filter: str, order_by: list[str], expected: list[str]
) -> None:
    # The compiler joins the metric once for both (no EXISTS, no missing-last CASE): same answers.
    assert search(seeded, filter, order_by=order_by) == expected


def test_same_metric_ties_break_by_newest_start_then_pages(seeded: Seeded) -> None:
    client = seeded.client
    experiment = client.experiment()
    for name, offset, acc in (("t1", 1, 0.5), ("t2", 2, 0.5), ("t3", 3, 0.7), ("t4", 4, 0.2)):
        run_id = client.run(experiment, run_name=name, start_time=T0 + offset)["info"]["run_id"]
        _log(client, run_id, metrics=[{"key": "acc", "value": acc, "timestamp": T0, "step": 0}])
    body = {"experiment_ids": [experiment], "filter": "metrics.acc >= 0.5"}
    for order, expected in (("DESC", ["t3", "t2", "t1"]), ("ASC", ["t2", "t1", "t3"])):
        pages, token = [], None
        while True:
            answer = client.ok(
                "/runs/search",
                {
                    **body,
                    "order_by": [f"metrics.acc {order}"],
                    "max_results": 1,
                    **({"page_token": token} if token else {}),
                },
            )
            pages += [run["info"]["run_name"] for run in answer["runs"]]
            token = answer.get("next_page_token")
            if not token:
                break
        assert pages == expected


def test_missing_values_sort_last_in_both_directions(seeded: Seeded) -> None:
    every = ["ALL"]
    assert search(seeded, run_view_type=every[0], order_by=["metrics.acc DESC"])[-1] == "r4"
    assert search(seeded, run_view_type=every[0], order_by=["metrics.acc ASC"])[-1] == "r4"
    assert search(seeded, run_view_type=every[0], order_by=["params.alpha DESC"])[-1] == "r4"


def test_pages_cover_everything_once(seeded: Seeded) -> None:
    pages, token = [], None
    while True:
        body = {"experiment_ids": [seeded.exp_a], "max_results": 2, "order_by": ["metrics.acc DESC"]}
        answer = seeded.client.ok("/runs/search", {**body, **({"page_token": token} if token else {})})
        pages.append([run["info"]["run_name"] for run in answer["runs"]])
        token = answer.get("next_page_token")
        if not token:
            break
    assert pages == [["r3", "r2"], ["r1", "r5"]]


def test_search_returns_whole_runs(seeded: Seeded) -> None:
    answer = seeded.client.ok("/runs/search", {"experiment_ids": [seeded.exp_a], "filter": "run_name = 'r2'"})
    [run] = answer["runs"]
    assert run == seeded.client.fetch(seeded.ids["r2"])
    assert "next_page_token" not in answer


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filter": "metrics.acc >> 1"}, "Invalid filter"),
        ({"filter": "params.alpha > '1'"}, "Invalid comparator '>' for param 'alpha'"),
        ({"order_by": ["metrics.acc SIDEWAYS"]}, "Invalid order_by clause"),
        ({"order_by": ["metrics.acc", "metrics.acc DESC"]}, "more than once"),
        ({"order_by": [1]}, "expected a list of strings"),
        ({"max_results": 0}, "between 1 and 50000"),
        ({"max_results": 50001}, "between 1 and 50000"),
        ({"run_view_type": "SOME"}, "run_view_type"),
        ({"experiment_ids": []}, "experiment_ids"),
        ({"experiment_ids": ["one"]}, "experiment_ids"),
        ({"page_token": "garbage!"}, "page_token"),
        ({"filter": 5}, "'filter'"),
    ],
)
def test_bad_requests_are_400_with_a_reason(seeded: Seeded, body: dict[str, Any], message: str) -> None:
    answer = seeded.client.post("/runs/search", {"experiment_ids": [seeded.exp_a], **body})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in answer.json()["message"]


def test_a_page_token_only_pages_its_own_search(seeded: Seeded) -> None:
    first = seeded.client.ok("/runs/search", {"experiment_ids": [seeded.exp_a], "max_results": 1})
    other = {"experiment_ids": [seeded.exp_a], "max_results": 1, "filter": "metrics.acc > 0"}
    answer = seeded.client.post("/runs/search", {**other, "page_token": first["next_page_token"]})
    assert answer.status_code == 400 and "another filter" in answer.json()["message"]
    history_token = seeded.client.get(
        "/metrics/get-history", run_id=seeded.ids["r1"], metric_key="acc", max_results=1
    ).json()
    assert "next_page_token" not in history_token  # one point: nothing to replay; forge one instead
    forged = seeded.client.post(
        "/runs/search", {"experiment_ids": [seeded.exp_a], "page_token": "eyJrIjoiaGlzdG9yeSJ9"}
    )
    assert forged.status_code == 400


def test_other_projects_never_see_these_runs(seeded: Seeded, live_server: LiveServer, world: World) -> None:
    other_project = world.project()
    outsider = MlflowHttp(live_server, other_project.id, world.member_token(other_project, Role.DEVELOPER))
    outsider.experiment()  # the other project has experiment ids of its own, maybe the same numbers
    answer = outsider.ok("/runs/search", {"experiment_ids": [seeded.exp_a, seeded.exp_b], "run_view_type": "ALL"})
    assert {r["info"]["run_id"] for r in answer.get("runs", [])}.isdisjoint(seeded.ids.values())
    # A member of both projects, searching under project B, still only sees project B.
    user = world.user()
    world.member(user, Role.DEVELOPER, project=other_project)
    world.member(user, Role.DEVELOPER, project=seeded.project)
    both = MlflowHttp(live_server, other_project.id, world.token(user))
    assert MlflowHttp(live_server, seeded.project.id, world.token(user)).fetch(seeded.ids["r1"])
    answer = both.ok("/runs/search", {"experiment_ids": [seeded.exp_a], "run_view_type": "ALL"})
    assert {r["info"]["run_id"] for r in answer.get("runs", [])}.isdisjoint(seeded.ids.values())


def test_read_only_tokens_may_search(seeded: Seeded, live_server: LiveServer, world: World) -> None:
    project = world.project()
    reader = MlflowHttp(live_server, project.id, world.member_token(project, Role.REPORTER, scopes=("read_api",)))
    assert reader.post("/runs/search", {"experiment_ids": ["1"]}).status_code == 200
    assert reader.post("/experiments/search", {}).status_code == 200
