"""MLflow ``experiments/*`` endpoints (parse → one service call → present)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from compat import experiments as service
from compat.mlflow import params as p
from compat.mlflow import presenters
from compat.mlflow.endpoint import Endpoint, Params, listed, one
from compat.tables import Experiment
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_EXPERIMENTS
WRITE = Permission.WRITE_MODEL_EXPERIMENTS


def _present(session: Session, experiment: Experiment) -> dict[str, Any]:
    tags = service.tags_of(session, [experiment])[experiment.id]
    return {"experiment": presenters.experiment(experiment, tags)}


def _experiment(session: Session, project: ProjectContext, params: Params) -> Experiment:
    return service.get_experiment(session, project.project_id, p.entity_id(params, "experiment_id"))


def create(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    # artifact_location is accepted and ignored (documented): artifacts live in the gateway's store.
    name = p.required_str(params, "name")
    tags = p.key_values(params, "tags", what="tag", limit=p.MAX_TAG_VALUE_LENGTH)
    experiment = service.create_experiment(session, project.project_id, project.principal.user_id, name, tags)
    return {"experiment_id": str(experiment.iid)}


def get(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    return _present(session, _experiment(session, project, params))


def get_by_name(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    name = p.required_str(params, "experiment_name")
    return _present(session, service.get_experiment_by_name(session, project.project_id, name))


def update(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    new_name = p.optional_str(params, "new_name")
    experiment = _experiment(session, project, params)
    if new_name is not None:
        service.rename_experiment(session, experiment, new_name)
    return {}


def delete(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    service.delete_experiment(session, _experiment(session, project, params))
    return {}


def restore(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    service.restore_experiment(session, _experiment(session, project, params))
    return {}


def set_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key, value = p.tag(params)
    service.set_experiment_tag(session, _experiment(session, project, params), key, value)
    return {}


def delete_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.required_str(params, "key")
    service.delete_experiment_tag(session, _experiment(session, project, params), key)
    return {}


def list_all(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """MLflow 1.x ``experiments/list`` (GitLab keeps it): every experiment of the view type."""
    view_type = p.view_type(params, "view_type")
    rows = service.list_experiments(session, project.project_id, view_type)
    tags = service.tags_of(session, rows)
    return {"experiments": [presenters.experiment(row, tags[row.id]) for row in rows]}


BASE = "/api/2.0/mlflow/experiments"
ENDPOINTS = [
    Endpoint("POST", f"{BASE}/create", create, WRITE, rows=listed("tags"), quick=True),
    Endpoint("GET", f"{BASE}/get", get, READ, quick=True),
    Endpoint("GET", f"{BASE}/get-by-name", get_by_name, READ, quick=True),
    Endpoint("POST", f"{BASE}/update", update, WRITE, quick=True),
    Endpoint("POST", f"{BASE}/delete", delete, WRITE),
    Endpoint("POST", f"{BASE}/restore", restore, WRITE),
    Endpoint("POST", f"{BASE}/set-experiment-tag", set_tag, WRITE, rows=one("tags"), quick=True),
    Endpoint("POST", f"{BASE}/delete-tag", delete_tag, WRITE, quick=True),
    Endpoint("GET", f"{BASE}/list", list_all, READ),
]
