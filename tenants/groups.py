"""Creating, listing and deleting groups, nested by full path (``ml/vision/team``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import InvalidParameter, NotFound
from tenants import repository
from tenants.principal import Principal
from tenants.roles import Role
from tenants.tables import GroupMember, Namespace
from tenants.validation import check_name, check_path, check_visibility


def create_group(
    session: Session,
    path: str,
    *,
    name: str | None = None,
    parent: Namespace | None = None,
    visibility: str = "private",
    description: str = "",
    owner_id: int | None = None,
) -> Namespace:
    """A top-level group, or a subgroup of ``parent``; ``owner_id`` becomes its first Owner."""
    check_path(path, top_level=parent is None)
    if parent is not None and parent.kind != "group":
        raise InvalidParameter(f"{parent.full_path!r} is a user namespace; subgroups need a parent group")
    full_path = f"{parent.full_path}/{path}" if parent else path
    if repository.path_taken(session, full_path):
        raise InvalidParameter(f"path {full_path!r} has already been taken")
    group = Namespace(
        kind="group",
        name=check_name(name or path),
        path=path,
        full_path=full_path,
        full_path_key=full_path.lower(),
        parent_id=parent.id if parent else None,
        visibility=check_visibility(visibility),
        description=description,
    )
    try:
        with session.begin_nested():  # a concurrent create of the same path loses here, not with a 500
            session.add(group)
            session.flush()
    except IntegrityError:
        raise InvalidParameter(f"path {full_path!r} has already been taken") from None
    if owner_id is not None:
        session.add(GroupMember(group_id=group.id, user_id=owner_id, access_level=Role.OWNER))
        session.flush()
    return group


def create_group_path(session: Session, full_path: str, *, owner_id: int | None = None) -> Namespace:
    """``a/b/c``: the group ``c`` under ``a/b``, creating missing parents (the CLI's convenience)."""
    parent: Namespace | None = None
    parts = full_path.strip("/").split("/")
    for depth, part in enumerate(parts):
        prefix = "/".join(parts[: depth + 1])
        existing = repository.namespace_by_full_path(session, prefix)
        last = depth == len(parts) - 1
        if existing is not None and not last:
            if existing.kind != "group":
                raise InvalidParameter(f"{prefix!r} is a user namespace, not a group")
            parent = existing
            continue
        parent = create_group(session, part, parent=parent, owner_id=owner_id if parent is None else None)
    assert parent is not None
    return parent


def find_namespace(session: Session, full_path: str) -> Namespace:
    namespace = repository.namespace_by_full_path(session, full_path)
    if namespace is None:
        raise NotFound(f"404 Namespace Not Found: no user or group {full_path!r}")
    return namespace


@dataclass(frozen=True, slots=True)
class GroupRecord:
    group: Namespace
    full_name: str
    """``"Top / Sub"`` (ancestor names joined)."""


def list_visible(
    session: Session, viewer: Principal, filters: repository.GroupFilters, window: repository.Window
) -> tuple[list[GroupRecord], int]:
    """One page of the groups ``viewer`` can read, and how many there are in all."""
    query = repository.visible_groups(viewer, utcnow().date(), filters)
    rows, total = repository.page_of(session, query, window)
    names = repository.full_names(session, (row[0].full_path for row in rows))
    return [GroupRecord(row[0], names[row[0].full_path.lower()]) for row in rows], total


def group_record(session: Session, group_id: int) -> GroupRecord:
    group = session.get(Namespace, group_id)
    assert group is not None, "callers pass an id that authorization has just resolved"
    return GroupRecord(group, repository.full_names(session, [group.full_path])[group.full_path.lower()])


def delete_group(session: Session, group: Namespace) -> None:
    """Deletes the subgroups, projects, memberships and tokens below it too (ON DELETE CASCADE), then
    the bot users of those tokens and CI bindings."""
    session.delete(group)
    session.flush()
    repository.delete_orphaned_bots(session)
