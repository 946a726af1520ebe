"""Deleting a project or a group removes the bot users behind its access tokens and CI bindings, as GitLab
does, and no other bot."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tenants import ci_bindings
from tenants.roles import Role
from tenants.tables import Project, User
from tests.support.live_server import LiveServer
from tests.support.world import World

ISSUER = "https://gitlab.example.com"


def bot_ids(world: World) -> set[int]:
    with world.database.unit_of_work() as session:
        return set(session.scalars(select(User.id).where(User.bot_kind.is_not(None))))


def bind_ci(world: World, project_id: int) -> None:
    with world.database.unit_of_work() as session:
        project = session.get(Project, project_id)
        assert project is not None
        ci_bindings.bind(
            session, issuer=ISSUER, ci_project=f"ci/{project_id}", project=project, role=Role.DEVELOPER,
            trusted_issuers=[ISSUER],
        )  # fmt: skip


def delete(live_server: LiveServer, world: World, what: str) -> None:
    admin = world.token(world.user(admin=True))
    answer = httpx.delete(live_server.api(what), headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 202, answer.text


def test_deleting_a_project_removes_its_bots_only(live_server: LiveServer, world: World) -> None:
    doomed, kept = world.project(), world.project()
    before = bot_ids(world)
    world.project_token(doomed)
    world.project_token(doomed)
    bind_ci(world, doomed.id)
    doomed_bots = bot_ids(world) - before
    world.project_token(kept)
    bind_ci(world, kept.id)
    kept_bots = bot_ids(world) - before - doomed_bots
    assert (len(doomed_bots), len(kept_bots)) == (3, 2)

    delete(live_server, world, f"projects/{doomed.id}")
    assert bot_ids(world) == before | kept_bots


def test_deleting_a_group_removes_the_bots_of_its_projects_and_its_own(live_server: LiveServer, world: World) -> None:
    group = world.group()
    project = world.project(group=group)
    before = bot_ids(world)
    world.group_token(group)
    world.project_token(project)
    bind_ci(world, project.id)
    assert len(bot_ids(world) - before) == 3

    delete(live_server, world, f"groups/{group.id}")
    assert bot_ids(world) == before
