"""The admin REST subset over plain HTTP: GitLab's permission matrix, and bad input that must be a 4xx
with a message a person can act on — never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tenants.roles import Role
from tenants.tables import User
from tests.support.live_server import LiveServer
from tests.support.world import Ref, UserRef, World, unique


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.api("")) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"PRIVATE-TOKEN": token}


def status(api: httpx.Client, method: str, path: str, headers: dict[str, str], body: object = None) -> int:
    return api.request(method, path, json=body, headers=headers).status_code


def message_of(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    return str(body["message"])


# ---------------------------------------------------------------------------------------- permissions
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "user"),
        ("GET", "projects"),
        ("POST", "projects"),
        ("GET", "projects/1"),
        ("DELETE", "projects/1"),
        ("GET", "groups"),
        ("GET", "groups/1/members"),
        ("POST", "users"),
        ("GET", "personal_access_tokens/self"),
        ("POST", "projects/1/access_tokens"),
    ],
)
def test_no_credentials_is_401(api: httpx.Client, method: str, path: str) -> None:
    answer = api.request(method, path, json={} if method == "POST" else None)
    assert answer.status_code == 401
    assert message_of(answer).startswith("401 Unauthorized")


def test_invisible_and_missing_projects_and_groups_look_the_same(api: httpx.Client, world: World) -> None:
    group = world.group()
    project = world.project(group=group)
    stranger = auth(world.token(world.user()))
    for kind, ref in (("projects", project), ("groups", group)):
        missing_ref = f"{unique('nowhere')}/{unique('nothing')}"
        for suffix in ("", "/members", "/access_tokens"):
            for present, absent in ((str(ref.id), str(10**9)), (ref.full_path, missing_ref)):
                invisible = api.get(f"{kind}/{quote(present, safe='')}{suffix}", headers=stranger)
                missing = api.get(f"{kind}/{quote(absent, safe='')}{suffix}", headers=stranger)
                assert invisible.status_code == missing.status_code == 404
                assert invisible.json() == {"message": message_of(missing).replace(absent, present)}


def test_project_roles(api: httpx.Client, world: World) -> None:
    project = world.project()
    developer = auth(world.member_token(project, Role.DEVELOPER))
    maintainer = auth(world.member_token(project, Role.MAINTAINER))
    newcomer = world.user()

    assert api.get(f"projects/{project.id}", headers=developer).status_code == 200
    denied = api.put(f"projects/{project.id}", json={"description": "x"}, headers=developer)
    assert denied.status_code == 403 and "maintainer" in message_of(denied)
    assert api.get(f"projects/{project.id}/members", headers=developer).status_code == 200
    guest = {"user_id": newcomer.id, "access_level": 10}
    assert status(api, "POST", f"projects/{project.id}/members", developer, guest) == 403
    assert status(api, "GET", f"projects/{project.id}/access_tokens", developer) == 403

    assert api.put(f"projects/{project.id}", json={"description": "x"}, headers=maintainer).status_code == 200
    above = api.post(
        f"projects/{project.id}/members", json={"user_id": newcomer.id, "access_level": 50}, headers=maintainer
    )
    assert above.status_code == 403 and "above your own" in message_of(above)
    token_above = api.post(
        f"projects/{project.id}/access_tokens",
        json={"name": "t", "scopes": ["api"], "access_level": 50},
        headers=maintainer,
    )
    assert token_above.status_code == 403
    default_level = api.post(
        f"projects/{project.id}/access_tokens", json={"name": "t", "scopes": ["api"]}, headers=maintainer
    )
    assert default_level.status_code == 201 and default_level.json()["access_level"] == 40
    added = api.post(
        f"projects/{project.id}/members", json={"username": newcomer.username, "access_level": 40}, headers=maintainer
    )
    assert added.status_code == 201 and added.json()["id"] == newcomer.id
    assert api.delete(f"projects/{project.id}", headers=maintainer).status_code == 403


def test_a_maintainer_cannot_touch_an_owner(api: httpx.Client, world: World) -> None:
    project = world.project()
    owner, maintainer = world.user(), world.user()
    world.member(owner, Role.OWNER, project=project)
    world.member(maintainer, Role.MAINTAINER, project=project)
    headers = auth(world.token(maintainer))
    assert status(api, "DELETE", f"projects/{project.id}/members/{owner.id}", headers) == 403
    assert status(api, "PUT", f"projects/{project.id}/members/{owner.id}", headers, {"access_level": 30}) == 403
    assert status(api, "PUT", f"projects/{project.id}/members/{maintainer.id}", headers, {"access_level": 50}) == 403
    lowered = api.put(f"projects/{project.id}/members/{maintainer.id}", json={"access_level": 30}, headers=headers)
    assert lowered.status_code == 200 and lowered.json()["access_level"] == 30
    assert api.delete(f"projects/{project.id}", headers=auth(world.token(owner))).status_code == 202


def test_group_roles(api: httpx.Client, world: World) -> None:
    group = world.group()
    developer, maintainer, owner, newcomer = world.user(), world.user(), world.user(), world.user()
    world.member(developer, Role.DEVELOPER, group=group)
    world.member(maintainer, Role.MAINTAINER, group=group)
    world.member(owner, Role.OWNER, group=group)
    as_developer, as_maintainer = auth(world.token(developer)), auth(world.token(maintainer))

    made = api.post("projects", json={"path": "p", "namespace_id": group.id}, headers=as_developer)
    assert made.status_code == 201 and made.json()["namespace"]["id"] == group.id
    subgroup = {"name": "s", "path": unique("s"), "parent_id": group.id}
    assert api.post("groups", json=subgroup, headers=as_developer).status_code == 403
    assert api.post("groups", json=subgroup, headers=as_maintainer).status_code == 201
    member = {"user_id": newcomer.id, "access_level": 10}
    assert api.post(f"groups/{group.id}/members", json=member, headers=as_maintainer).status_code == 403
    assert api.post(f"groups/{group.id}/members", json=member, headers=auth(world.token(owner))).status_code == 201
    guest = auth(world.token(newcomer))
    assert api.post("projects", json={"path": "q", "namespace_id": group.id}, headers=guest).status_code == 403


def test_last_owner_of_a_group_stays(api: httpx.Client, world: World) -> None:
    person = world.user()
    headers = auth(world.token(person))
    group = api.post("groups", json={"name": "g", "path": unique("g")}, headers=headers).json()
    answer = api.delete(f"groups/{group['id']}/members/{person.id}", headers=headers)
    assert answer.status_code == 403 and "owner" in message_of(answer)


def test_read_api_tokens_cannot_create(api: httpx.Client, world: World) -> None:
    user = world.user()
    group = world.group()
    world.member(user, Role.OWNER, group=group)
    reader = auth(world.token(user, scopes=("read_api",)))
    assert api.get("projects", headers=reader).status_code == 200
    for path, body in (
        ("projects", {"path": "mine"}),
        ("projects", {"path": "in-group", "namespace_id": group.id}),
        ("groups", {"name": "g", "path": unique("g")}),
        (f"groups/{group.id}/access_tokens", {"name": "t", "scopes": ["api"]}),
    ):
        answer = api.post(path, json=body, headers=reader)
        assert answer.status_code == 403 and "read_api" in message_of(answer), (path, answer.text)
    admin_reader = auth(world.token(world.user(admin=True), scopes=("read_api",)))
    new_user = {"username": unique("u"), "name": "U", "email": f"{unique('u')}@example.org"}
    assert status(api, "POST", "users", admin_reader, new_user) == 403


def test_only_admins_manage_users(api: httpx.Client, world: World) -> None:
    person, target = auth(world.token(world.user())), world.user()
    new_user = {"username": unique("u"), "name": "U", "email": f"{unique('u')}@example.org"}
    assert api.post("users", json=new_user, headers=person).status_code == 403
    body = {"name": "t", "scopes": ["api"]}
    assert api.post(f"users/{target.id}/personal_access_tokens", json=body, headers=person).status_code == 403
    admin = auth(world.token(world.user(admin=True)))
    created = api.post("users", json=new_user, headers=admin)
    assert created.status_code == 201 and created.json()["is_admin"] is False
    assert api.post(f"users/{target.id}/personal_access_tokens", json=body, headers=admin).status_code == 201


def test_bot_tokens_see_only_their_own_project(api: httpx.Client, world: World) -> None:
    internal = world.project(visibility="internal")
    own = world.project()
    bot = auth(world.project_token(own, Role.MAINTAINER))
    person = auth(world.token(world.user()))
    assert api.get(f"projects/{internal.id}", headers=person).status_code == 200
    assert api.get(f"projects/{internal.id}", headers=bot).status_code == 404
    listed = {
        p["id"] for p in api.get("projects", params={"per_page": 100, "visibility": "internal"}, headers=bot).json()
    }
    assert internal.id not in listed
    assert [p["id"] for p in api.get("projects", params={"membership": "true"}, headers=bot).json()] == [own.id]
    me = api.get("user", headers=bot).json()
    assert me["bot"] is True and api.get("personal_access_tokens/self", headers=bot).json()["access_level"] == 40


def test_pagination_headers(api: httpx.Client, world: World, live_server: LiveServer) -> None:
    group = world.group()
    user = world.user()
    world.member(user, Role.GUEST, group=group)
    for _ in range(3):
        world.project(group=group)
    headers = auth(world.token(user))
    page = api.get("projects", params={"membership": "true", "per_page": 2, "page": 2}, headers=headers)
    assert page.status_code == 200 and len(page.json()) == 1
    assert {
        k: page.headers[k] for k in ("x-page", "x-per-page", "x-total", "x-total-pages", "x-prev-page", "x-next-page")
    } == {"x-page": "2", "x-per-page": "2", "x-total": "3", "x-total-pages": "2", "x-prev-page": "1", "x-next-page": ""}
    assert set(page.links) == {"prev", "first", "last"}
    assert page.links["prev"]["url"].startswith(live_server.base_url) and "page=1" in page.links["prev"]["url"]
    nested = world.group(parent=group)
    by_path = api.get(
        f"groups/{quote(nested.full_path, safe='')}/members",
        headers=auth(world.token(world.user(admin=True))),
        params={"per_page": 1},
    )
    assert by_path.status_code == 200 and by_path.json() == [] and by_path.headers["x-total"] == "0"
    assert quote(nested.full_path, safe="") in by_path.links["first"]["url"]


# ---------------------------------------------------------------------------------------- bad input
@dataclass(frozen=True)
class Scene:
    admin: dict[str, str]
    user: UserRef
    group: Ref
    project: Ref
    member: UserRef
    """A Developer of ``project``, with the e-mail ``<username>@example.org``."""
    bot_id: int
    """The bot user behind a token of another project."""


@pytest.fixture
def scene(world: World, live_server: LiveServer) -> Scene:
    admin = auth(world.token(world.user(admin=True)))
    group = world.group()
    project = world.project(group=group)
    member = world.user()
    world.member(member, Role.DEVELOPER, project=project)
    with world.database.unit_of_work() as session:
        row = session.get(User, member.id)
        assert row is not None
        row.email = f"{member.username}@example.org"
    bot = httpx.get(live_server.api("user"), headers=auth(world.project_token(world.project()))).json()
    return Scene(admin, world.user(), group, project, member, bot["id"])


YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
NOT_JSON = object()


BAD_INPUT: list[tuple[str, str, str, Any, int]] = [
    # (case, method, path, JSON body or query, expected status)
    ("project without name or path", "POST", "projects", {}, 400),
    ("project with invalid path", "POST", "projects", {"path": "no spaces/here"}, 400),
    ("project path reserved suffix", "POST", "projects", {"path": "x.git"}, 400),
    ("project name of wrong type", "POST", "projects", {"name": 5}, 400),
    ("project duplicate path", "POST", "projects", {"path": "{dup_project}", "namespace_id": "{group}"}, 400),
    ("project in missing namespace", "POST", "projects", {"path": "p", "namespace_id": 10**9}, 404),
    ("project namespace_id of wrong type", "POST", "projects", {"path": "p", "namespace_id": [1]}, 400),
    ("project unknown visibility", "POST", "projects", {"path": "p", "visibility": "secret"}, 400),
    ("project description of wrong type", "POST", "projects", {"path": "p", "description": {"a": 1}}, 400),
    ("project body not JSON", "POST", "projects", NOT_JSON, 400),
    ("project body a JSON array", "POST", "projects", ["path", "p"], 400),
    ("update unknown feature level", "PUT", "projects/{project}", {"model_registry_access_level": "maybe"}, 400),
    ("update visibility of wrong type", "PUT", "projects/{project}", {"visibility": 7}, 400),
    ("update path", "PUT", "projects/{project}", {"path": "renamed"}, 400),
    ("update name empty", "PUT", "projects/{project}", {"name": "  "}, 400),
    ("update body not JSON", "PUT", "projects/{project}", NOT_JSON, 400),
    (
        "public project in private group",
        "POST",
        "projects",
        {"path": "p", "namespace_id": "{group}", "visibility": "public"},
        400,
    ),
    ("group without path", "POST", "groups", {"name": "g"}, 400),
    ("group without name", "POST", "groups", {"path": "g"}, 400),
    ("group reserved path", "POST", "groups", {"name": "g", "path": "api"}, 400),
    ("group duplicate path", "POST", "groups", {"name": "g", "path": "{dup_group}"}, 400),
    ("group in missing parent", "POST", "groups", {"name": "g", "path": "g", "parent_id": 10**9}, 404),
    ("group parent_id not a number", "POST", "groups", {"name": "g", "path": "g", "parent_id": "abc"}, 400),
    ("member duplicate", "POST", "projects/{project}/members", {"user_id": "{member}", "access_level": 30}, 409),
    (
        "member unknown access level",
        "POST",
        "projects/{project}/members",
        {"user_id": "{user}", "access_level": 35},
        400,
    ),
    (
        "member unknown role name",
        "POST",
        "projects/{project}/members",
        {"user_id": "{user}", "access_level": "boss"},
        400,
    ),
    (
        "member access level boolean",
        "POST",
        "projects/{project}/members",
        {"user_id": "{user}", "access_level": True},
        400,
    ),
    ("member without access level", "POST", "projects/{project}/members", {"user_id": "{user}"}, 400),
    ("member without user", "POST", "projects/{project}/members", {"access_level": 30}, 400),
    (
        "member with both user_id and username",
        "POST",
        "projects/{project}/members",
        {"user_id": "{user}", "username": "x", "access_level": 30},
        400,
    ),
    ("member user_id of wrong type", "POST", "projects/{project}/members", {"user_id": 1.5, "access_level": 30}, 400),
    ("member missing user", "POST", "projects/{project}/members", {"user_id": 10**9, "access_level": 30}, 404),
    (
        "member user id beyond BIGINT",
        "POST",
        "projects/{project}/members",
        {"user_id": "9" * 30, "access_level": 30},
        400,
    ),
    ("member who is a bot", "POST", "projects/{project}/members", {"user_id": "{bot}", "access_level": 30}, 400),
    (
        "member bad expires_at",
        "POST",
        "groups/{group}/members",
        {"user_id": "{user}", "access_level": 30, "expires_at": "next week"},
        400,
    ),
    ("member not a member", "DELETE", "projects/{project}/members/{user}", None, 404),
    ("member id not a number", "GET", "projects/{project}/members/bob", None, 404),
    ("token unknown scope", "POST", "projects/{project}/access_tokens", {"name": "t", "scopes": ["sudo"]}, 400),
    ("token without scopes", "POST", "projects/{project}/access_tokens", {"name": "t"}, 400),
    ("token scopes of wrong type", "POST", "groups/{group}/access_tokens", {"name": "t", "scopes": 5}, 400),
    ("token without name", "POST", "groups/{group}/access_tokens", {"scopes": ["api"]}, 400),
    (
        "token unknown access level",
        "POST",
        "projects/{project}/access_tokens",
        {"name": "t", "scopes": ["api"], "access_level": 60},
        400,
    ),
    (
        "token bad expires_at",
        "POST",
        "projects/{project}/access_tokens",
        {"name": "t", "scopes": ["api"], "expires_at": "2030-13-45"},
        400,
    ),
    (
        "token expires_at in the past",
        "POST",
        "users/{user}/personal_access_tokens",
        {"name": "t", "scopes": ["api"], "expires_at": YESTERDAY},
        400,
    ),
    ("token of missing user", "POST", "users/999999999/personal_access_tokens", {"name": "t", "scopes": ["api"]}, 404),
    ("missing token", "DELETE", "projects/{project}/access_tokens/999999999", None, 404),
    ("user duplicate username", "POST", "users", {"username": "{dup_user}", "name": "x", "email": "{email}"}, 409),
    ("user duplicate email", "POST", "users", {"username": "{fresh}", "name": "x", "email": "{dup_email}"}, 409),
    ("user without email", "POST", "users", {"username": "{fresh}", "name": "x"}, 400),
    ("user invalid username", "POST", "users", {"username": "no way", "name": "x", "email": "{email}"}, 400),
    (
        "user short password",
        "POST",
        "users",
        {"username": "{fresh}", "name": "x", "email": "{email}", "password": "short"},
        400,
    ),
    (
        "user admin flag of wrong type",
        "POST",
        "users",
        {"username": "{fresh}", "name": "x", "email": "{email}", "admin": "perhaps"},
        400,
    ),
    ("list per_page not a number", "GET", "projects", {"per_page": "many"}, 400),
    ("list unknown order_by", "GET", "projects", {"order_by": "stars"}, 400),
    ("list unknown sort", "GET", "groups", {"sort": "sideways"}, 400),
    ("list negative page", "GET", "projects", {"page": "-1"}, 400),
    ("project id beyond BIGINT", "GET", "projects/" + "9" * 30, None, 404),
    ("group id beyond BIGINT", "GET", "groups/" + "9" * 30 + "/members", None, 404),
    ("user id beyond BIGINT", "GET", "users/" + "9" * 30, None, 404),
    ("list unknown token state", "GET", "projects/{project}/access_tokens", {"state": "zombie"}, 400),
]


@pytest.mark.parametrize(("case", "method", "path", "payload", "status"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_a_4xx_with_a_message(
    api: httpx.Client, scene: Scene, case: str, method: str, path: str, payload: Any, status: int
) -> None:
    values = {
        "project": scene.project.id,
        "group": scene.group.id,
        "user": scene.user.id,
        "member": scene.member.id,
        "bot": scene.bot_id,
        "dup_project": scene.project.full_path.rsplit("/", 1)[-1],
        "dup_group": scene.group.full_path,
        "dup_user": scene.member.username,
        "dup_email": f"{scene.member.username}@example.org",
        "fresh": unique("fresh"),
        "email": f"{unique('fresh')}@example.org",
    }

    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return values[value[1:-1]]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    url = path.format(**values)
    if payload is NOT_JSON:
        answer = api.request(
            method, url, content=b"{not json", headers={**scene.admin, "Content-Type": "application/json"}
        )
    elif method == "GET":
        answer = api.get(url, params=payload, headers=scene.admin)
    else:
        answer = api.request(method, url, json=fill(payload), headers=scene.admin)
    assert answer.status_code == status, (case, answer.status_code, answer.text)
    assert len(message_of(answer)) > 5


def test_deleting_a_group_takes_its_subgroups_and_projects(api: httpx.Client, world: World) -> None:
    owner, maintainer = world.user(), world.user()
    headers = auth(world.token(owner))
    group = api.post("groups", json={"name": "g", "path": unique("g")}, headers=headers).json()
    sub = api.post("groups", json={"name": "s", "path": "s", "parent_id": group["id"]}, headers=headers).json()
    project = api.post("projects", json={"path": "p", "namespace_id": sub["id"]}, headers=headers).json()
    world.member(maintainer, Role.MAINTAINER, group=Ref(group["id"], group["full_path"]))
    assert api.delete(f"groups/{group['id']}", headers=auth(world.token(maintainer))).status_code == 403
    gone = api.delete(f"groups/{quote(group['full_path'], safe='')}", headers=headers)
    assert (gone.status_code, gone.json()) == (202, {"message": "202 Accepted"})
    for path in (f"groups/{sub['id']}", f"projects/{project['id']}"):
        assert api.get(path, headers=headers).status_code == 404
