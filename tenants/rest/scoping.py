"""What a nested route (``/projects/{project}/…`` or ``/groups/{group}/…``) hangs off, and the caller's
standing there — resolved only through ``tenants.authorization`` so the 401/404/403 order is its.

Members and access tokens exist on both projects and groups; their handlers are written once against
``Target`` and registered for both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.settings import Settings
from tenants.authorization import GroupPermission, Permission, require_group
from tenants.principal import Principal
from tenants.roles import Role
from tenants.web import require_project

Kind = Literal["projects", "groups"]


@dataclass(frozen=True, slots=True)
class Target:
    project_id: int | None
    group_id: int | None
    granted_by: Role | None
    """The caller's own role, the ceiling of what they may grant; ``None`` for instance admins."""


def base_url(request: Request) -> str:
    """``http://host:port`` as the client addressed us: python-gitlab warns on any other base."""
    return str(request.base_url).rstrip("/")


def resolve(request: Request, session: Session, principal: Principal, kind: Kind, *, manage: bool) -> Target:
    """Read access (``manage=False``) or the right to manage members and tokens: GitLab gives that to
    project Maintainers and group Owners."""
    if kind == "projects":
        permission = Permission.ADMIN_PROJECT if manage else Permission.READ_PROJECT
        project = require_project(request, session, principal, permission)
        return Target(project.project_id, None, None if principal.is_admin else project.role)
    group_permission = GroupPermission.ADMIN_GROUP if manage else GroupPermission.READ_GROUP
    group = require_group(session, principal, request.path_params["group"], group_permission)
    return Target(None, group.group_id, None if principal.is_admin else group.role)


def secret_key(request: Request) -> bytes:
    """The key token digests are made with (tokens are issued in handlers' units of work)."""
    settings = request.state.settings
    assert isinstance(settings, Settings)
    return settings.secret_key_bytes()
