"""Project and group memberships: list, add, change, remove.

GitLab's guard rails live here, not in handlers: nobody grants a role above their own
(``granted_by`` is the caller's role; ``None`` for instance admins), nobody changes or removes a
member who outranks them, and a top-level group never loses its last Owner.
"""

from __future__ import annotations

from datetime import date
from types import EllipsisType

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import AlreadyExists, NotFound, PermissionDenied
from tenants import repository
from tenants.roles import Role
from tenants.tables import GroupMember, Namespace, ProjectMember, User

Member = ProjectMember | GroupMember


def list_members(
    session: Session, *, project_id: int | None = None, group_id: int | None = None
) -> list[tuple[Member, User]]:
    query = (
        select(ProjectMember, User).where(ProjectMember.project_id == project_id).order_by(ProjectMember.id)
        if project_id is not None
        else select(GroupMember, User).where(GroupMember.group_id == group_id).order_by(GroupMember.id)
    )
    model = ProjectMember if project_id is not None else GroupMember
    rows = session.execute(query.join(User, User.id == model.user_id)).all()
    return [(row[0], row[1]) for row in rows]


def add_member(
    session: Session,
    user: User,
    role: Role,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
    granted_by: Role | None = None,
    expires_at: date | None = None,
) -> Member:
    """Add ``user`` with ``role``. ``granted_by`` is the granter's own role: nobody grants above it."""
    if granted_by is not None and role > granted_by:
        raise PermissionDenied(f"403 Forbidden: you cannot grant the {role.name.lower()} role, which is above your own")
    if find_member(session, user.id, project_id=project_id, group_id=group_id) is not None:
        raise AlreadyExists(f"{user.username} is already a member")
    member: Member
    if project_id is not None:
        member = ProjectMember(project_id=project_id, user_id=user.id, access_level=int(role), expires_at=expires_at)
    else:
        assert group_id is not None
        member = GroupMember(group_id=group_id, user_id=user.id, access_level=int(role), expires_at=expires_at)
    session.add(member)
    session.flush()
    return member


def remove_member(
    session: Session,
    user_id: int,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
    granted_by: Role | None = None,
) -> None:
    member = existing_member(session, user_id, project_id=project_id, group_id=group_id)
    _check_outranks(member, granted_by)
    _keep_an_owner(session, member, None)
    session.delete(member)
    session.flush()


def change_member(
    session: Session,
    user_id: int,
    role: Role,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
    granted_by: Role | None = None,
    expires_at: date | EllipsisType | None = ...,
) -> Member:
    """Give an existing member ``role`` (and a new expiry, unless ``expires_at`` is left out)."""
    member = existing_member(session, user_id, project_id=project_id, group_id=group_id)
    _check_outranks(member, granted_by)
    if granted_by is not None and role > granted_by:
        raise PermissionDenied(f"403 Forbidden: you cannot grant the {role.name.lower()} role, which is above your own")
    _keep_an_owner(session, member, role)
    member.access_level = int(role)
    if not isinstance(expires_at, EllipsisType):
        member.expires_at = expires_at
    session.flush()
    return member


def existing_member(session: Session, user_id: int, *, project_id: int | None, group_id: int | None) -> Member:
    member = find_member(session, user_id, project_id=project_id, group_id=group_id)
    if member is None:
        raise NotFound("404 Member Not Found: that user is not a direct member here")
    return member


def _check_outranks(member: Member, granted_by: Role | None) -> None:
    if granted_by is not None and member.access_level > granted_by:
        raise PermissionDenied("403 Forbidden: you cannot change or remove a member whose role is above your own")


def _keep_an_owner(session: Session, member: Member, new_role: Role | None) -> None:
    """A top-level group must keep an Owner (subgroups inherit their parents' Owners).

    ``new_role`` is the member's role after the change, ``None`` when they are being removed.
    """
    if not isinstance(member, GroupMember) or member.access_level != Role.OWNER or new_role == Role.OWNER:
        return
    group = session.get(Namespace, member.group_id)
    if group is not None and group.parent_id is None and not repository.other_owners(session, member):
        raise PermissionDenied("403 Forbidden: a group must keep at least one owner; add another owner first")


def find_member(session: Session, user_id: int, *, project_id: int | None, group_id: int | None) -> Member | None:
    if project_id is not None:
        return session.scalar(
            select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        )
    return session.scalar(select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id))


def page(
    session: Session,
    window: repository.Window,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
    user_ids: list[int] | None = None,
) -> tuple[list[tuple[Member, User]], int]:
    """One page of direct members (oldest first) and their number."""
    query = repository.members_query(project_id=project_id, group_id=group_id, user_ids=user_ids or ())
    rows, total = repository.page_of(session, query, window)
    return [(row[0], row[1]) for row in rows], total
