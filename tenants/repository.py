"""All tenancy SQL. Every function takes the session explicitly; nothing here commits.

Membership inheritance: a group membership applies to the group's subgroups and projects. Ancestors
are found from ``full_path`` prefixes (``a/b/c`` → ``a``, ``a/b``, ``a/b/c``), one indexed ``IN``
lookup instead of a recursive walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select, union_all, update
from sqlalchemy.orm import Session

from tenants.tables import AccessToken, GroupMember, Namespace, Project, ProjectMember, User


def path_prefixes(full_path: str) -> list[str]:
    """``"a/b/c"`` → ``["a", "a/b", "a/b/c"]`` (lower-cased keys)."""
    parts = full_path.lower().split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


# ---------------------------------------------------------------------------------------- lookups
def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username_key == username.lower()))


def namespace_by_full_path(session: Session, full_path: str) -> Namespace | None:
    return session.scalar(select(Namespace).where(Namespace.full_path_key == full_path.lower()))


def group_by_ref(session: Session, ref: str) -> Namespace | None:
    """A group by numeric id or full path (already percent-decoded)."""
    found = session.get(Namespace, int(ref)) if ref.isdigit() else namespace_by_full_path(session, ref)
    return found if found is not None and found.kind == "group" else None


def project_by_ref(session: Session, ref: str) -> Project | None:
    """A project by numeric id or full path (already percent-decoded)."""
    if ref.isdigit():
        return session.get(Project, int(ref))
    return session.scalar(select(Project).where(Project.full_path_key == ref.lower()))


def path_taken(session: Session, full_path: str) -> bool:
    key = full_path.lower()
    in_namespaces = select(Namespace.id).where(Namespace.full_path_key == key)
    in_projects = select(Project.id).where(Project.full_path_key == key)
    return session.execute(in_namespaces.union_all(in_projects).limit(1)).first() is not None


# ---------------------------------------------------------------------------------------- roles
def project_access_level(session: Session, user_id: int, project: Project, today: date) -> int | None:
    """The user's effective role on the project: the highest of its own and inherited memberships."""
    namespace = session.get(Namespace, project.namespace_id)
    assert namespace is not None
    if namespace.kind == "user" and namespace.owner_id == user_id:
        return 50
    direct = select(ProjectMember.access_level.label("level")).where(
        ProjectMember.project_id == project.id,
        ProjectMember.user_id == user_id,
        or_(ProjectMember.expires_at.is_(None), ProjectMember.expires_at >= today),
    )
    inherited = _inherited_group_levels(user_id, path_prefixes(namespace.full_path), today)
    levels = union_all(direct, inherited).subquery()
    level: int | None = session.scalar(select(func.max(levels.c.level)))
    return level


def group_access_level(session: Session, user_id: int, group: Namespace, today: date) -> int | None:
    levels = _inherited_group_levels(user_id, path_prefixes(group.full_path), today).subquery()
    level: int | None = session.scalar(select(func.max(levels.c.level)))
    return level


def _inherited_group_levels(user_id: int, prefixes: Sequence[str], today: date) -> Select[int]:
    return (
        select(GroupMember.access_level.label("level"))
        .join(Namespace, Namespace.id == GroupMember.group_id)
        .where(
            GroupMember.user_id == user_id,
            Namespace.kind == "group",
            Namespace.full_path_key.in_(prefixes),
            or_(GroupMember.expires_at.is_(None), GroupMember.expires_at >= today),
        )
    )


# ---------------------------------------------------------------------------------------- tokens
def token_with_owner(session: Session, digest: str) -> tuple[AccessToken, User] | None:
    row = session.execute(
        select(AccessToken, User).join(User, User.id == AccessToken.user_id).where(AccessToken.digest == digest)
    ).first()
    return None if row is None else (row[0], row[1])


def touch_token(session: Session, token_id: int, now: datetime, stale_before: datetime) -> None:
    """Record use, but write at most once per interval: the WHERE makes fresh tokens a no-op."""
    session.execute(
        update(AccessToken)
        .where(
            AccessToken.id == token_id,
            or_(AccessToken.last_used_at.is_(None), AccessToken.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
