"""ML tracking tables in GitLab's vocabulary: experiments, candidates (runs) and their params,
metadata (tags) and metrics — full history plus the latest value per key, kept current on write.

Owns: the schema. Must not: hold queries (``compat.repository``) or MLflow wording beyond what the
columns store. Timestamps are epoch milliseconds (MLflow's unit) in BIGINT columns.

Metric values: PostgreSQL stores NaN and ±Infinity in DOUBLE PRECISION, SQLite turns NaN into NULL,
so NaN is kept as ``is_nan = true`` with ``value = 0`` on both (MLflow's own scheme).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from tenants.tables import BigIntId

LIFECYCLE_STAGES = ("active", "deleted")
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class ProjectCounter(Base):
    """Per-project sequences (experiment iids, candidate iids), bumped with UPDATE … RETURNING."""

    __tablename__ = "ml_project_counters"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Experiment(Base):
    __tablename__ = "ml_experiments"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    iid: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(500))
    lifecycle_stage: Mapped[str] = mapped_column(String(8), default="active")
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("project_id", "iid"),
        UniqueConstraint("project_id", "name"),
        CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name="lifecycle_stage"),
    )


class ExperimentTag(Base):
    __tablename__ = "ml_experiment_tags"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("ml_experiments.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Candidate(Base):
    """A run. ``eid`` is the MLflow ``run_id``; ``iid`` numbers runs per project."""

    __tablename__ = "ml_candidates"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    eid: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("ml_experiments.id", ondelete="CASCADE"))
    iid: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(10), default="RUNNING")
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    lifecycle_stage: Mapped[str] = mapped_column(String(8), default="active")
    deleted_time: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_name: Mapped[str] = mapped_column(String(255), default="")
    """What ``runs/get`` shows as ``user_id``: the gateway username (the principal is the user)."""
    ci_job_id: Mapped[int | None] = mapped_column(BigInteger)
    """The CI job that produced the run: the ``gitlab.CI_JOB_ID`` tag, typed (``compat.ci_jobs``)."""

    __table_args__ = (
        UniqueConstraint("project_id", "iid"),
        Index("ix_ml_candidates_experiment_start", "experiment_id", "start_time"),
        Index("ix_ml_candidates_project_ci_job", "project_id", "ci_job_id"),
        CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name="lifecycle_stage"),
        CheckConstraint("status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')", name="status"),
    )


class CandidateParam(Base):
    __tablename__ = "ml_candidate_params"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CandidateMetadata(Base):
    """A run tag (GitLab calls them candidate metadata)."""

    __tablename__ = "ml_candidate_metadata"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CandidateMetric(Base):
    """Every logged metric point: the history ``metrics/get-history`` pages through."""

    __tablename__ = "ml_candidate_metrics"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_ml_candidate_metrics_history", "candidate_id", "key", "step", "timestamp"),)


class CandidateLatestMetric(Base):
    """The latest point per (run, key) — MLflow's order: highest step, then timestamp, then value."""

    __tablename__ = "ml_candidate_latest_metrics"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_ml_latest_metrics_key_value", "key", "value"),)


class CandidateInput(Base):
    """A dataset logged as a run input (``runs/log-inputs``); one row per (run, dataset name, digest)."""

    __tablename__ = "ml_candidate_inputs"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    source_type: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    schema: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(String(500))
    """The ``mlflow.data.context`` input tag ("training", "eval"…), searchable as ``datasets.context``."""
    tags: Mapped[str] = mapped_column(Text, default="[]")
    """All input tags as a JSON list of ``[key, value]`` pairs, in the order they were logged."""

    __table_args__ = (UniqueConstraint("candidate_id", "name", "digest"),)


__all__ = [
    "LIFECYCLE_STAGES",
    "RUN_STATUSES",
    "Candidate",
    "CandidateInput",
    "CandidateLatestMetric",
    "CandidateMetadata",
    "CandidateMetric",
    "CandidateParam",
    "Experiment",
    "ExperimentTag",
    "ProjectCounter",
]
