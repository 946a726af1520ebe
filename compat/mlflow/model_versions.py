"""MLflow ``model-versions/*`` endpoints (parse → one service call → present).

``source``, ``run_id``, ``run_link`` and ``await_creation_for`` on create are accepted and ignored
(GitLab's documented caveat; ``source=""`` is fine): every version gets a fresh run of its own,
whose ``run_id`` the response carries, and its files are logged there. MLflow 3's ``model_id``
(``register_model("models:/<model_id>")``) is the exception: the version then serves that logged
model's files. ``version`` in requests may
be the sequence number or the SemVer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from compat.logged_models import models as logged_models
from compat.mlflow import params as p
from compat.mlflow import registry_presenters as present
from compat.mlflow import registry_search
from compat.mlflow.endpoint import Endpoint, Params, listed, one
from compat.mlflow.registered_models import model_of
from compat.registry import search, versions, views
from compat.registry.tables import ModelVersion
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_REGISTRY
WRITE = Permission.WRITE_MODEL_REGISTRY
DEFAULT_MAX_RESULTS = 10_000  # MLflow's default page for model versions
MAX_RESULTS_LIMIT = 200_000


def _version(session: Session, project: ProjectContext, params: Params) -> ModelVersion:
    model = model_of(session, project, params)
    return versions.find_version(session, model, p.required_str_or_int(params, "version"))


def _present(session: Session, version: ModelVersion) -> dict[str, Any]:
    return {"model_version": present.model_version(views.version_view(session, version))}


def create(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    tags = p.key_values(params, "tags", what="tag", limit=p.MAX_TAG_VALUE_LENGTH)
    description = p.optional_str(params, "description") or ""
    source = p.optional_str(params, "source") or ""
    model_id = p.optional_str(params, "model_id") or None
    model = model_of(session, project, params)
    # MLflow 3's register_model("models:/<model_id>"): the version's files are that logged model's.
    logged_model = logged_models.find_model(session, project.project_id, model_id) if model_id else None
    version = versions.create_version(
        session,
        model,
        user_id=project.principal.user_id,
        user_name=project.principal.username,
        description=description,
        tags=tags,
        source=source,
        ci=project.principal.ci,
        logged_model=logged_model,
    )
    return _present(session, version)


def get(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    return _present(session, _version(session, project, params))


def update(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    description = p.optional_str(params, "description")
    version = _version(session, project, params)
    versions.update_version(session, version, description)
    return _present(session, version)


def delete(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    versions.delete_version(session, _version(session, project, params))
    return {}


def transition_stage(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """Stages are not part of GitLab's registry: accepted, and the version is returned unchanged."""
    p.required_str(params, "stage")
    return _present(session, _version(session, project, params))


def download_uri(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    view = views.version_view(session, _version(session, project, params))
    return {"artifact_uri": present.version_artifact_uri(view)}


def set_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key, value = p.tag(params)
    versions.set_tag(session, _version(session, project, params), key, value)
    return {}


def delete_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.required_str(params, "key")
    versions.delete_tag(session, _version(session, project, params), key)
    return {}


def search_versions(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    request = registry_search.parse(
        params, search.VERSIONS, kind="versions", default=DEFAULT_MAX_RESULTS, limit=MAX_RESULTS_LIMIT
    )
    rows = search.search_versions(
        session, project.project_id, request.clauses, request.orders, request.offset, request.limit + 1
    )
    return request.answer(
        "model_versions",
        [version for version, _, _ in rows],
        lambda page: [present.model_version(v) for v in views.version_views(session, page)],
    )


BASE = "/api/2.0/mlflow/model-versions"
ENDPOINTS = [
    Endpoint("POST", f"{BASE}/create", create, WRITE, rows=listed("tags")),
    Endpoint("GET", f"{BASE}/get", get, READ),
    Endpoint("PATCH", f"{BASE}/update", update, WRITE),
    Endpoint("DELETE", f"{BASE}/delete", delete, WRITE),
    Endpoint("POST", f"{BASE}/transition-stage", transition_stage, WRITE),
    Endpoint("GET", f"{BASE}/get-download-uri", download_uri, READ),
    Endpoint("POST", f"{BASE}/set-tag", set_tag, WRITE, rows=one("tags")),
    Endpoint("DELETE", f"{BASE}/delete-tag", delete_tag, WRITE),
    Endpoint("GET", f"{BASE}/search", search_versions, READ),
]
