"""Permanent removal of what was soft-deleted (MLflow's ``mlflow gc``): the database side.

Deleted runs and experiments whose ``deleted_time`` is at or before a cut-off are removed with all
their rows (metrics, params, tags, inputs cascade), and so are deleted MLflow 3 logged models last
changed before it. The caller removes their artifacts afterwards, using the ``(project, run iid)``
and ``(project, model id)`` pairs returned here, and sweeps artifacts whose owner is gone for any
other reason (a deleted model version, model or project) with ``live_run_iids`` and
``live_logged_model_ids``.

A logged model that a registry version was made from is kept, deleted or not, and so is its
experiment: the version serves the logged model's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from compat.logged_models.tables import LoggedModel, LoggedModelRegistration
from compat.registry.tables import Model
from compat.tables import Candidate, Experiment


@dataclass
class Purged:
    experiments: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)
    """``(project id, run iid)`` of every removed run: their artifacts go next."""
    logged_models: list[tuple[int, str]] = field(default_factory=list)
    """``(project id, model id)`` of every removed logged model: their artifacts go next."""


def purge_deleted(session: Session, *, deleted_before_ms: int, dry_run: bool = False) -> Purged:
    model_experiments = select(Model.experiment_id)
    registered = exists().where(LoggedModelRegistration.logged_model_id == LoggedModel.id)
    with_registered_models = select(LoggedModel.experiment_id).where(registered)
    experiments = select(Experiment.id).where(
        Experiment.lifecycle_stage == "deleted",
        Experiment.deleted_time <= deleted_before_ms,
        Experiment.id.not_in(model_experiments),
        Experiment.id.not_in(with_registered_models),
    )
    logged_models = select(LoggedModel.id, LoggedModel.project_id, LoggedModel.eid).where(
        or_(
            LoggedModel.experiment_id.in_(experiments),
            (LoggedModel.lifecycle_stage == "deleted") & (LoggedModel.last_update_time <= deleted_before_ms),
        ),
        ~registered,
    )
    runs = select(Candidate.id, Candidate.project_id, Candidate.iid).where(
        or_(
            Candidate.experiment_id.in_(experiments),
            (Candidate.lifecycle_stage == "deleted") & (Candidate.deleted_time <= deleted_before_ms),
        )
    )
    found = session.execute(runs).all()
    models = session.execute(logged_models).all()
    experiment_ids = list(session.scalars(experiments))
    purged = Purged(
        len(experiment_ids),
        [(row.project_id, row.iid) for row in found],
        [(row.project_id, row.eid) for row in models],
    )
    if not dry_run:
        session.execute(delete(LoggedModel).where(LoggedModel.id.in_([row.id for row in models])))
        session.execute(delete(Candidate).where(Candidate.id.in_([row.id for row in found])))
        session.execute(delete(Experiment).where(Experiment.id.in_(experiment_ids)))
    return purged


def live_run_iids(session: Session, project_id: int) -> set[int]:
    return set(session.scalars(select(Candidate.iid).where(Candidate.project_id == project_id)))


def live_logged_model_ids(session: Session, project_id: int) -> set[str]:
    """Every logged model with a row, deleted ones included (they wait for their cut-off)."""
    return set(session.scalars(select(LoggedModel.eid).where(LoggedModel.project_id == project_id)))
