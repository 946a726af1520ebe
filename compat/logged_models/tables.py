"""Logged-model tables: the model, its tags, params and metrics, its links to runs and to the
registry versions made from it.

Owns: the schema. ``eid`` is MLflow's ``model_id`` (``m-<32 hex>``), unique across the instance and
never reused, so it also names the model's artifact folder. ``status`` keeps MLflow's
``LoggedModelStatus`` names (``PENDING``, ``READY``, ``FAILED``, ``UNSPECIFIED``); the wire form
(``LOGGED_MODEL_READY``…) is the presenter's business.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from tenants.tables import BigIntId

STATUSES = ("UNSPECIFIED", "PENDING", "READY", "FAILED")


class LoggedModel(Base):
    __tablename__ = "ml_logged_models"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    eid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("ml_experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    status_message: Mapped[str] = mapped_column(Text, default="")
    model_type: Mapped[str | None] = mapped_column(String(500))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("ml_candidates.id", ondelete="SET NULL"))
    """The source run (MLflow's ``source_run_id``), if the model was logged by one."""
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifecycle_stage: Mapped[str] = mapped_column(String(8), default="active")
    creation_time: Mapped[int] = mapped_column(BigInteger)
    last_update_time: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_ml_logged_models_experiment_name", "experiment_id", "name"),
        Index("ix_ml_logged_models_candidate", "candidate_id"),
        CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name="lifecycle_stage"),
        CheckConstraint("status IN ('UNSPECIFIED', 'PENDING', 'READY', 'FAILED')", name="status"),
    )


class LoggedModelTag(Base):
    __tablename__ = "ml_logged_model_tags"

    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey("ml_logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoggedModelParam(Base):
    __tablename__ = "ml_logged_model_params"

    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey("ml_logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LoggedModelMetric(Base):
    """A metric point a run logged with ``model_id`` (MLflow 3); the run's own history has it too."""

    __tablename__ = "ml_logged_model_metrics"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    logged_model_id: Mapped[int] = mapped_column(ForeignKey("ml_logged_models.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger, default=0)
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))

    __table_args__ = (
        # MLflow's primary key: one point per (model, key, timestamp, step, run); a repeat is dropped.
        UniqueConstraint(
            "logged_model_id", "key", "timestamp", "step", "candidate_id", name="uq_ml_logged_model_metrics_point"
        ),
        Index("ix_ml_logged_model_metrics_candidate", "candidate_id"),
    )


class CandidateModelLink(Base):
    """A run's ``outputs.model_outputs`` (``runs/outputs``) and ``inputs.model_inputs`` (``runs/log-inputs``)."""

    __tablename__ = "ml_candidate_model_links"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("ml_candidates.id", ondelete="CASCADE"), primary_key=True)
    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey("ml_logged_models.id", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(6), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)

    __table_args__ = (
        Index("ix_ml_candidate_model_links_model", "logged_model_id"),
        CheckConstraint("direction IN ('input', 'output')", name="direction"),
    )


class LoggedModelRegistration(Base):
    """A model version registered from a logged model (``models:/<model_id>``): its files are the model's."""

    __tablename__ = "ml_logged_model_registrations"

    version_id: Mapped[int] = mapped_column(ForeignKey("ml_model_versions.id", ondelete="CASCADE"), primary_key=True)
    logged_model_id: Mapped[int] = mapped_column(
        ForeignKey("ml_logged_models.id", ondelete="CASCADE", name="fk_ml_logged_model_registrations_model"), index=True
    )


__all__ = [
    "STATUSES",
    "CandidateModelLink",
    "LoggedModel",
    "LoggedModelMetric",
    "LoggedModelParam",
    "LoggedModelRegistration",
    "LoggedModelTag",
]
