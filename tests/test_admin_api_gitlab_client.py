"""The admin REST subset driven by the real ``python-gitlab`` client, end to end over loopback."""

from __future__ import annotations

from datetime import date, timedelta

import gitlab
import httpx
import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.world import World, unique

IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()


def client(live_server: LiveServer, token: str) -> gitlab.Gitlab:
    return gitlab.Gitlab(live_server.base_url, private_token=token)


def mlflow_probe(live_server: LiveServer, project_id: int, token: str) -> httpx.Response:
    """An MLflow route that exists for nobody: 404 ENDPOINT_NOT_FOUND proves auth and read access passed."""
    url = live_server.project_url(project_id) + "/api/2.0/mlflow/x"
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def admin_gl(live_server: LiveServer, world: World) -> gitlab.Gitlab:
    gl = client(live_server, world.token(world.user(admin=True)))
    gl.auth()
    return gl


def test_a_new_user_builds_a_project_with_members_and_tokens(
    live_server: LiveServer, world: World, admin_gl: gitlab.Gitlab
) -> None:
    assert admin_gl.user is not None and admin_gl.user.is_admin is True
    username = unique("alice")
    alice = admin_gl.users.create(
        {"email": f"{username}@example.com", "username": username, "name": "Alice", "password": "long-enough-1"}
    )
    assert alice.username == username and alice.bot is False
    personal = alice.personal_access_tokens.create({"name": "laptop", "scopes": ["api"], "expires_at": IN_A_MONTH})
    assert personal.token.startswith("glpat-") and personal.expires_at == IN_A_MONTH

    gl = client(live_server, personal.token)
    gl.auth()
    assert gl.user is not None and gl.user.username == username

    group = gl.groups.create({"name": "Vision Team", "path": unique("vision")})
    sub = gl.groups.create({"name": "Detection", "path": "detection", "parent_id": group.id})
    assert sub.full_path == f"{group.path}/detection" and sub.full_name == "Vision Team / Detection"
    project = gl.projects.create({"name": "YOLO", "path": "yolo", "namespace_id": sub.id})
    full_path = f"{group.path}/detection/yolo"
    assert project.path_with_namespace == full_path
    assert project.web_url == f"{live_server.base_url}/{full_path}"
    assert project.name_with_namespace == "Vision Team / Detection / YOLO"

    by_id, by_path = gl.projects.get(project.id), gl.projects.get(full_path)
    assert by_id.id == by_path.id == project.id
    assert by_id.permissions["group_access"]["access_level"] == 50

    by_path.description = "object detection"
    by_path.model_registry_access_level = "disabled"
    by_path.save()
    assert by_path.description == "object detection"  # PUT answers with the full object
    assert gl.projects.get(project.id).model_registry_access_level == "disabled"

    bob = world.user()
    member = by_id.members.create({"user_id": bob.id, "access_level": 30})
    assert (member.id, member.username, member.access_level) == (bob.id, bob.username, 30)
    assert [m.id for m in by_id.members.list(get_all=True)] == [bob.id]

    created = by_id.access_tokens.create({"name": "ci", "scopes": ["api"], "access_level": 30})
    assert created.access_level == 30 and created.resource_type == "project" and created.active is True
    bot_gl = client(live_server, created.token)
    bot_gl.auth()
    assert bot_gl.user is not None and bot_gl.user.bot is True
    probe = mlflow_probe(live_server, project.id, created.token)
    assert probe.status_code == 404 and probe.json()["error_code"] == "ENDPOINT_NOT_FOUND"

    listed = by_id.access_tokens.list(get_all=True)
    assert [t.id for t in listed] == [created.id]
    assert "token" not in listed[0].attributes and listed[0].access_level == 30
    assert "token" not in by_id.access_tokens.get(created.id).attributes

    by_id.access_tokens.delete(created.id)
    assert mlflow_probe(live_server, project.id, created.token).status_code == 401
    with pytest.raises(gitlab.GitlabAuthenticationError):
        bot_gl.auth()
    assert by_id.access_tokens.list(state="active") == []

    by_id.delete()
    with pytest.raises(gitlab.GitlabGetError) as missing:
        gl.projects.get(project.id)
    assert missing.value.response_code == 404


def test_group_access_tokens(live_server: LiveServer, world: World, admin_gl: gitlab.Gitlab) -> None:
    group = admin_gl.groups.create({"name": "Platform", "path": unique("platform")})
    project = admin_gl.projects.create({"name": "Svc", "namespace_id": group.id})
    assert project.path == "svc"  # derived from the name, as GitLab does

    created = group.access_tokens.create({"name": "deployer", "scopes": ["read_api"], "expires_at": IN_A_MONTH})
    assert created.access_level == 40 and created.scopes == ["read_api"] and created.resource_type == "group"
    probe = mlflow_probe(live_server, project.id, created.token)
    assert probe.status_code == 404 and probe.json()["error_code"] == "ENDPOINT_NOT_FOUND"

    listed = group.access_tokens.list(get_all=True)
    assert [t.id for t in listed] == [created.id] and "token" not in listed[0].attributes
    rotated = group.access_tokens.rotate(created.id)
    assert rotated["id"] != created.id and rotated["token"] != created.token
    assert mlflow_probe(live_server, project.id, created.token).status_code == 401
    assert mlflow_probe(live_server, project.id, rotated["token"]).status_code == 404

    group.access_tokens.delete(rotated["id"])
    assert mlflow_probe(live_server, project.id, rotated["token"]).status_code == 401


def test_personal_token_self_get_rotate_delete(live_server: LiveServer, world: World) -> None:
    user = world.user()
    first = world.token(user)
    gl = client(live_server, first)
    me = gl.personal_access_tokens.get("self")
    assert me.user_id == user.id and me.active is True and "token" not in me.attributes

    rotated = gl.personal_access_tokens.rotate("self")
    assert rotated["id"] != me.id and rotated["token"] != first
    with pytest.raises(gitlab.GitlabAuthenticationError):
        gl.auth()

    second = client(live_server, rotated["token"])
    second.auth()
    assert second.user is not None and second.user.username == user.username
    second.personal_access_tokens.delete("self")
    with pytest.raises(gitlab.GitlabAuthenticationError):
        second.auth()


def test_lists_follow_the_link_header_across_pages(live_server: LiveServer, world: World) -> None:
    user = world.user()
    group = world.group()
    world.member(user, Role.DEVELOPER, group=group)
    made = {world.project(group=group).id for _ in range(5)}
    gl = gitlab.Gitlab(live_server.base_url, private_token=world.token(user), per_page=2)

    first_page = gl.projects.list(page=1, membership=True)
    assert len(first_page) == 2
    everything = gl.projects.list(get_all=True, membership=True)
    assert {p.id for p in everything} == made and len(everything) == 5
    iterator = gl.projects.list(iterator=True, membership=True)
    assert len(iterator) == 5 and iterator.total_pages == 3

    groups = gl.groups.list(get_all=True)
    assert [g.id for g in groups] == [group.id]
