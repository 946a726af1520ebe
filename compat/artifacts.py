"""Which artifact root a request may touch: the run (candidate) it names, found only in its project.

A run of another project, a run under the wrong experiment and a missing run are one and the same
answer, 404, so ids never reveal anything outside the caller's project. The roots themselves
(storage keys) are the kernel's (``gateway.artifacts.keys``). Must not: touch HTTP or the store.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compat.candidates import experiment_of, get_candidate
from compat.registry.tables import ModelVersion
from compat.tables import Candidate
from gateway.artifacts.keys import ArtifactRoot, candidate_root
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
    """The root of GitLab's ``ml_models/<model version id>`` (its run's files) in ``project_id``."""
    if not (id_ref.isascii() and id_ref.isdigit()) or len(id_ref) > _MAX_IID_DIGITS:
        raise NotFound(f"Model version {id_ref!r} not found")
    iid = session.scalar(
        select(Candidate.iid)
        .join(ModelVersion, ModelVersion.candidate_id == Candidate.id)
        .where(ModelVersion.id == int(id_ref), ModelVersion.project_id == project_id)
    )
    if iid is None:
        raise NotFound(f"Model version {id_ref} not found")
    return candidate_root(project_id, iid)
