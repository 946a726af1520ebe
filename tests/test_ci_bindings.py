"""Binding CI projects to gateway projects: ``mlgateway ci bind|unbind|list`` and the admin API
``/api/v4/admin/ci/bindings`` (driven by python-gitlab), and the issuer configuration they rely on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gitlab
import pytest
from gitlab.exceptions import GitlabHttpError

from gateway.settings import Settings, SettingsError
from tenants.roles import Role
from tests.support.ci_gateway import CiGateway
from tests.support.mlflow_http import MlflowHttp
from tests.support.oidc import AUDIENCE
from tests.support.world import World, unique


# ---------------------------------------------------------------------------------------- CLI
def cli(ci_gateway: CiGateway, database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    issuers = [{"issuer": ci_gateway.issuer(), "audience": AUDIENCE, "jwks_url": ci_gateway.jwks.jwks_url("main")}]
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_CI_ISSUERS": json.dumps(issuers),
    }
    command = [sys.executable, "-m", "gateway", *args]
    return subprocess.run(command, env=env, cwd=Path.cwd(), capture_output=True, text=True, timeout=60)


def test_the_cli_binds_lists_and_unbinds(
    ci_gateway: CiGateway, world: World, database_url: str, tmp_path: Path
) -> None:
    project = world.project()
    ci_project = f"{unique('group')}/Repo"
    token = ci_gateway.token(ci_project.lower(), 1)  # GitLab paths ignore case
    job = MlflowHttp(ci_gateway.server, project.id, token)
    assert job.post("/experiments/search", {}).status_code == 401

    def admin(*args: str) -> dict[str, Any]:
        done = cli(ci_gateway, database_url, tmp_path, "--json", "ci", *args)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    bound = admin("bind", "--issuer", ci_gateway.issuer(), "--ci-project", ci_project, "--project", project.full_path)
    assert (bound["project_id"], bound["role"], bound["created"]) == (project.id, "developer", True)
    assert job.post("/experiments/create", {"name": "from-ci"}).status_code == 200

    again = admin("bind", "--issuer", ci_gateway.issuer(), "--ci-project", ci_project, "--project", str(project.id))
    assert (again["id"], again["role"], again["created"]) == (bound["id"], "developer", False)
    reporter = ["--role", "reporter"]
    changed = admin(
        "bind", "--issuer", ci_gateway.issuer(), "--ci-project", ci_project, "--project", str(project.id), *reporter
    )
    assert (changed["id"], changed["role"], changed["created"]) == (bound["id"], "reporter", False)
    assert job.post("/experiments/create", {"name": "now-read-only"}).status_code == 403

    listed = admin("list", "--project", str(project.id))["bindings"]
    assert [(b["id"], b["ci_project"], b["access_level"]) for b in listed] == [(bound["id"], ci_project, 20)]
    admin("unbind", "--issuer", ci_gateway.issuer(), "--ci-project", ci_project.upper())
    assert admin("list", "--project", str(project.id))["bindings"] == []
    assert job.post("/experiments/search", {}).status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--issuer", "https://unknown.example", "--ci-project", "g/r"], "is not configured"),
        (["--ci-project", "g/r", "--role", "maintainer"], "too high for CI jobs"),
        (["--ci-project", "g r"], "is invalid"),
        (["--ci-project", "g/r", "--project", "no/such-project"], "no project"),
    ],
)
def test_the_cli_explains_bad_bindings(
    ci_gateway: CiGateway, world: World, database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    project = world.project()
    defaults = {"--issuer": ci_gateway.issuer(), "--project": str(project.id)}
    given = dict(zip(args[::2], args[1::2], strict=True))
    full = [item for key, value in {**defaults, **given}.items() for item in (key, value)]
    done = cli(ci_gateway, database_url, tmp_path, "ci", "bind", *full)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_the_cli_reports_a_broken_issuer_configuration(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env |= {"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_CI_ISSUERS": '[{"issuer": 1}]'}
    done = subprocess.run([sys.executable, "-m", "gateway", "ci", "list"], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "GATEWAY_CI_ISSUERS: issuer 1: 'issuer' must be a string" in done.stderr


# ---------------------------------------------------------------------------------------- admin API
def gl(ci_gateway: CiGateway, token: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(ci_gateway.server.base_url, private_token=token)


def test_the_admin_api_manages_bindings(ci_gateway: CiGateway, world: World) -> None:
    admin = gl(ci_gateway, world.token(world.user(admin=True)))
    project = world.project()
    ci_project = f"{unique('group')}/repo"
    body = {"issuer": ci_gateway.issuer(), "ci_project": ci_project, "project_id": project.full_path}
    created = admin.http_post("/admin/ci/bindings", post_data=body)
    assert isinstance(created, dict)
    assert {k: created[k] for k in ("ci_project", "project_id", "project_path", "access_level", "role")} == {
        "ci_project": ci_project,
        "project_id": project.id,
        "project_path": project.full_path,
        "access_level": 30,
        "role": "developer",
    }
    job = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1))
    assert job.post("/experiments/create", {"name": "x"}).status_code == 200

    listed = admin.http_list("/admin/ci/bindings", query_data={"project_id": project.id}, get_all=True)
    assert [b["id"] for b in listed] == [created["id"]]
    assert admin.http_get(f"/admin/ci/bindings/{created['id']}")["ci_project"] == ci_project
    changed = admin.http_post("/admin/ci/bindings", post_data={**body, "access_level": 20})
    assert isinstance(changed, dict) and (changed["id"], changed["access_level"]) == (created["id"], 20)

    other = world.project()
    with pytest.raises(GitlabHttpError) as taken:
        admin.http_post("/admin/ci/bindings", post_data={**body, "project_id": other.id})
    assert taken.value.response_code == 409 and "already bound" in str(taken.value.error_message)

    admin.http_delete(f"/admin/ci/bindings/{created['id']}")
    assert job.post("/experiments/search", {}).status_code == 401
    with pytest.raises(GitlabHttpError) as gone:
        admin.http_get(f"/admin/ci/bindings/{created['id']}")
    assert gone.value.response_code == 404


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"issuer": None}, 400, "issuer is missing"),
        ({"issuer": "https://unknown.example"}, 400, "is not configured"),
        ({"ci_project": ["a"]}, 400, "ci_project must be a string"),
        ({"project_id": None}, 400, "project_id is missing"),
        ({"project_id": 999_999_999}, 404, "Project Not Found"),
        ({"access_level": 40}, 400, "too high for CI jobs"),
        ({"access_level": "boss"}, 400, "unknown role"),
    ],
)
def test_the_admin_api_explains_bad_bindings(
    ci_gateway: CiGateway, world: World, change: dict[str, Any], status: int, message: str
) -> None:
    admin = gl(ci_gateway, world.token(world.user(admin=True)))
    body = {"issuer": ci_gateway.issuer(), "ci_project": f"{unique('g')}/r", "project_id": world.project().id}
    body = {key: value for key, value in {**body, **change}.items() if value is not None}
    with pytest.raises(GitlabHttpError) as refused:
        admin.http_post("/admin/ci/bindings", post_data=body)
    assert refused.value.response_code == status and message in str(refused.value.error_message)


def test_only_instance_admins_manage_bindings(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    owner = world.member_token(project, Role.OWNER)
    read_only_admin = world.token(world.user(admin=True), scopes=("read_api",))
    job_token = ci_gateway.token(ci_project, 1)
    body = {"issuer": ci_gateway.issuer(), "ci_project": "g/r", "project_id": project.id}
    for token, status in ((owner, 403), (read_only_admin, 403), (job_token, 403)):
        with pytest.raises(GitlabHttpError) as refused:
            gl(ci_gateway, token).http_post("/admin/ci/bindings", post_data=body)
        assert refused.value.response_code == status
    with pytest.raises(GitlabHttpError) as listing:
        gl(ci_gateway, owner).http_list("/admin/ci/bindings")
    assert listing.value.response_code == 403
    assert gl(ci_gateway, read_only_admin).http_list("/admin/ci/bindings", get_all=True)


# ---------------------------------------------------------------------------------------- settings
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", "not valid JSON"),
        ('"x"', "cannot read the issuer file"),
        ("{}", "'issuer' is missing"),
        ('[{"issuer": "https://a.example"}]', "'audience' is missing"),
        ('[{"issuer": "https://a.example", "audience": "x", "aud": "y"}]', "unknown key(s) 'aud'"),
        ('[{"issuer": "http://gitlab.example.com", "audience": "x"}]', "must use https://"),
        ('[{"issuer": "https://a.example", "audience": "x", "jwks_url": "file:///etc/passwd"}]', "https:// URL"),
        (
            '[{"issuer": "https://a.example", "audience": "x", "allowed_refs": "main"}, '
            '{"issuer": "https://a.example", "audience": "y"}]',
            "listed twice",
        ),
        ('[{"issuer": "https://a.example", "audience": "x", "project_claim": "a b"}]', "not a claim name"),
    ],
)
def test_a_broken_issuer_configuration_is_refused_at_start_up(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_CI_ISSUERS") as refused:
        Settings.from_env({"GATEWAY_CI_ISSUERS": value})
    assert message in str(refused.value)


def test_issuers_come_from_json_or_a_file(tmp_path: Path) -> None:
    entry = {"issuer": "https://gitlab.example.com", "audience": ["a", "b"], "allowed_refs": ["main", "v*"]}
    (tmp_path / "issuers.json").write_text(json.dumps([entry]))
    from_file = Settings.from_env({"GATEWAY_CI_ISSUERS": str(tmp_path / "issuers.json")}).ci_issuers
    assert from_file == Settings.from_env({"GATEWAY_CI_ISSUERS": json.dumps(entry)}).ci_issuers
    (issuer,) = from_file
    assert (issuer.audience, issuer.jwks_url, issuer.project_claim) == (("a", "b"), "", "project_path")
    assert issuer.discovery_url == "https://gitlab.example.com/.well-known/openid-configuration"
    assert [issuer.allows_ref(ref) for ref in ("main", "v1.2", "feature", None)] == [True, True, False, False]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_CI_SERVER_URL", "gitlab.example.com"),
        ("GATEWAY_CI_JWKS_TIMEOUT_S", "0"),
        ("GATEWAY_CI_JWKS_REFRESH_COOLDOWN_S", "-1"),
    ],
)
def test_other_ci_settings_are_checked(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})
