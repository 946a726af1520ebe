"""The model registry over HTTP: models and their ``[model]`` experiments, SemVer versions, aliases,
tags, search, deletes, bad input, concurrency and cross-project isolation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique


class Registry(MlflowHttp):
    def call(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        if method == "GET":
            return self.get(path, **body)
        return httpx.request(method, self.base + path, json=body, headers=self.headers)

    def must(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(method, path, body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def model(self, name: str | None = None, **extra: Any) -> str:
        name = name or unique("model")
        self.must("POST", "/registered-models/create", {"name": name, **extra})
        return name

    def version(self, name: str, **extra: Any) -> dict[str, Any]:
        return dict(self.must("POST", "/model-versions/create", {"name": name, "source": "", **extra})["model_version"])


@pytest.fixture
def registry(live_server: LiveServer, world: World) -> Registry:
    project = world.project()
    return Registry(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def semver_tag(version: str) -> list[dict[str, str]]:
    return [{"key": "gitlab.version", "value": version}]


def test_a_model_owns_its_experiment(registry: Registry) -> None:
    name = unique("model")
    created = registry.must(
        "POST", "/registered-models/create", {"name": name, "description": "d", "tags": [{"key": "k", "value": "v"}]}
    )["registered_model"]
    assert (created["name"], created["description"], created["tags"], created["latest_versions"]) == (name, "d", [], [])
    experiment = registry.get("/experiments/get-by-name", experiment_name=f"[model]{name}").json()["experiment"]
    duplicate = registry.call("POST", "/registered-models/create", {"name": name})
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    for call in (
        ("POST", "/experiments/delete", {"experiment_id": experiment["experiment_id"]}),
        ("POST", "/experiments/update", {"experiment_id": experiment["experiment_id"], "new_name": "x"}),
    ):
        refused = registry.call(*call)
        assert refused.status_code == 400 and "registered model" in refused.json()["message"], refused.text


def test_an_experiment_named_like_the_model_experiment_blocks_it(registry: Registry) -> None:
    name = unique("model")
    registry.experiment(f"[model]{name}")
    answer = registry.call("POST", "/registered-models/create", {"name": name})
    assert (answer.status_code, answer.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    assert f"[model]{name}" in answer.json()["message"]
    assert registry.call("GET", "/registered-models/get", {"name": name}).status_code == 404


@pytest.mark.parametrize("name", ["has space", "a@b@c", "x" * 256, "", "semi;colon"])
def test_invalid_model_names(registry: Registry, name: str) -> None:
    answer = registry.call("POST", "/registered-models/create", {"name": name})
    assert (answer.status_code, answer.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), answer.text


def test_semver_numbering_and_sequence_numbers(registry: Registry) -> None:
    name = registry.model()
    first, second = registry.version(name), registry.version(name, description="two")
    assert [(v["version"], v["aliases"]) for v in (first, second)] == [("1", ["1.0.0"]), ("2", ["1.0.1"])]
    rc = registry.version(name, tags=semver_tag("2.0.0-rc.1"))
    after_rc = registry.version(name)
    assert (rc["aliases"], after_rc["aliases"]) == (["2.0.0-rc.1"], ["2.0.0"])
    assert {t["key"]: t["value"] for t in after_rc["tags"]} == {"gitlab.version": "2.0.0"}
    older = registry.version(name, tags=semver_tag("1.5.0"))
    assert older["version"] == "5"
    latest = registry.must("POST", "/registered-models/get-latest-versions", {"name": name, "stages": ["Production"]})
    assert [v["aliases"] for v in latest["model_versions"]] == [["2.0.0"]]
    model = registry.must("GET", "/registered-models/get", {"name": name})["registered_model"]
    assert [v["version"] for v in model["latest_versions"]] == ["4"]
    duplicate = registry.call("POST", "/model-versions/create", {"name": name, "tags": semver_tag("1.0.1")})
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    invalid = registry.call("POST", "/model-versions/create", {"name": name, "tags": semver_tag("1.2")})
    assert invalid.status_code == 400 and "semantic version" in invalid.json()["message"]
    empty = registry.must("POST", "/registered-models/get-latest-versions", {"name": registry.model()})
    assert empty == {"model_versions": []}


def test_versions_by_number_or_semver_update_and_log_to_their_run(registry: Registry) -> None:
    name = registry.model()
    created = registry.version(name, tags=semver_tag("3.1.4"), run_id="ignored", run_link="x")
    by_number = registry.must("GET", "/model-versions/get", {"name": name, "version": "1"})["model_version"]
    by_semver = registry.must("GET", "/model-versions/get", {"name": name, "version": "3.1.4"})["model_version"]
    assert by_number == by_semver == created
    updated = registry.must("PATCH", "/model-versions/update", {"name": name, "version": "3.1.4", "description": "new"})
    assert updated["model_version"]["description"] == "new"
    run_id = created["run_id"]
    registry.ok("/runs/log-metric", {"run_id": run_id, "key": "acc", "value": 0.9, "timestamp": 1})
    registry.ok("/runs/set-tag", {"run_id": run_id, "key": "gitlab.CI_JOB_ID", "value": "77"})
    run = registry.fetch(run_id)
    assert run["data"]["metrics"][0]["value"] == 0.9
    experiment = registry.get("/experiments/get", experiment_id=run["info"]["experiment_id"]).json()["experiment"]
    assert experiment["name"] == f"[model]{name}"
    uri = registry.must("GET", "/model-versions/get-download-uri", {"name": name, "version": "1"})["artifact_uri"]
    assert uri == run["info"]["artifact_uri"] == created["source"]
    refused = registry.call("POST", "/runs/delete", {"run_id": run_id})
    assert refused.status_code == 400 and "delete the model version" in refused.json()["message"]
    for bad in ("one", "1.2"):
        answer = registry.call("GET", "/model-versions/get", {"name": name, "version": bad})
        assert answer.status_code == 400, bad
    assert registry.call("GET", "/model-versions/get", {"name": name, "version": "9"}).status_code == 404


def test_aliases_and_tags(registry: Registry) -> None:
    name = registry.model()
    registry.version(name)
    second = registry.version(name)
    registry.must("POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": "1.0.1"})
    by_alias = registry.must("GET", "/registered-models/alias", {"name": name, "alias": "champion"})["model_version"]
    assert by_alias["version"] == second["version"] and by_alias["aliases"] == ["1.0.1", "champion"]
    by_semver = registry.must("GET", "/registered-models/alias", {"name": name, "alias": "1.0.0"})["model_version"]
    assert by_semver["version"] == "1"
    model = registry.must("GET", "/registered-models/get", {"name": name})["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]
    for reserved in ("latest", "v3", "2.0.0", "bad alias"):
        answer = registry.call("POST", "/registered-models/alias", {"name": name, "alias": reserved, "version": "1"})
        assert answer.status_code == 400, reserved
    registry.must("DELETE", "/registered-models/alias", {"name": name, "alias": "champion"})
    assert registry.call("GET", "/registered-models/alias", {"name": name, "alias": "champion"}).status_code == 404
    registry.must("POST", "/registered-models/set-tag", {"name": name, "key": "task", "value": "cls"})
    registry.must("POST", "/model-versions/set-tag", {"name": name, "version": "1", "key": "stage", "value": "qa"})
    registry.must("DELETE", "/model-versions/delete-tag", {"name": name, "version": "1", "key": "stage"})
    protected = registry.call(
        "DELETE", "/model-versions/delete-tag", {"name": name, "version": "1", "key": "gitlab.version"}
    )
    assert protected.status_code == 400
    assert registry.must("GET", "/registered-models/get", {"name": name})["registered_model"]["tags"] == [
        {"key": "task", "value": "cls"}
    ]


def test_search_models_and_versions(registry: Registry) -> None:
    prefix = unique("srch")
    a, b = registry.model(f"{prefix}-alpha"), registry.model(f"{prefix}-beta")
    registry.must("POST", "/registered-models/set-tag", {"name": b, "key": "task", "value": "nlp"})
    version = registry.version(a)

    def models(filter: str, **extra: Any) -> list[str]:
        found = registry.must("GET", "/registered-models/search", {"filter": filter, **extra})
        return [m["name"] for m in found.get("registered_models", [])]

    assert models(f"name = '{a}'") == [a]
    assert models(f"name LIKE '{prefix}-%'") == [a, b]
    assert models(f"name ILIKE '{prefix.upper()}-%' AND tag.`mlflow.prompt.is_prompt` != 'true'") == [a, b]
    assert models("tags.task = 'nlp'") == [b]
    assert models(f"name LIKE '{prefix}%'", order_by=["name DESC"]) == [b, a]
    paged = registry.must("GET", "/registered-models/search", {"filter": f"name LIKE '{prefix}%'", "max_results": 1})
    assert len(paged["registered_models"]) == 1 and paged["next_page_token"]
    found = registry.must("GET", "/model-versions/search", {"filter": f"name = '{a}'"})["model_versions"]
    assert [v["version"] for v in found] == ["1"]
    by_run = registry.must("GET", "/model-versions/search", {"filter": f"run_id = '{version['run_id']}'"})
    assert [v["name"] for v in by_run["model_versions"]] == [a]
    bad = registry.call("GET", "/registered-models/search", {"filter": "metrics.a > 1"})
    assert bad.status_code == 400 and "Invalid entity type" in bad.json()["message"]


def test_deletes_remove_versions_runs_and_the_experiment(registry: Registry) -> None:
    name = registry.model()
    first, second = registry.version(name), registry.version(name)
    registry.must("DELETE", "/model-versions/delete", {"name": name, "version": "1"})
    assert registry.get("/runs/get", run_id=first["run_id"]).status_code == 404
    registry.must("PATCH", "/registered-models/update", {"name": name, "description": "still here"})
    renamed = registry.must("POST", "/registered-models/rename", {"name": name, "new_name": f"{name}-2"})
    assert renamed["registered_model"]["name"] == f"{name}-2"
    assert registry.get("/experiments/get-by-name", experiment_name=f"[model]{name}-2").status_code == 200
    registry.must("DELETE", "/registered-models/delete", {"name": f"{name}-2"})
    assert registry.get("/runs/get", run_id=second["run_id"]).status_code == 404
    assert registry.get("/experiments/get-by-name", experiment_name=f"[model]{name}-2").status_code == 404
    registry.model(f"{name}-2")  # the name is free again


def test_concurrent_versions_never_share_a_number(registry: Registry) -> None:
    name = registry.model()
    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(lambda _: registry.version(name), range(18)))
    assert sorted(int(v["version"]) for v in made) == list(range(1, 19))
    assert sorted(v["aliases"][0] for v in made) == sorted(f"1.0.{n}" for n in range(18))


REGISTRY_CALLS = [
    ("GET", "/registered-models/get", {}),
    ("POST", "/registered-models/rename", {"new_name": "stolen"}),
    ("PATCH", "/registered-models/update", {"description": "x"}),
    ("DELETE", "/registered-models/delete", {}),
    ("POST", "/registered-models/get-latest-versions", {}),
    ("POST", "/registered-models/set-tag", {"key": "k", "value": "v"}),
    ("DELETE", "/registered-models/delete-tag", {"key": "k"}),
    ("POST", "/registered-models/alias", {"alias": "a", "version": "1"}),
    ("GET", "/registered-models/alias", {"alias": "1.0.0"}),
    ("DELETE", "/registered-models/alias", {"alias": "a"}),
    ("POST", "/model-versions/create", {}),
    ("GET", "/model-versions/get", {"version": "1"}),
    ("PATCH", "/model-versions/update", {"version": "1", "description": "x"}),
    ("DELETE", "/model-versions/delete", {"version": "1"}),
    ("POST", "/model-versions/transition-stage", {"version": "1", "stage": "Production"}),
    ("GET", "/model-versions/get-download-uri", {"version": "1"}),
    ("POST", "/model-versions/set-tag", {"version": "1", "key": "k", "value": "v"}),
    ("DELETE", "/model-versions/delete-tag", {"version": "1", "key": "k"}),
]


@pytest.mark.parametrize(("method", "path", "extra"), REGISTRY_CALLS)
def test_another_projects_model_is_not_found_even_for_a_member_of_both(
    live_server: LiveServer, world: World, method: str, path: str, extra: dict[str, Any]
) -> None:
    user = world.user()
    a, b = world.project(owner=user), world.project(owner=user)
    token = world.token(user)
    in_a, in_b = Registry(live_server, a.id, token), Registry(live_server, b.id, token)
    name = in_a.model()
    in_a.version(name)
    answer = in_b.call(method, path, {"name": name, **extra})
    assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST"), answer.text
    assert in_b.must("GET", "/registered-models/search", {}).get("registered_models", []) == []
    assert in_a.must("GET", "/model-versions/get", {"name": name, "version": "1"})["model_version"]["version"] == "1"
    searched = in_b.must("GET", "/model-versions/search", {"filter": f"name = '{name}'"})
    assert searched.get("model_versions", []) == []


def test_reporters_read_but_do_not_write(live_server: LiveServer, world: World) -> None:
    project = world.project()
    owner = Registry(live_server, project.id, world.member_token(project, Role.MAINTAINER))
    name = owner.model()
    reader = Registry(live_server, project.id, world.member_token(project, Role.REPORTER))
    assert reader.call("GET", "/registered-models/get", {"name": name}).status_code == 200
    assert reader.call("POST", "/model-versions/create", {"name": name}).status_code == 403
