"""Tenancy tables: users, namespaces (user namespaces and nested groups), projects, memberships,
access tokens, in GitLab's shape, and the bindings that admit CI jobs' ID tokens to one project.

Owns: the schema of tenancy. Must not: hold queries (``tenants.repository``) or rules
(``tenants.authorization``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    username: Mapped[str] = mapped_column(String(255))
    username_key: Mapped[str] = mapped_column(String(255), unique=True)
    """Lower-cased username: GitLab paths are unique regardless of case."""
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_kind: Mapped[str | None] = mapped_column(String(16))
    """``None`` for people; ``project_bot`` / ``group_bot`` for the users behind access tokens."""
    state: Mapped[str] = mapped_column(String(16), default="active")
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("state IN ('active', 'blocked')", name="state"),
        CheckConstraint("bot_kind IS NULL OR bot_kind IN ('project_bot', 'group_bot')", name="bot_kind"),
    )

    @property
    def is_bot(self) -> bool:
        return self.bot_kind is not None


class Namespace(Base):
    """A user's personal namespace or a (possibly nested) group."""

    __tablename__ = "namespaces"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    full_path: Mapped[str] = mapped_column(String(2048))
    full_path_key: Mapped[str] = mapped_column(String(2048), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    visibility: Mapped[str] = mapped_column(String(8), default="private")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('user', 'group')", name="kind"),
        CheckConstraint("visibility IN ('private', 'internal', 'public')", name="visibility"),
        CheckConstraint("kind = 'group' OR owner_id IS NOT NULL", name="user_namespace_owner"),
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    full_path: Mapped[str] = mapped_column(String(2048))
    full_path_key: Mapped[str] = mapped_column(String(2048), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(8), default="private")
    model_experiments_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    model_registry_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    max_artifacts_size: Mapped[int | None] = mapped_column(Integer)
    """Largest artifact file in megabytes (GitLab's project attribute); ``None``: the instance default."""
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("namespace_id", "path"),
        CheckConstraint("visibility IN ('private', 'internal', 'public')", name="visibility"),
    )


class GroupMember(Base):
    __tablename__ = "group_members"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access_level: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        CheckConstraint("access_level IN (10, 20, 30, 40, 50)", name="access_level"),
    )


class ProjectMember(Base):
    __tablename__ = "project_members"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    access_level: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        CheckConstraint("access_level IN (10, 20, 30, 40, 50)", name="access_level"),
    )


class AccessToken(Base):
    """A personal, project or group access token. Only its keyed digest is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    """The owner: a person for personal tokens, the token's bot user otherwise."""
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))
    """Comma-separated: ``api``, ``read_api``."""
    expires_at: Mapped[date | None] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('personal', 'project', 'group')", name="kind"),
        CheckConstraint(
            "(kind = 'personal' AND project_id IS NULL AND group_id IS NULL)"
            " OR (kind = 'project' AND project_id IS NOT NULL AND group_id IS NULL)"
            " OR (kind = 'group' AND group_id IS NOT NULL AND project_id IS NULL)",
            name="resource",
        ),
    )

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]


class CiProjectBinding(Base):
    """An admin's grant: jobs of CI project ``ci_project`` at ``issuer`` act on ``project_id`` as
    ``access_level``, through their OIDC ID tokens. ``user_id`` is the bot user they act as."""

    __tablename__ = "ci_project_bindings"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    ci_project: Mapped[str] = mapped_column(String(1000))
    ci_project_key: Mapped[str] = mapped_column(String(1000))
    """Lower-cased ``ci_project``: GitLab project paths are unique regardless of case."""
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    access_level: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("issuer", "ci_project_key"),
        CheckConstraint("access_level IN (10, 20, 30)", name="access_level"),
    )
