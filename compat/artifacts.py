"""Which artifact root a request may touch: the run (candidate) or MLflow 3 logged model it names,
found only in its project.

A run of another project, a run under the wrong experiment and a missing run are one and the same
answer, 404, so ids never reveal anything outside the caller's project. The roots themselves
(storage keys) are the kernel's (``gateway.artifacts.keys``). Must not: touch HTTP or the store.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compat.candidates import experiment_of, get_candidate
from compat.logged_models.models import find_model
from compat.logged_models.tables import LoggedModel, LoggedModelRegistration
from compat.registry.tables import ModelVersion
from compat.tables import Candidate, Experiment
from gateway.artifacts.keys import ArtifactRoot, candidate_root, logged_model_root
from gateway.errors import NotFound

_MAX_IID_DIGITS = 18  # a BIGINT; longer digit strings are simply not ids


def run_artifact_root(session: Session, project_id: int, experiment_ref: str, run_id: str) -> ArtifactRoot:
    """The root of ``<experiment_ref>/<run_id>/artifacts`` in ``project_id``, else ``NotFound``."""
    candidate = get_candidate(session, project_id, run_id)
    if str(experiment_of(session, candidate).iid) != experiment_ref:
        raise NotFound(f"Run with id={run_id} not found in experiment {experiment_ref}")
    return candidate_root(project_id, candidate.iid)


def candidate_artifact_root(session: Session, project_id: int, iid_ref: str) -> ArtifactRoot:
    """The root of GitLab's ``candidate:<iid>`` in ``project_id``, else ``NotFound``."""
    if not (iid_ref.isascii() and iid_ref.isdigit()) or len(iid_ref) > _MAX_IID_DIGITS:
        raise NotFound(f"Candidate {iid_ref!r} not found")
    # Kept here rather than in compat.repository: the one lookup by iid, used only for artifacts.
    iid = session.scalar(select(Candidate.iid).where(Candidate.project_id == project_id, Candidate.iid == int(iid_ref)))
    if iid is None:
        raise NotFound(f"Candidate {iid_ref} not found")
    return candidate_root(project_id, iid)


def version_artifact_root(session: Session, project_id: int, id_ref: str) -> ArtifactRoot:
    """The root of GitLab's ``ml_models/<model version id>`` in ``project_id``: its run's files, or
    its logged model's for a version registered from one (MLflow 3)."""
    if not (id_ref.isascii() and id_ref.isdigit()) or len(id_ref) > _MAX_IID_DIGITS:
        raise NotFound(f"Model version {id_ref!r} not found")
    found = session.execute(
        select(Candidate.iid, LoggedModel.eid)
        .join(ModelVersion, ModelVersion.candidate_id == Candidate.id)
        .outerjoin(LoggedModelRegistration, LoggedModelRegistration.version_id == ModelVersion.id)
        .outerjoin(LoggedModel, LoggedModel.id == LoggedModelRegistration.logged_model_id)
        .where(ModelVersion.id == int(id_ref), ModelVersion.project_id == project_id)
    ).first()
    if found is None:
        raise NotFound(f"Model version {id_ref} not found")
    iid, model_id = found
    return candidate_root(project_id, iid) if model_id is None else logged_model_root(project_id, model_id)


def logged_model_artifact_root(session: Session, project_id: int, experiment_ref: str, model_id: str) -> ArtifactRoot:
    """The root of ``<experiment_ref>/models/<model_id>/artifacts`` in ``project_id``, else ``NotFound``.

    A deleted logged model's files stay reachable (registry versions made from it still serve them),
    as a deleted run's do.
    """
    model = find_model(session, project_id, model_id, allow_deleted=True)
    experiment_iid = session.scalar(select(Experiment.iid).where(Experiment.id == model.experiment_id))
    if str(experiment_iid) != experiment_ref:
        raise NotFound(f"Logged model with ID '{model_id}' not found in experiment {experiment_ref}.")
    return logged_model_root(project_id, model.eid)
