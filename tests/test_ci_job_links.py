"""``gitlab.CI_JOB_ID`` links a run to a CI job (SPEC §6): a typed column set by every tag writer,
searchable by tag and by attribute, cleared with the tag; bad values are a 400 with nothing written.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from compat.tables import Candidate, CandidateLatestMetric
from gateway.db import Database
from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World

JOB = "gitlab.CI_JOB_ID"
T0 = 1_700_000_000_000


@pytest.fixture
def client(live_server: LiveServer, world: World) -> MlflowHttp:
    project = world.project()
    return MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))


def column(database: Database, run_id: str) -> int | None:
    with database.unit_of_work(write=False) as session:
        candidate = session.scalar(select(Candidate).where(Candidate.eid == run_id))
        assert candidate is not None
        return candidate.ci_job_id


def tags_of(client: MlflowHttp, run_id: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in client.fetch(run_id)["data"].get("tags", [])}


def search(client: MlflowHttp, experiment_id: str, filter: str) -> list[str]:
    answer = client.ok("/runs/search", {"experiment_ids": [experiment_id], "filter": filter})
    return [run["info"]["run_id"] for run in answer.get("runs", [])]


def tag(key: str, value: str) -> dict[str, str]:
    return {"key": key, "value": value}


def test_every_tag_writer_links_the_run_and_deleting_the_tag_unlinks_it(client: MlflowHttp, database: Database) -> None:
    experiment = client.experiment()
    created = client.run(experiment, tags=[tag(JOB, "123")])["info"]["run_id"]
    by_set_tag = client.run(experiment)["info"]["run_id"]
    client.ok("/runs/set-tag", {"run_id": by_set_tag, "key": JOB, "value": "456"})
    by_batch = client.run(experiment)["info"]["run_id"]
    client.ok("/runs/log-batch", {"run_id": by_batch, "tags": [tag(JOB, "789"), tag("other", "x")]})

    assert [column(database, run) for run in (created, by_set_tag, by_batch)] == [123, 456, 789]
    assert tags_of(client, created)[JOB] == "123"  # the tag stays, as GitLab shows it

    client.ok("/runs/set-tag", {"run_id": created, "key": JOB, "value": "124"})  # re-linking moves the link
    assert column(database, created) == 124
    client.ok("/runs/delete-tag", {"run_id": created, "key": JOB})
    assert column(database, created) is None and JOB not in tags_of(client, created)
    assert search(client, experiment, "attributes.ci_job_id = 124") == []


def test_a_model_versions_run_is_linked_like_any_run(client: MlflowHttp, database: Database) -> None:
    """GitLab's docs: ``client.set_tag(model_version.run_id, 'gitlab.CI_JOB_ID', os.getenv('CI_JOB_ID'))``."""
    client.ok("/registered-models/create", {"name": "linked"})
    version = client.ok("/model-versions/create", {"name": "linked", "source": ""})["model_version"]
    client.ok("/runs/set-tag", {"run_id": version["run_id"], "key": JOB, "value": "321"})
    assert column(database, version["run_id"]) == 321
    answer = client.post("/runs/set-tag", {"run_id": version["run_id"], "key": JOB, "value": "x"})
    assert answer.status_code == 400


def test_found_by_tag_and_by_attribute_in_its_own_project_only(
    live_server: LiveServer, world: World, client: MlflowHttp
) -> None:
    experiment = client.experiment()
    linked = client.run(experiment, tags=[tag(JOB, "5001")])["info"]["run_id"]
    later = client.run(experiment, tags=[tag(JOB, "5002")], start_time=T0 + 1)["info"]["run_id"]
    client.run(experiment)
    assert search(client, experiment, f"tags.`{JOB}` = '5001'") == [linked]
    assert search(client, experiment, "attributes.ci_job_id = 5001") == [linked]
    assert search(client, experiment, "ci_job_id >= 5001") == [later, linked]
    answer = client.ok("/runs/search", {"experiment_ids": [experiment], "order_by": ["attributes.ci_job_id ASC"]})
    assert [run["info"]["run_id"] for run in answer["runs"]][:2] == [linked, later]

    other_project = world.project()
    other = MlflowHttp(live_server, other_project.id, world.member_token(other_project, Role.DEVELOPER))
    other_experiment = other.experiment()
    theirs = other.run(other_experiment, tags=[tag(JOB, "5001")])["info"]["run_id"]
    assert search(other, other_experiment, "attributes.ci_job_id = 5001") == [theirs]


BAD_VALUES = ["abc", "-5", "0", "None", "1.5", "", " 12", "9223372036854775808", "1" * 25]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_value_that_is_not_a_job_id_is_a_400_and_nothing_is_written(
    client: MlflowHttp, database: Database, value: str
) -> None:
    experiment = client.experiment()
    answer = client.post("/runs/create", {"experiment_id": experiment, "tags": [tag(JOB, value)]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "must be the id of a CI job" in answer.json()["message"]
    assert search(client, experiment, "") == []

    run = client.run(experiment, tags=[tag(JOB, "77")])["info"]["run_id"]
    answer = client.post("/runs/set-tag", {"run_id": run, "key": JOB, "value": value})
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    batch: dict[str, Any] = {
        "run_id": run,
        "metrics": [{"key": "loss", "value": 1.0, "timestamp": T0}],
        "params": [{"key": "alpha", "value": "1"}],
        "tags": [tag("note", "x"), tag(JOB, value)],
    }
    answer = client.post("/runs/log-batch", batch)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    fetched = client.fetch(run)
    assert tags_of(client, run)[JOB] == "77" and "note" not in tags_of(client, run)
    assert fetched["data"].get("metrics", []) == [] and fetched["data"].get("params", []) == []
    assert column(database, run) == 77
    with database.unit_of_work(write=False) as session:
        metrics = select(CandidateLatestMetric.key).join(Candidate).where(Candidate.eid == run)
        assert session.scalars(metrics).all() == []


def test_the_largest_bigint_is_a_job_id(client: MlflowHttp, database: Database) -> None:
    run = client.run(tags=[tag(JOB, str(2**63 - 1))])["info"]["run_id"]
    assert column(database, run) == 2**63 - 1


def test_the_hint_for_a_job_id_read_outside_ci(client: MlflowHttp) -> None:
    answer = client.post("/runs/create", {"experiment_id": client.experiment(), "tags": [tag(JOB, "None")]})
    assert "os.getenv('CI_JOB_ID') is None" in answer.json()["message"]
