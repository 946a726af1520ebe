"""Registry tables: models, their tags and aliases, versions and their tags.

Owns: the schema. A version keeps its SemVer as text plus parsed parts for ordering (prerelease
versions sort before their release, as SemVer says) and a per-model ``sequence`` number — the
integer MLflow clients see as ``version``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from tenants.tables import BigIntId


class Model(Base):
    __tablename__ = "ml_models"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    experiment_id: Mapped[int] = mapped_column(ForeignKey("ml_experiments.id", ondelete="RESTRICT"), unique=True)
    """The ``[model]<name>`` experiment that holds the versions' candidates."""
    version_counter: Mapped[int] = mapped_column(BigInteger, default=0)
    """Last ``sequence`` handed out; bumped with UPDATE … RETURNING, which also serialises version creation."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("project_id", "name"),)


class ModelTag(Base):
    __tablename__ = "ml_model_tags"

    model_id: Mapped[int] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelVersion(Base):
    __tablename__ = "ml_model_versions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str] = mapped_column(String(255))
    semver_major: Mapped[int] = mapped_column(BigInteger)
    semver_minor: Mapped[int] = mapped_column(BigInteger)
    semver_patch: Mapped[int] = mapped_column(BigInteger)
    semver_is_release: Mapped[int] = mapped_column(Integer)
    """1 for a release, 0 for a prerelease: ``1.0.0-rc1`` sorts below ``1.0.0``."""
    semver_prerelease: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    """What the client sent as ``source``: kept for reference, never used to find files."""
    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="RESTRICT"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_name: Mapped[str] = mapped_column(String(255), default="")
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        UniqueConstraint("model_id", "sequence"),
        Index(
            "ix_ml_model_versions_semver",
            "model_id",
            "semver_major",
            "semver_minor",
            "semver_patch",
            "semver_is_release",
        ),
    )


class ModelVersionTag(Base):
    __tablename__ = "ml_model_version_tags"

    version_id: Mapped[int] = mapped_column(ForeignKey("ml_model_versions.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelAlias(Base):
    __tablename__ = "ml_model_aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("ml_models.id", ondelete="CASCADE"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("ml_model_versions.id", ondelete="CASCADE"))


__all__ = ["Model", "ModelAlias", "ModelTag", "ModelVersion", "ModelVersionTag"]
