"""Test data made through the real services: unique users, groups, projects, memberships, tokens."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from gateway.db import Database
from tenants import access_tokens, groups, members, projects, users
from tenants.roles import Role
from tenants.tables import Namespace

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Ref:
    id: int
    full_path: str


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


class World:
    def __init__(self, database: Database, secret_key: bytes) -> None:
        self.database = database
        self.secret_key = secret_key

    def user(self, *, admin: bool = False, password: str | None = None) -> UserRef:
        with self.database.unit_of_work() as session:
            user = users.create_user(session, unique("user"), is_admin=admin, password=password)
            return UserRef(user.id, user.username)

    def group(self, *, parent: Ref | None = None, visibility: str = "private") -> Ref:
        with self.database.unit_of_work() as session:
            parent_ns = session.get(Namespace, parent.id) if parent else None
            group = groups.create_group(session, unique("group"), parent=parent_ns, visibility=visibility)
            return Ref(group.id, group.full_path)

    def project(self, *, owner: UserRef | None = None, group: Ref | None = None, visibility: str = "private") -> Ref:
        """A project in ``group``, in ``owner``'s namespace, or in a fresh user's namespace."""
        owner = owner if owner or group else self.user()
        with self.database.unit_of_work() as session:
            if group is not None:
                namespace = session.get(Namespace, group.id)
            else:
                assert owner is not None
                namespace = session.scalar(select(Namespace).where(Namespace.owner_id == owner.id))
            assert namespace is not None
            project = projects.create_project(session, namespace, unique("proj"), visibility=visibility)
            return Ref(project.id, project.full_path)

    def member(self, user: UserRef, role: Role, *, project: Ref | None = None, group: Ref | None = None) -> None:
        with self.database.unit_of_work() as session:
            from tenants.tables import User

            db_user = session.get(User, user.id)
            assert db_user is not None
            members.add_member(
                session,
                db_user,
                role,
                project_id=project.id if project else None,
                group_id=group.id if group else None,
            )

    def token(self, user: UserRef, *, scopes: tuple[str, ...] = ("api",), expires_at: str | None = None) -> str:
        with self.database.unit_of_work() as session:
            from tenants.tables import User

            db_user = session.get(User, user.id)
            assert db_user is not None
            issued = access_tokens.issue_personal_token(
                session, self.secret_key, db_user, unique("tok"), list(scopes), expires_at
            )
            return issued.secret

    def project_token(self, project: Ref, role: Role = Role.DEVELOPER, *, scopes: tuple[str, ...] = ("api",)) -> str:
        with self.database.unit_of_work() as session:
            issued = access_tokens.issue_project_token(
                session, self.secret_key, project.id, unique("ptok"), list(scopes), role, granted_by=None
            )
            return issued.secret

    def group_token(self, group: Ref, role: Role = Role.DEVELOPER, *, scopes: tuple[str, ...] = ("api",)) -> str:
        with self.database.unit_of_work() as session:
            issued = access_tokens.issue_group_token(
                session, self.secret_key, group.id, unique("gtok"), list(scopes), role, granted_by=None
            )
            return issued.secret

    def member_token(self, project: Ref, role: Role, **kwargs: object) -> str:
        """A personal token of a fresh user who is ``role`` on ``project``."""
        user = self.user()
        self.member(user, role, project=project)
        return self.token(user, **kwargs)  # type: ignore[arg-type]
