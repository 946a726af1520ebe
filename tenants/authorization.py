"""The one permission check: ``require(session, principal, project_ref, permission)``.

It implements SPEC §3's status matrix, in this order, and no handler re-implements any of it:

1. no principal                                       → 401 ``Unauthenticated``
2. project missing, not visible to the principal,
   or the permission's feature switched off           → 404 ``NotFound`` (one message for all three,
                                                         so a project's existence never leaks)
3. visible, but the role is too low                    → 403 ``PermissionDenied``
4. visible, role enough, but a ``read_api`` credential
   asks for a write                                   → 403 ``PermissionDenied``

Visibility: instance admins and members (Guest and up, direct or inherited from any ancestor group)
see a project; any signed-in person sees ``internal`` ones; anyone signed in sees ``public`` ones.
Bot users (behind project and group tokens) see only where they are members, plus public projects.
A CI job (``principal.ci``, an ID token admitted by a binding) holds its binding's role on its bound
project and sees nothing else — not even public projects or any group — so every other project is a
404, exactly as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import NotFound, PermissionDenied, Unauthenticated
from tenants import repository
from tenants.authentication import NO_CREDENTIALS
from tenants.principal import Principal
from tenants.roles import Role
from tenants.tables import Namespace, Project
from tenants.ttl_cache import TtlCache


@dataclass(frozen=True, slots=True)
class Rule:
    min_role: Role | None
    """``None``: any principal who can see the resource."""
    write: bool
    """A write needs a credential with the ``api`` scope."""
    feature: str | None = None
    """Project feature switch that must be on (``model_experiments`` / ``model_registry``)."""


class Permission(Enum):
    READ_PROJECT = Rule(None, write=False)
    ADMIN_PROJECT = Rule(Role.MAINTAINER, write=True)
    DELETE_PROJECT = Rule(Role.OWNER, write=True)
    READ_MODEL_EXPERIMENTS = Rule(None, write=False, feature="model_experiments")
    WRITE_MODEL_EXPERIMENTS = Rule(Role.DEVELOPER, write=True, feature="model_experiments")
    READ_MODEL_REGISTRY = Rule(None, write=False, feature="model_registry")
    WRITE_MODEL_REGISTRY = Rule(Role.DEVELOPER, write=True, feature="model_registry")


class GroupPermission(Enum):
    READ_GROUP = Rule(None, write=False)
    CREATE_PROJECT = Rule(Role.DEVELOPER, write=True)
    CREATE_SUBGROUP = Rule(Role.MAINTAINER, write=True)
    ADMIN_GROUP = Rule(Role.OWNER, write=True)


@dataclass(frozen=True, slots=True)
class ProjectContext:
    """A project the principal has been allowed to act on, and how."""

    project_id: int
    full_path: str
    principal: Principal
    role: Role | None
    """The principal's effective role (``None`` for a non-member reading a public project)."""
    max_artifact_bytes: int | None = None
    """The project's own limit on one artifact file; ``None``: the instance default applies."""


@dataclass(frozen=True, slots=True)
class GroupContext:
    group_id: int
    full_path: str
    principal: Principal
    role: Role | None


def project_not_found(ref: str) -> NotFound:
    return NotFound(f"404 Project Not Found: no project {ref!r} is visible to this token")


def group_not_found(ref: str) -> NotFound:
    return NotFound(f"404 Group Not Found: no group {ref!r} is visible to this token")


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """What ``require`` looked up about a project for one principal: all it decides from."""

    project_id: int
    full_path: str
    visibility: str
    model_experiments_enabled: bool
    model_registry_enabled: bool
    max_artifacts_size: int | None
    role: Role | None


AccessCache = TtlCache[tuple[Principal, str], ProjectAccess]
"""(principal, project reference) → its ``ProjectAccess``, for a few seconds (``tenants.ttl_cache``)."""


def require(
    session: Session,
    principal: Principal | None,
    project_ref: str,
    permission: Permission,
    cache: AccessCache | None = None,
) -> ProjectContext:
    """Return the project context if ``principal`` holds ``permission`` on it, else raise (see module doc).

    With a ``cache``, the lookup (the project and the principal's role on it) is remembered for a few
    seconds; every decision is still made here, on each call.
    """
    if principal is None:
        raise Unauthenticated(NO_CREDENTIALS, reason="missing_credentials")
    ref = unquote(project_ref)
    access = None if cache is None else cache.get((principal, ref))
    if access is None:
        generation = 0 if cache is None else cache.generation
        access = _look_up(session, principal, ref)
        if cache is not None:
            cache.put((principal, ref), access, generation)
    role = access.role
    if not _can_see(principal, role, access.visibility) or not _feature_on(access, permission.value):
        raise project_not_found(ref)
    _check_role_and_scope(principal, role, permission.value, what=permission.name)
    limit = None if access.max_artifacts_size is None else access.max_artifacts_size * 1024 * 1024
    return ProjectContext(access.project_id, access.full_path, principal, role, limit)


def _look_up(session: Session, principal: Principal, ref: str) -> ProjectAccess:
    found = repository.project_and_namespace_by_ref(session, ref)
    if found is None:
        raise project_not_found(ref)
    project, namespace = found
    return ProjectAccess(
        project.id,
        project.full_path,
        project.visibility,
        project.model_experiments_enabled,
        project.model_registry_enabled,
        project.max_artifacts_size,
        _project_role(session, principal, project, namespace),
    )


def require_group(
    session: Session, principal: Principal | None, group_ref: str, permission: GroupPermission
) -> GroupContext:
    if principal is None:
        raise Unauthenticated(NO_CREDENTIALS, reason="missing_credentials")
    ref = unquote(group_ref)
    group = repository.group_by_ref(session, ref)
    if group is None:
        raise group_not_found(ref)
    role = _group_role(session, principal, group)
    if not _can_see(principal, role, group.visibility):
        raise group_not_found(ref)
    _check_role_and_scope(principal, role, permission.value, what=permission.name)
    return GroupContext(group.id, group.full_path, principal, role)


def require_admin(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated(NO_CREDENTIALS, reason="missing_credentials")
    if not principal.is_admin:
        raise PermissionDenied("403 Forbidden: only an instance administrator may do this")
    return principal


def require_write_scope(principal: Principal) -> None:
    if not principal.can_write:
        raise PermissionDenied(_SCOPE_MESSAGE, reason="insufficient_scope")


_SCOPE_MESSAGE = "403 Forbidden: this token has only the read_api scope; writing needs a token with the api scope"


def _project_role(session: Session, principal: Principal, project: Project, namespace: Namespace) -> Role | None:
    if principal.ci is not None:
        return principal.ci.role if project.id == principal.ci.project_id else None
    if principal.is_admin:
        return Role.OWNER
    level = repository.project_access_level(session, principal.user_id, project, utcnow().date(), namespace)
    return None if level is None else Role(level)


def _group_role(session: Session, principal: Principal, group: Namespace) -> Role | None:
    if principal.ci is not None:
        return None
    if principal.is_admin:
        return Role.OWNER
    level = repository.group_access_level(session, principal.user_id, group, utcnow().date())
    return None if level is None else Role(level)


def _can_see(principal: Principal, role: Role | None, visibility: str) -> bool:
    if role is not None:
        return True
    if principal.ci is not None:
        return False
    if visibility == "public":
        return True
    return visibility == "internal" and not principal.is_bot


def _feature_on(project: ProjectAccess, rule: Rule) -> bool:
    if rule.feature == "model_experiments":
        return project.model_experiments_enabled
    if rule.feature == "model_registry":
        return project.model_registry_enabled
    return True


def _check_role_and_scope(principal: Principal, role: Role | None, rule: Rule, *, what: str) -> None:
    if rule.min_role is not None and (role is None or role < rule.min_role):
        held = "no role" if role is None else f"the {role.name.lower()} role"
        raise PermissionDenied(
            f"403 Forbidden: {what.lower().replace('_', ' ')} needs at least the "
            f"{rule.min_role.name.lower()} role; this token's user has {held}"
        )
    if rule.write and not principal.can_write:
        raise PermissionDenied(_SCOPE_MESSAGE, reason="insufficient_scope")
