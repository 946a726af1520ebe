"""``experiments/search`` (POST and GET): filters, order, view types, paging, bad input, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique


@pytest.fixture
def client(live_server: LiveServer, world: World) -> MlflowHttp:
    project = world.project()
    return MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def names(client: MlflowHttp, **body: Any) -> list[str]:
    answer = client.ok("/experiments/search", body)
    return [e["name"] for e in answer.get("experiments", [])]


def make(client: MlflowHttp, name: str, **tags: str) -> str:
    return client.experiment(name, tags=[{"key": k, "value": v} for k, v in tags.items()])


def test_filter_order_and_view_type(client: MlflowHttp) -> None:
    prefix = unique("x")
    a = make(client, f"{prefix}-alpha", team="vision")
    make(client, f"{prefix}-beta", team="nlp")
    make(client, f"{prefix}-gamma")
    client.ok("/experiments/delete", {"experiment_id": a})
    assert names(client) == [f"{prefix}-gamma", f"{prefix}-beta"]  # newest first, deleted hidden
    assert names(client, view_type="ALL", order_by=["name ASC"]) == [
        f"{prefix}-{n}" for n in ("alpha", "beta", "gamma")
    ]
    assert names(client, view_type="DELETED_ONLY") == [f"{prefix}-alpha"]
    assert names(client, filter="tags.team = 'nlp'") == [f"{prefix}-beta"]
    assert names(client, filter="tags.team IS NULL") == [f"{prefix}-gamma"]
    assert names(client, filter=f"name LIKE '{prefix}-%a' AND attributes.name != '{prefix}-beta'") == [
        f"{prefix}-gamma"
    ]
    assert names(client, filter="name ILIKE '%-BETA'") == [f"{prefix}-beta"]
    assert names(client, filter=f"experiment_id IN ('{a}')", view_type="ALL") == [f"{prefix}-alpha"]
    assert names(client, filter="creation_time > 0", order_by=["experiment_id DESC"], max_results=1) == [
        f"{prefix}-gamma"
    ]


def test_get_form_and_paging(client: MlflowHttp) -> None:
    for n in range(5):
        make(client, f"page-{n}")
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"max_results": 2, "order_by": "name DESC"}
        answer = client.get("/experiments/search", **params, **({"page_token": token} if token else {})).json()
        seen += [e["name"] for e in answer["experiments"]]
        token = answer.get("next_page_token")
        if not token:
            break
    assert seen == [f"page-{n}" for n in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filter": "metrics.a > 1"}, "Invalid entity type 'metrics'"),
        ({"filter": "name = 5"}, "Expected a quoted string"),
        ({"filter": "owner = 'x'"}, "Invalid attribute key 'owner'"),
        ({"order_by": ["tags.team"]}, "ordered by attributes only"),
        ({"order_by": ["name", "name DESC"]}, "more than once"),
        ({"view_type": "EVERYTHING"}, "view_type"),
        ({"max_results": -1}, "max_results"),
        ({"page_token": "!!"}, "page_token"),
    ],
)
def test_bad_requests(client: MlflowHttp, body: dict[str, Any], message: str) -> None:
    answer = client.post("/experiments/search", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE" and message in answer.json()["message"]


def test_only_the_projects_own_experiments(client: MlflowHttp, live_server: LiveServer, world: World) -> None:
    mine = unique("mine")
    make(client, mine)
    other = world.project()
    outsider = MlflowHttp(live_server, other.id, world.member_token(other, Role.DEVELOPER))
    theirs = unique("theirs")
    make(outsider, theirs)
    assert names(outsider, view_type="ALL") == [theirs]
    assert names(client, view_type="ALL") == [mine]
