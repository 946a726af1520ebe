"""Permanent removal of what was soft-deleted (MLflow's ``mlflow gc``): the database side.

Deleted runs and experiments whose ``deleted_time`` is at or before a cut-off are removed with all
their rows (metrics, params, tags, inputs cascade). The caller removes their artifacts afterwards,
using the ``(project, run iid)`` pairs returned here, and sweeps artifacts whose run is gone for
any other reason (a deleted model version, model or project) with ``live_run_iids``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from compat.registry.tables import Model
from compat.tables import Candidate, Experiment


@dataclass
class Purged:
    experiments: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)
    """``(project id, run iid)`` of every removed run: their artifacts go next."""


def purge_deleted(session: Session, *, deleted_before_ms: int, dry_run: bool = False) -> Purged:
    model_experiments = select(Model.experiment_id)
    experiments = select(Experiment.id).where(
        Experiment.lifecycle_stage == "deleted",
        Experiment.deleted_time <= deleted_before_ms,
        Experiment.id.not_in(model_experiments),
    )
    runs = select(Candidate.id, Candidate.project_id, Candidate.iid).where(
        or_(
            Candidate.experiment_id.in_(experiments),
            (Candidate.lifecycle_stage == "deleted") & (Candidate.deleted_time <= deleted_before_ms),
        )
    )
    found = session.execute(runs).all()
    experiment_ids = list(session.scalars(experiments))
    purged = Purged(len(experiment_ids), [(row.project_id, row.iid) for row in found])
    if not dry_run:
        session.execute(delete(Candidate).where(Candidate.id.in_([row.id for row in found])))
        session.execute(delete(Experiment).where(Experiment.id.in_(experiment_ids)))
    return purged


def live_run_iids(session: Session, project_id: int) -> set[int]:
    return set(session.scalars(select(Candidate.iid).where(Candidate.project_id == project_id)))
