"""Seed 004's bulk calls: ``runs/delete-runs`` by creation time and ``runs/restore-runs`` by deletion time."""

from __future__ import annotations

import time

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World

T0 = 1_700_000_000_000


@pytest.fixture
def client(live_server: LiveServer, world: World) -> MlflowHttp:
    project = world.project()
    return MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def stages(client: MlflowHttp, run_ids: list[str]) -> list[str]:
    return [client.fetch(run_id)["info"]["lifecycle_stage"] for run_id in run_ids]


def make_runs(client: MlflowHttp, experiment_id: str, count: int) -> list[str]:
    """Runs started one second apart from ``T0``."""
    return [client.run(experiment_id, start_time=T0 + i * 1000)["info"]["run_id"] for i in range(count)]


def test_delete_runs_takes_the_oldest_runs_created_at_or_before_the_time(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    runs = make_runs(client, experiment_id, 4)
    answer = client.ok("/runs/delete-runs", {"experiment_id": experiment_id, "max_timestamp_millis": T0 + 2000})
    assert answer == {"runs_deleted": 3}
    assert stages(client, runs) == ["deleted", "deleted", "deleted", "active"]
    again = client.ok("/runs/delete-runs", {"experiment_id": experiment_id, "max_timestamp_millis": T0 + 2000})
    assert again == {"runs_deleted": 0}


def test_max_runs_limits_a_bulk_delete_to_the_oldest(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    runs = make_runs(client, experiment_id, 3)
    body = {"experiment_id": experiment_id, "max_timestamp_millis": str(T0 + 10_000), "max_runs": "2"}
    assert client.ok("/runs/delete-runs", body) == {"runs_deleted": 2}
    assert stages(client, runs) == ["deleted", "deleted", "active"]


def test_restore_runs_brings_back_runs_deleted_since_the_time(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    old, recent, kept = make_runs(client, experiment_id, 3)
    client.ok("/runs/delete", {"run_id": old})
    cut = time.time_ns() // 1_000_000 + 1  # after the first deletion (same clock: the server is local)
    while time.time_ns() // 1_000_000 < cut:  # the second one happens at or after the cut
        time.sleep(0.001)
    client.ok("/runs/delete", {"run_id": recent})
    answer = client.ok("/runs/restore-runs", {"experiment_id": experiment_id, "min_timestamp_millis": cut})
    assert answer == {"runs_restored": 1}
    assert stages(client, [old, recent, kept]) == ["deleted", "active", "active"]


def test_the_databricks_paths_of_the_seed_snippet_work(client: MlflowHttp) -> None:
    experiment_id = client.experiment()
    (run,) = make_runs(client, experiment_id, 1)
    body = {"experiment_id": experiment_id, "max_timestamp_millis": T0}
    assert client.ok("/databricks/runs/delete-runs", body) == {"runs_deleted": 1}
    body = {"experiment_id": experiment_id, "min_timestamp_millis": 0, "max_runs": 10_000}
    assert client.ok("/databricks/runs/restore-runs", body) == {"runs_restored": 1}
    assert stages(client, [run]) == ["active"]


def test_runs_of_model_versions_are_left_alone(client: MlflowHttp) -> None:
    client.ok("/registered-models/create", {"name": "bulk-model"})
    version = client.ok("/model-versions/create", {"name": "bulk-model", "source": ""})["model_version"]
    experiment_id = client.fetch(version["run_id"])["info"]["experiment_id"]
    body = {"experiment_id": experiment_id, "max_timestamp_millis": 2 * T0}
    assert client.ok("/runs/delete-runs", body) == {"runs_deleted": 0}
    assert stages(client, [version["run_id"]]) == ["active"]


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("delete-runs", {"max_timestamp_millis": T0}, "'experiment_id'"),
        ("delete-runs", {"experiment_id": "{e}"}, "'max_timestamp_millis'"),
        ("delete-runs", {"experiment_id": "{e}", "max_timestamp_millis": "soon"}, "expected an integer"),
        ("delete-runs", {"experiment_id": "{e}", "max_timestamp_millis": -1}, "at least 0"),
        ("delete-runs", {"experiment_id": "{e}", "max_timestamp_millis": T0, "max_runs": 0}, "at least 1"),
        ("delete-runs", {"experiment_id": "{e}", "max_timestamp_millis": T0, "max_runs": 10_001}, "at most 10000"),
        ("delete-runs", {"experiment_id": "abc", "max_timestamp_millis": T0}, "ids are positive integers"),
        ("restore-runs", {"experiment_id": "{e}"}, "'min_timestamp_millis'"),
        ("restore-runs", {"experiment_id": "{e}", "min_timestamp_millis": 0, "max_runs": True}, "integer"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    client: MlflowHttp, path: str, body: dict[str, object], fragment: str
) -> None:
    experiment_id = client.experiment()
    (run,) = make_runs(client, experiment_id, 1)
    body = {k: (experiment_id if v == "{e}" else v) for k, v in body.items()}
    answer = client.post(f"/runs/{path}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fragment in answer.json()["message"]
    assert stages(client, [run]) == ["active"]


def test_another_projects_experiment_is_not_found_and_untouched(
    client: MlflowHttp, live_server: LiveServer, world: World
) -> None:
    other_project = world.project()
    other = MlflowHttp(live_server, other_project.id, world.member_token(other_project, Role.DEVELOPER))
    other_experiment = other.experiment()
    (other_run,) = make_runs(other, other_experiment, 1)
    client.experiment()  # this project has experiments too, with the same small ids
    for path, key in (("delete-runs", "max_timestamp_millis"), ("restore-runs", "min_timestamp_millis")):
        answer = client.post(f"/runs/{path}", {"experiment_id": "999999", key: 2 * T0})
        assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    outsider = MlflowHttp(live_server, other_project.id, world.member_token(world.project(), Role.OWNER))
    answer = outsider.post("/runs/delete-runs", {"experiment_id": other_experiment, "max_timestamp_millis": 2 * T0})
    assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert stages(other, [other_run]) == ["active"]


def test_a_reporter_may_not_bulk_delete(client: MlflowHttp, live_server: LiveServer, world: World) -> None:
    project = world.project()
    developer = MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    experiment_id = developer.experiment()
    (run,) = make_runs(developer, experiment_id, 1)
    reporter = MlflowHttp(live_server, project.id, world.member_token(project, Role.REPORTER))
    answer = reporter.post("/runs/delete-runs", {"experiment_id": experiment_id, "max_timestamp_millis": 2 * T0})
    assert (answer.status_code, answer.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert stages(developer, [run]) == ["active"]
