"""The access cache: a principal's recent project lookup skips the database, and tenancy changes still
take effect at once in the process that makes them (within the TTL in others).

A change "in another process" is simulated by a bulk ``UPDATE``, which the ORM listener cannot see.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.db import Database
from gateway.errors import NotFound, PermissionDenied
from tenants import groups, members, projects
from tenants.authentication import Authenticator, Credentials
from tenants.authorization import AccessCache, Permission, require
from tenants.principal import Principal
from tenants.roles import Role
from tenants.tables import GroupMember, Namespace, Project, ProjectMember
from tests.support.live_server import LiveServer
from tests.support.world import Ref, UserRef, World

WRITE = Permission.WRITE_MODEL_EXPERIMENTS
READ = Permission.READ_MODEL_EXPERIMENTS


def principal_of(world: World, token: str) -> Principal:
    return Authenticator(world.database, world.secret_key, 600).authenticate(Credentials(token))


def check(database: Database, principal: Principal, project: Ref, permission: Permission, cache: AccessCache) -> int:
    with database.unit_of_work(write=False) as session:
        return require(session, principal, str(project.id), permission, cache).project_id


def developer(world: World, project: Ref) -> tuple[UserRef, Principal]:
    """A new user with the Developer role on ``project``, and the principal of a token of theirs."""
    user = world.user()
    world.member(user, Role.DEVELOPER, project=project)
    return user, principal_of(world, world.token(user))


def test_a_lookup_is_remembered_until_the_ttl_runs_out(world: World, database: Database) -> None:
    project = world.project()
    user, principal = developer(world, project)
    cache = AccessCache(60)
    assert check(database, principal, project, WRITE, cache) == project.id
    # Another process removes the membership: this one serves what it saw until the TTL runs out…
    with database.unit_of_work() as session:
        session.execute(update(ProjectMember).where(ProjectMember.user_id == user.id).values(access_level=10))
    assert check(database, principal, project, WRITE, cache) == project.id
    # …and a cache that is off sees it at once.
    with pytest.raises(PermissionDenied):
        check(database, principal, project, WRITE, AccessCache(0))


def test_every_decision_is_still_made_on_each_call(world: World, database: Database) -> None:
    """A cached lookup for a read does not let a read_api token write, nor a guest write."""
    project = world.project()
    reader = principal_of(world, world.member_token(project, Role.DEVELOPER, scopes=("read_api",)))
    guest = principal_of(world, world.member_token(project, Role.GUEST))
    cache = AccessCache(60)
    for principal in (reader, guest):
        assert check(database, principal, project, READ, cache) == project.id
        with pytest.raises(PermissionDenied):
            check(database, principal, project, WRITE, cache)


def _remove_member(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    members.remove_member(session, user.id, project_id=project.id)


def _lower_role(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    members.change_member(session, user.id, Role.REPORTER, project_id=project.id)


def _switch_feature_off(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    row = session.get(Project, project.id)
    assert row is not None
    projects.update_project(session, row, {"model_experiments_access_level": "disabled"})


def _delete_project(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    row = session.get(Project, project.id)
    assert row is not None
    projects.delete_project(session, row)


def _bulk_delete_memberships(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    session.execute(delete(ProjectMember).where(ProjectMember.user_id == user.id))
    session.execute(delete(GroupMember).where(GroupMember.user_id == user.id))


def _delete_group(session: Session, user: UserRef, project: Ref, group: Ref) -> None:
    row = session.get(Namespace, group.id)
    assert row is not None
    groups.delete_group(session, row)


@pytest.mark.parametrize(
    "change",
    [_remove_member, _lower_role, _switch_feature_off, _delete_project, _bulk_delete_memberships, _delete_group],
    ids=lambda change: change.__name__.strip("_"),
)
def test_tenancy_changes_in_this_process_apply_at_once(
    world: World, database: Database, change: Callable[[Session, UserRef, Ref, Ref], None]
) -> None:
    group = world.group()
    project = world.project(group=group)
    user, principal = developer(world, project)
    if change is _bulk_delete_memberships:  # an inherited role too, which must go as well
        world.member(user, Role.DEVELOPER, group=group)
    cache = AccessCache(60)
    assert check(database, principal, project, WRITE, cache) == project.id
    with database.unit_of_work() as session:
        change(session, user, project, group)
    with pytest.raises(NotFound if change is not _lower_role else PermissionDenied):
        check(database, principal, project, WRITE, cache)


def test_a_rolled_back_change_keeps_the_cache(world: World, database: Database) -> None:
    project = world.project()
    user, principal = developer(world, project)
    cache = AccessCache(60)
    check(database, principal, project, WRITE, cache)
    generation = cache.generation
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        members.remove_member(session, user.id, project_id=project.id)
        raise RuntimeError("roll back")
    assert cache.generation == generation
    assert check(database, principal, project, WRITE, cache) == project.id


def test_membership_removed_over_http_is_refused_on_the_next_request(live_server: LiveServer, world: World) -> None:
    owner = world.user()
    project = world.project(owner=owner)
    owner_token = world.token(owner)
    member = world.user()
    world.member(member, Role.DEVELOPER, project=project)
    token = world.token(member)
    url = live_server.project_url(project.id) + "/api/2.0/mlflow/experiments/create"
    headers = {"Authorization": f"Bearer {token}"}
    for name in ("first", "second"):  # the second is answered from the cache
        assert httpx.post(url, headers=headers, json={"name": name}).status_code == 200
    removed = httpx.delete(
        live_server.base_url + f"/api/v4/projects/{project.id}/members/{member.id}",
        headers={"PRIVATE-TOKEN": owner_token},
    )
    assert removed.status_code == 204
    refused = httpx.post(url, headers=headers, json={"name": "third"})
    assert (refused.status_code, refused.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
