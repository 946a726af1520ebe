"""What a CI job token may do once verified: its binding's role on its bound project and nothing else
(every other project is a 404, public ones included), and runs that carry its job — tags it cannot
forge.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from compat.tables import Candidate
from gateway.db import Database
from tenants import ci_bindings
from tenants.roles import Role
from tests.support.ci_gateway import CiGateway
from tests.support.mlflow_http import MlflowHttp
from tests.support.oidc import CI_SERVER_URL
from tests.support.world import World, unique

JOB_TAGS = ("gitlab.CI_JOB_ID", "gitlab.CI_PIPELINE_ID", "gitlab.CI_COMMIT_SHA", "gitlab.CI_COMMIT_REF_NAME")


def tags_of(client: MlflowHttp, run_id: str) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in client.fetch(run_id)["data"].get("tags", [])}


def ci_job_id(database: Database, run_id: str) -> int | None:
    with database.unit_of_work(write=False) as session:
        return session.scalar(select(Candidate.ci_job_id).where(Candidate.eid == run_id))


def test_runs_of_a_job_carry_its_tags_and_link_to_its_page(
    ci_gateway: CiGateway, world: World, database: Database
) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 9001))
    run = job.run(tags=[{"key": "team", "value": "vision"}])
    tags = tags_of(job, run["info"]["run_id"])
    assert {key: tags[key] for key in (*JOB_TAGS, "gitlab.CI_PROJECT_PATH", "gitlab.CI_JOB_URL", "team")} == {
        "gitlab.CI_JOB_ID": "9001",
        "gitlab.CI_PIPELINE_ID": "3141",
        "gitlab.CI_COMMIT_SHA": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "gitlab.CI_COMMIT_REF_NAME": "main",
        "gitlab.CI_PROJECT_PATH": ci_project,
        "gitlab.CI_JOB_URL": f"{CI_SERVER_URL}/{ci_project}/-/jobs/9001",
        "team": "vision",
    }
    assert ci_job_id(database, run["info"]["run_id"]) == 9001
    assert run["info"]["user_id"].startswith(f"ci_{project.id}_bot_")
    found = job.ok("/runs/search", {"experiment_ids": [run["info"]["experiment_id"]], "filter": "ci_job_id = 9001"})
    assert [r["info"]["run_id"] for r in found["runs"]] == [run["info"]["run_id"]]


def test_a_jobs_model_version_run_carries_its_tags(ci_gateway: CiGateway, world: World, database: Database) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 9008))
    job.ok("/registered-models/create", {"name": "detector"})
    version = job.ok("/model-versions/create", {"name": "detector", "source": ""})["model_version"]
    assert tags_of(job, version["run_id"])["gitlab.CI_JOB_ID"] == "9008"
    assert ci_job_id(database, version["run_id"]) == 9008


def test_a_job_cannot_claim_another_jobs_tags(ci_gateway: CiGateway, world: World, database: Database) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 9002))
    experiment = job.experiment()
    refused = job.post(
        "/runs/create", {"experiment_id": experiment, "tags": [{"key": "gitlab.CI_JOB_ID", "value": "1"}]}
    )
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "is '9002' for runs written with this CI job token" in refused.json()["message"]
    assert job.ok("/runs/search", {"experiment_ids": [experiment]}).get("runs", []) == []

    same = job.run(experiment, tags=[{"key": "gitlab.CI_JOB_ID", "value": "9002"}])["info"]["run_id"]
    for key, value in (("gitlab.CI_JOB_ID", "9003"), ("gitlab.CI_COMMIT_SHA", "0" * 40), ("gitlab.CI_JOB_URL", "x")):
        answer = job.post("/runs/set-tag", {"run_id": same, "key": key, "value": value})
        assert answer.status_code == 400, (key, answer.text)
    batch = {"run_id": same, "tags": [{"key": "gitlab.CI_PIPELINE_ID", "value": "1"}]}
    assert job.post("/runs/log-batch", batch).status_code == 400
    assert tags_of(job, same)["gitlab.CI_PIPELINE_ID"] == "3141"

    # A run someone else started in the project: the job may link it to itself, and only to itself.
    person = MlflowHttp(ci_gateway.server, project.id, world.member_token(project, Role.DEVELOPER))
    theirs = person.run(experiment)["info"]["run_id"]
    job.ok("/runs/set-tag", {"run_id": theirs, "key": "gitlab.CI_JOB_ID", "value": "9002"})
    assert ci_job_id(database, theirs) == 9002


def test_a_job_id_set_with_an_access_token_gets_no_job_url(ci_gateway: CiGateway, world: World) -> None:
    """The gateway cannot know which CI project a hand-set job id belongs to, so it links no page."""
    project = world.project()
    person = MlflowHttp(ci_gateway.server, project.id, world.member_token(project, Role.DEVELOPER))
    tags = [{"key": "gitlab.CI_JOB_ID", "value": "42"}, {"key": "gitlab.CI_PROJECT_PATH", "value": "group/repo"}]
    run = person.run(tags=tags)["info"]["run_id"]
    assert "gitlab.CI_JOB_URL" not in tags_of(person, run) and tags_of(person, run)["gitlab.CI_JOB_ID"] == "42"


def test_an_issuer_without_gitlab_job_claims(ci_gateway: CiGateway, world: World, database: Database) -> None:
    """GitHub Actions names the project in ``repository`` and has no job id: only what it claims is tagged."""
    project, repository = world.project(), f"octo/{unique('repo')}"
    ci_gateway.bind(project, repository, issuer="github")
    token = ci_gateway.token(
        "unused", 1, issuer="github", repository=repository, project_path=None, job_id=None, pipeline_id=None
    )
    job = MlflowHttp(ci_gateway.server, project.id, token)
    run = job.run()["info"]["run_id"]
    tags = tags_of(job, run)
    assert tags["gitlab.CI_PROJECT_PATH"] == repository and tags["gitlab.CI_COMMIT_REF_NAME"] == "main"
    assert not {"gitlab.CI_JOB_ID", "gitlab.CI_PIPELINE_ID", "gitlab.CI_JOB_URL"} & set(tags)
    assert ci_job_id(database, run) is None


@pytest.mark.parametrize("visibility", ["private", "internal", "public"])
def test_every_other_project_is_a_404(ci_gateway: CiGateway, world: World, visibility: str) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    token = ci_gateway.token(ci_project, 9004)
    other = world.project(visibility=visibility)
    owner = MlflowHttp(ci_gateway.server, other.id, world.member_token(other, Role.OWNER))
    their_run = owner.run()["info"]["run_id"]

    for ref in (other.id, other.full_path.replace("/", "%2F")):
        client = MlflowHttp(ci_gateway.server, ref, token)
        for answer in (client.post("/experiments/search", {}), client.post("/experiments/create", {"name": "x"})):
            assert answer.status_code == 404 and answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    own = MlflowHttp(ci_gateway.server, project.id, token)
    assert own.get("/runs/get", run_id=their_run).status_code == 404
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(ci_gateway.server.api(f"projects/{other.id}"), headers=headers).status_code == 404


def test_the_admin_api_shows_a_job_its_project_only(ci_gateway: CiGateway, world: World) -> None:
    group = world.group(visibility="public")
    project, ci_project = ci_gateway.bound_project(world, group=group)
    world.project(visibility="public")
    headers = {"Authorization": f"Bearer {ci_gateway.token(ci_project, 9005)}"}
    api = ci_gateway.server.api
    listed = httpx.get(api("projects"), headers=headers, params={"per_page": 100})
    assert [p["id"] for p in listed.json()] == [project.id]
    assert httpx.get(api("groups"), headers=headers).json() == []
    assert httpx.get(api(f"groups/{group.id}"), headers=headers).status_code == 404
    shown = httpx.get(api(f"projects/{project.id}"), headers=headers).json()
    assert shown["permissions"]["project_access"]["access_level"] == 30
    token_request = {"name": "escape", "scopes": ["api"], "access_level": 30}
    minted = httpx.post(api(f"projects/{project.id}/access_tokens"), headers=headers, json=token_request)
    assert minted.status_code == 403
    assert httpx.post(api("projects"), headers=headers, json={"name": "mine"}).status_code == 403


def test_a_reporter_binding_reads_but_does_not_write(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world, role=Role.REPORTER)
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 9006))
    assert job.post("/experiments/search", {}).status_code == 200
    answer = job.post("/experiments/create", {"name": "x"})
    assert answer.status_code == 403 and answer.json()["error_code"] == "PERMISSION_DENIED"


def test_unbinding_locks_the_job_out(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 9007))
    run = job.run()["info"]["run_id"]
    with ci_gateway.database.unit_of_work() as session:
        ci_bindings.unbind(session, ci_bindings.find_binding_of(session, ci_gateway.issuer(), ci_project))
    assert job.post("/experiments/search", {}).status_code == 401
    person = MlflowHttp(ci_gateway.server, project.id, world.member_token(project, Role.REPORTER))
    assert person.fetch(run)["info"]["user_id"].startswith("ci_")  # the run keeps its author's name
