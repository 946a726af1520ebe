"""Project and group memberships: list, add, change, remove."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import AlreadyExists, NotFound, PermissionDenied
from tenants.roles import Role
from tenants.tables import GroupMember, ProjectMember, User

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
    session: Session, user_id: int, *, project_id: int | None = None, group_id: int | None = None
) -> None:
    member = find_member(session, user_id, project_id=project_id, group_id=group_id)
    if member is None:
        raise NotFound("404 Member Not Found")
    session.delete(member)
    session.flush()


def find_member(session: Session, user_id: int, *, project_id: int | None, group_id: int | None) -> Member | None:
    if project_id is not None:
        return session.scalar(
            select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        )
    return session.scalar(select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id))
