"""SPEC §3's status matrix, at the function every handler uses (``require``) and over HTTP."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from urllib.parse import quote

import httpx
import pytest

from gateway.db import Database
from gateway.errors import GatewayError, Unauthenticated
from tenants import access_tokens, projects
from tenants.authentication import Authenticator, Credentials
from tenants.authorization import Permission, require
from tenants.principal import Principal
from tenants.roles import Role
from tenants.tables import AccessToken, Project
from tests.support.live_server import LiveServer
from tests.support.world import World


def principal_for(world: World, token: str) -> Principal:
    return Authenticator(world.database, world.secret_key, 600).authenticate(Credentials(token))


def outcome(world: World, token: str, project_ref: object, permission: Permission) -> str:
    """'ok', or the error class name, of ``require`` for this token."""
    principal = principal_for(world, token)
    with world.database.unit_of_work(write=False) as session:
        try:
            require(session, principal, str(project_ref), permission)
        except GatewayError as exc:
            return type(exc).__name__
    return "ok"


READS = [Permission.READ_PROJECT, Permission.READ_MODEL_EXPERIMENTS, Permission.READ_MODEL_REGISTRY]
WRITES = [Permission.WRITE_MODEL_EXPERIMENTS, Permission.WRITE_MODEL_REGISTRY]


@pytest.mark.parametrize(
    ("role", "read", "write", "admin"),
    [
        (Role.GUEST, "ok", "PermissionDenied", "PermissionDenied"),
        (Role.REPORTER, "ok", "PermissionDenied", "PermissionDenied"),
        (Role.DEVELOPER, "ok", "ok", "PermissionDenied"),
        (Role.MAINTAINER, "ok", "ok", "ok"),
        (Role.OWNER, "ok", "ok", "ok"),
    ],
)
def test_roles_on_a_private_project(world: World, role: Role, read: str, write: str, admin: str) -> None:
    project = world.project()
    token = world.member_token(project, role)
    assert {outcome(world, token, project.id, p) for p in READS} == {read}
    assert {outcome(world, token, project.id, p) for p in WRITES} == {write}
    assert outcome(world, token, project.id, Permission.ADMIN_PROJECT) == admin


def test_non_member_cannot_tell_a_private_project_from_a_missing_one(world: World) -> None:
    project = world.project()
    stranger = world.token(world.user())
    for permission in READS + WRITES:
        assert outcome(world, stranger, project.id, permission) == "NotFound"
        assert outcome(world, stranger, 10**9, permission) == "NotFound"


def test_read_api_scope_reads_but_never_writes(world: World) -> None:
    project = world.project()
    token = world.member_token(project, Role.MAINTAINER, scopes=("read_api",))
    assert {outcome(world, token, project.id, p) for p in READS} == {"ok"}
    assert {outcome(world, token, project.id, p) for p in WRITES} == {"PermissionDenied"}


def test_group_membership_is_inherited_by_subgroups_and_their_projects(world: World) -> None:
    top = world.group()
    sub = world.group(parent=top)
    project = world.project(group=sub)
    sibling = world.project(group=world.group())
    token = world.token(user := world.user())
    world.member(user, Role.DEVELOPER, group=top)
    assert outcome(world, token, project.id, Permission.WRITE_MODEL_EXPERIMENTS) == "ok"
    assert outcome(world, token, project.full_path, Permission.WRITE_MODEL_REGISTRY) == "ok"
    assert outcome(world, token, sibling.id, Permission.READ_PROJECT) == "NotFound"


def test_highest_of_direct_and_inherited_roles_wins(world: World) -> None:
    group = world.group()
    project = world.project(group=group)
    user = world.user()
    world.member(user, Role.REPORTER, project=project)
    world.member(user, Role.MAINTAINER, group=group)
    assert outcome(world, world.token(user), project.id, Permission.ADMIN_PROJECT) == "ok"


def test_project_is_found_by_id_and_by_full_path_in_any_case(world: World) -> None:
    project = world.project(group=world.group(parent=world.group()))
    token = world.member_token(project, Role.GUEST)
    for ref in (project.id, project.full_path, quote(project.full_path, safe=""), project.full_path.upper()):
        assert outcome(world, token, ref, Permission.READ_MODEL_EXPERIMENTS) == "ok"


def test_visibility_internal_and_public(world: World) -> None:
    internal = world.project(visibility="internal")
    public = world.project(visibility="public")
    person = world.token(world.user())
    bot_of_elsewhere = world.project_token(world.project(), Role.MAINTAINER)
    assert outcome(world, person, internal.id, Permission.READ_MODEL_EXPERIMENTS) == "ok"
    assert outcome(world, person, internal.id, Permission.WRITE_MODEL_EXPERIMENTS) == "PermissionDenied"
    assert outcome(world, person, public.id, Permission.READ_MODEL_REGISTRY) == "ok"
    assert outcome(world, bot_of_elsewhere, internal.id, Permission.READ_PROJECT) == "NotFound"
    assert outcome(world, bot_of_elsewhere, public.id, Permission.READ_PROJECT) == "ok"
    assert outcome(world, bot_of_elsewhere, public.id, Permission.WRITE_MODEL_EXPERIMENTS) == "PermissionDenied"


def test_project_and_group_tokens_reach_only_their_own_resource(world: World) -> None:
    group = world.group()
    in_group = world.project(group=group)
    project = world.project()
    project_token = world.project_token(project, Role.DEVELOPER)
    group_token = world.group_token(group, Role.REPORTER)
    assert outcome(world, project_token, project.id, Permission.WRITE_MODEL_EXPERIMENTS) == "ok"
    assert outcome(world, project_token, in_group.id, Permission.READ_PROJECT) == "NotFound"
    assert outcome(world, group_token, in_group.id, Permission.READ_MODEL_EXPERIMENTS) == "ok"
    assert outcome(world, group_token, in_group.id, Permission.WRITE_MODEL_EXPERIMENTS) == "PermissionDenied"
    assert outcome(world, group_token, project.id, Permission.READ_PROJECT) == "NotFound"


def test_switched_off_feature_answers_as_missing(world: World, database: Database) -> None:
    owner = world.user()
    project = world.project(owner=owner)
    token = world.token(owner)
    with database.unit_of_work() as session:
        row = session.get(Project, project.id)
        assert row is not None
        projects.update_project(session, row, {"model_registry_access_level": "disabled"})
    assert outcome(world, token, project.id, Permission.WRITE_MODEL_REGISTRY) == "NotFound"
    assert outcome(world, token, project.id, Permission.READ_MODEL_REGISTRY) == "NotFound"
    assert outcome(world, token, project.id, Permission.WRITE_MODEL_EXPERIMENTS) == "ok"


def test_instance_admin_reaches_every_project(world: World) -> None:
    project = world.project()
    admin = world.token(world.user(admin=True))
    assert outcome(world, admin, project.id, Permission.DELETE_PROJECT) == "ok"


def test_no_principal_is_unauthenticated(world: World) -> None:
    with world.database.unit_of_work(write=False) as session, pytest.raises(Unauthenticated):
        require(session, None, "1", Permission.READ_PROJECT)


# ---------------------------------------------------------------------------------------- credentials
@pytest.mark.parametrize("state", ["unknown", "expired", "revoked", "blocked-owner"])
def test_dead_credentials_are_rejected(world: World, database: Database, state: str) -> None:
    user = world.user()
    token = world.token(user)
    with database.unit_of_work() as session:
        row = session.query(AccessToken).filter_by(user_id=user.id).one()
        if state == "expired":
            row.expires_at = date.today() - timedelta(days=1)
        elif state == "revoked":
            access_tokens.revoke(session, row)
        elif state == "blocked-owner":
            from tenants.tables import User

            owner = session.get(User, user.id)
            assert owner is not None
            owner.state = "blocked"
    if state == "unknown":
        token = token[:-4] + "AAAA"
    with pytest.raises(Unauthenticated) as refused:
        principal_for(world, token)
    reasons = {"unknown": "invalid_token", "expired": "expired_token", "revoked": "revoked_token"}
    assert refused.value.reason == reasons.get(state, "inactive_user")  # the metrics' label; one message for all


def test_token_is_valid_through_its_expiry_date(world: World) -> None:
    token = world.token(world.user(), expires_at=date.today().isoformat())
    assert principal_for(world, token).can_write


def test_last_used_at_is_written_once_per_interval(world: World, database: Database) -> None:
    user = world.user()
    token = world.token(user)

    def last_used() -> object:
        with database.unit_of_work(write=False) as session:
            return session.query(AccessToken).filter_by(user_id=user.id).one().last_used_at

    assert last_used() is None
    principal_for(world, token)
    first = last_used()
    assert first is not None
    principal_for(world, token)
    assert last_used() == first


# ---------------------------------------------------------------------------------------- over HTTP
def mlflow_get(server: LiveServer, project: object, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(server.project_url(project) + "/api/2.0/mlflow/experiments/list", headers=headers)


def test_http_statuses_use_the_mlflow_envelope(live_server: LiveServer, world: World) -> None:
    project = world.project()
    member = world.member_token(project, Role.GUEST)
    stranger = world.token(world.user())

    missing = mlflow_get(live_server, project.id, {})
    assert (missing.status_code, missing.json()["error_code"]) == (401, "UNAUTHENTICATED")
    wrong = mlflow_get(live_server, project.id, {"Authorization": "Bearer glpat-not-a-real-token-at-all"})
    assert (wrong.status_code, wrong.json()["error_code"]) == (401, "UNAUTHENTICATED")

    invisible = mlflow_get(live_server, project.id, {"Authorization": f"Bearer {stranger}"})
    nonexistent = mlflow_get(live_server, 10**9, {"Authorization": f"Bearer {stranger}"})
    assert invisible.status_code == nonexistent.status_code == 404
    assert invisible.json() == {
        **nonexistent.json(),
        "message": nonexistent.json()["message"].replace(str(10**9), str(project.id)),
    }
    assert invisible.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    seen = mlflow_get(live_server, quote(project.full_path, safe=""), {"PRIVATE-TOKEN": member})
    assert (seen.status_code, seen.json()) == (200, {"experiments": []})


def test_http_basic_accepts_a_token_or_a_password(live_server: LiveServer, world: World) -> None:
    user = world.user(password="correct horse battery")
    project = world.project(owner=user)
    token = world.token(user)

    def basic(username: str, secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}

    assert mlflow_get(live_server, project.id, basic("anyone", token)).status_code == 200
    by_password = mlflow_get(live_server, project.id, basic(user.username, "correct horse battery"))
    assert by_password.status_code == 200
    wrong = mlflow_get(live_server, project.id, basic(user.username, "wrong password"))
    assert wrong.status_code == 401
    garbage = mlflow_get(live_server, project.id, {"Authorization": "Basic !!!"})
    assert garbage.status_code == 401
