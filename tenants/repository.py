"""All tenancy SQL. Every function takes the session explicitly; nothing here commits.

Membership inheritance: a group membership applies to the group's subgroups and projects. Ancestors
are found from ``full_path`` prefixes (``a/b/c`` → ``a``, ``a/b``, ``a/b/c``), one indexed ``IN``
lookup instead of a recursive walk.

Listings (``visible_projects``, ``visible_groups``, members, tokens) are single set-based queries
paged with LIMIT/OFFSET (``page_of``); visibility there mirrors ``tenants.authorization`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from tenants.principal import Principal
from tenants.tables import AccessToken, CiProjectBinding, GroupMember, Namespace, Project, ProjectMember, User


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


MAX_ID = 2**63 - 1
"""Ids are BIGINT: a longer number names nothing (and would overflow the driver, a 500)."""


def group_by_ref(session: Session, ref: str) -> Namespace | None:
    """A group by numeric id or full path (already percent-decoded)."""
    found = namespace_by_ref(session, ref)
    return found if found is not None and found.kind == "group" else None


def project_by_ref(session: Session, ref: str) -> Project | None:
    """A project by numeric id or full path (already percent-decoded)."""
    found = project_and_namespace_by_ref(session, ref)
    return None if found is None else found[0]


def project_and_namespace_by_ref(session: Session, ref: str) -> tuple[Project, Namespace] | None:
    """A project and its namespace in one query: every permission check needs both."""
    if ref.isdigit():
        if int(ref) > MAX_ID:
            return None
        condition = Project.id == int(ref)
    else:
        condition = Project.full_path_key == ref.lower()
    row = session.execute(
        select(Project, Namespace).join(Namespace, Namespace.id == Project.namespace_id).where(condition)
    ).first()
    return None if row is None else (row[0], row[1])


def namespace_by_ref(session: Session, ref: str) -> Namespace | None:
    """A user namespace or group by numeric id or full path."""
    if ref.isdigit():
        return session.get(Namespace, int(ref)) if int(ref) <= MAX_ID else None
    return namespace_by_full_path(session, ref)


def user_namespace(session: Session, user_id: int) -> Namespace | None:
    return session.scalar(select(Namespace).where(Namespace.kind == "user", Namespace.owner_id == user_id))


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def path_taken(session: Session, full_path: str) -> bool:
    key = full_path.lower()
    in_namespaces = select(Namespace.id).where(Namespace.full_path_key == key)
    in_projects = select(Project.id).where(Project.full_path_key == key)
    return session.execute(in_namespaces.union_all(in_projects).limit(1)).first() is not None


# ---------------------------------------------------------------------------------------- roles
def project_access_level(
    session: Session, user_id: int, project: Project, today: date, namespace: Namespace | None = None
) -> int | None:
    """The user's effective role on the project: the highest of its own and inherited memberships."""
    namespace = namespace or session.get(Namespace, project.namespace_id)
    assert namespace is not None and namespace.id == project.namespace_id
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


def other_owners(session: Session, member: GroupMember) -> bool:
    """Whether the member's group has a direct Owner besides ``member``."""
    others = select(GroupMember.id).where(
        GroupMember.group_id == member.group_id, GroupMember.access_level == 50, GroupMember.id != member.id
    )
    return session.execute(others.limit(1)).first() is not None


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
def delete_orphaned_bots(session: Session) -> int:
    """Delete the bot users whose project, group or CI binding is gone (their tokens went with it).

    A bot exists only for its access tokens (revoked ones stay as rows) or its CI binding, so a bot
    with neither belongs to a deleted project or group, as GitLab removes them. Returns how many.
    """
    orphaned = (
        delete(User)
        .where(User.bot_kind.is_not(None))
        .where(~exists().where(AccessToken.user_id == User.id))
        .where(~exists().where(CiProjectBinding.user_id == User.id))
    )
    return int(session.execute(orphaned, execution_options={"synchronize_session": False}).rowcount)  # type: ignore[attr-defined]


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


# ---------------------------------------------------------------------------------------- listings
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
"""A SELECT of any columns: listings hand back rows of several entities."""


@dataclass(frozen=True, slots=True)
class Window:
    """The rows of one page: ``LIMIT limit OFFSET offset``."""

    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class ProjectFilters:
    search: str | None = None
    visibility: str | None = None
    membership: bool = False
    """Only projects the viewer is a member of (directly, through a group, or as namespace owner)."""
    owned: bool = False
    namespace_id: int | None = None
    order_by: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class GroupFilters:
    search: str | None = None
    membership: bool = False
    top_level_only: bool = False
    order_by: str = "name"
    descending: bool = False


PROJECT_ORDERS = {
    "id": Project.id,
    "name": Project.name,
    "path": Project.path,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
    "last_activity_at": Project.updated_at,
}
GROUP_ORDERS = {"id": Namespace.id, "name": Namespace.name, "path": Namespace.path}


def page_of(session: Session, query: AnySelect, window: Window) -> tuple[Sequence[Row[*tuple[Any, ...]]], int]:
    """One page of ``query`` and the total row count (two statements, both in the database)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(window.limit).offset(window.offset)).all()
    return rows, total


def visible_projects(viewer: Principal, today: date, filters: ProjectFilters) -> AnySelect:
    """``(Project, Namespace, owner User | None)`` the viewer may read (``authorization.require``'s rule)."""
    membership = or_(
        and_(Namespace.kind == "user", Namespace.owner_id == viewer.user_id),
        exists().where(
            ProjectMember.project_id == Project.id,
            ProjectMember.user_id == viewer.user_id,
            _active_member(ProjectMember.expires_at, today),
        ),
        _group_member_at_or_above(viewer.user_id, Namespace.full_path_key, today),
    )
    if viewer.ci is not None:
        visible: ColumnElement[bool] = Project.id == viewer.ci.project_id  # a CI job sees its project only
    elif filters.membership:
        visible = membership
    elif viewer.is_admin:
        visible = true()
    else:
        internal = false() if viewer.is_bot else Project.visibility == "internal"
        visible = or_(Project.visibility == "public", internal, membership)
    query = (
        select(Project, Namespace, User)
        .join(Namespace, Namespace.id == Project.namespace_id)
        .outerjoin(User, and_(Namespace.kind == "user", User.id == Namespace.owner_id))
        .where(visible)
    )
    if filters.owned:
        query = query.where(Namespace.kind == "user", Namespace.owner_id == viewer.user_id)
    if filters.search:
        query = query.where(
            or_(
                Project.name.icontains(filters.search, autoescape=True),
                Project.path.icontains(filters.search, autoescape=True),
            )
        )
    if filters.visibility:
        query = query.where(Project.visibility == filters.visibility)
    if filters.namespace_id is not None:
        query = query.where(Project.namespace_id == filters.namespace_id)
    order = PROJECT_ORDERS[filters.order_by]
    if filters.descending:
        return query.order_by(order.desc(), Project.id.desc())
    return query.order_by(order.asc(), Project.id.asc())


def visible_groups(viewer: Principal, today: date, filters: GroupFilters) -> AnySelect:
    """Groups the viewer may read (``authorization.require_group``'s rule), as ``(Namespace,)`` rows."""
    membership = _group_member_at_or_above(viewer.user_id, Namespace.full_path_key, today)
    if viewer.ci is not None:
        visible: ColumnElement[bool] = false()  # a CI job sees no group
    elif filters.membership:
        visible = membership
    elif viewer.is_admin:
        visible = true()
    else:
        internal = false() if viewer.is_bot else Namespace.visibility == "internal"
        visible = or_(Namespace.visibility == "public", internal, membership)
    query = select(Namespace).where(Namespace.kind == "group", visible)
    if filters.top_level_only:
        query = query.where(Namespace.parent_id.is_(None))
    if filters.search:
        query = query.where(
            or_(
                Namespace.name.icontains(filters.search, autoescape=True),
                Namespace.path.icontains(filters.search, autoescape=True),
            )
        )
    order = GROUP_ORDERS[filters.order_by]
    if filters.descending:
        return query.order_by(order.desc(), Namespace.id.desc())
    return query.order_by(order.asc(), Namespace.id.asc())


def _active_member(expires_at: Any, today: date) -> ColumnElement[bool]:
    return or_(expires_at.is_(None), expires_at >= today)


def _group_member_at_or_above(user_id: int, namespace_key: Any, today: date) -> ColumnElement[bool]:
    """The user is a member of the group whose key is ``namespace_key`` or of one of its ancestors.

    A prefix test with ``substr`` rather than ``LIKE``: paths may contain ``_``, a LIKE wildcard.
    """
    ancestor = aliased(Namespace)
    return exists().where(
        GroupMember.user_id == user_id,
        GroupMember.group_id == ancestor.id,
        ancestor.kind == "group",
        _active_member(GroupMember.expires_at, today),
        or_(
            namespace_key == ancestor.full_path_key,
            func.substr(namespace_key, 1, func.length(ancestor.full_path_key) + 1) == ancestor.full_path_key + "/",
        ),
    )


def full_names(session: Session, full_paths: Iterable[str]) -> dict[str, str]:
    """``{"top/sub": "Top / Sub"}`` for each path (keyed lower-case), from one query over all ancestors."""
    paths = {p.lower() for p in full_paths}
    prefixes = {prefix for path in paths for prefix in path_prefixes(path)}
    if not prefixes:
        return {}
    query = select(Namespace.full_path_key, Namespace.name).where(Namespace.full_path_key.in_(prefixes))
    names = {key: name for key, name in session.execute(query)}
    return {path: " / ".join(names.get(prefix, prefix) for prefix in path_prefixes(path)) for path in paths}


def members_query(
    *, project_id: int | None = None, group_id: int | None = None, user_ids: Sequence[int] = ()
) -> AnySelect:
    """``(member, User)`` rows of a project's or a group's direct members."""
    model: type[ProjectMember] | type[GroupMember] = ProjectMember if project_id is not None else GroupMember
    owner = ProjectMember.project_id == project_id if project_id is not None else GroupMember.group_id == group_id
    query: AnySelect = select(model, User).join(User, User.id == model.user_id).where(owner).order_by(model.id)
    return query.where(model.user_id.in_(user_ids)) if user_ids else query


def resource_tokens_query(
    *, project_id: int | None = None, group_id: int | None = None, state: str | None = None, today: date
) -> AnySelect:
    """``(AccessToken, access_level | None)`` of a project's or group's tokens: the bot's role joined in."""
    if project_id is not None:
        level: Any = ProjectMember.access_level
        query = select(AccessToken, level).outerjoin(
            ProjectMember, and_(ProjectMember.project_id == project_id, ProjectMember.user_id == AccessToken.user_id)
        )
        query = query.where(AccessToken.kind == "project", AccessToken.project_id == project_id)
    else:
        level = GroupMember.access_level
        query = select(AccessToken, level).outerjoin(
            GroupMember, and_(GroupMember.group_id == group_id, GroupMember.user_id == AccessToken.user_id)
        )
        query = query.where(AccessToken.kind == "group", AccessToken.group_id == group_id)
    return _token_state(query, state, today).order_by(AccessToken.id)


def personal_tokens_query(*, user_id: int | None, state: str | None, today: date) -> AnySelect:
    """``(AccessToken,)`` rows of personal tokens: one user's, or everyone's (``user_id=None``)."""
    query = select(AccessToken).where(AccessToken.kind == "personal")
    if user_id is not None:
        query = query.where(AccessToken.user_id == user_id)
    return _token_state(query, state, today).order_by(AccessToken.id)


def _token_state(query: AnySelect, state: str | None, today: date) -> AnySelect:
    active = and_(AccessToken.revoked.is_(False), _active_member(AccessToken.expires_at, today))
    if state == "active":
        return query.where(active)
    if state == "inactive":
        return query.where(~active)
    return query
