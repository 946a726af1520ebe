"""MLflow ``registered-models/*`` endpoints (parse → one service call → present).

``tags`` on create are accepted and ignored, as GitLab documents; ``stages`` on
``get-latest-versions`` too (the latest is the highest SemVer).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from compat.mlflow import params as p
from compat.mlflow import registry_presenters as present
from compat.mlflow import registry_search
from compat.mlflow.endpoint import Endpoint, Params, listed, one
from compat.registry import models, search, versions, views
from compat.registry.tables import Model
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_REGISTRY
WRITE = Permission.WRITE_MODEL_REGISTRY
DEFAULT_MAX_RESULTS = 100  # MLflow's default page for registered models
MAX_RESULTS_LIMIT = 1000


def model_of(session: Session, project: ProjectContext, params: Params) -> Model:
    return models.get_model(session, project.project_id, p.required_str(params, "name"))


def _present(session: Session, model: Model) -> dict[str, Any]:
    return {"registered_model": present.registered_model(views.model_view(session, model))}


def create(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    name = p.required_str(params, "name")
    description = p.optional_str(params, "description") or ""
    model = models.create_model(session, project.project_id, project.principal.user_id, name, description)
    return _present(session, model)


def get(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    return _present(session, model_of(session, project, params))


def rename(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    new_name = p.required_str(params, "new_name")
    model = model_of(session, project, params)
    models.rename_model(session, model, new_name)
    return _present(session, model)


def update(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    description = p.optional_str(params, "description")
    model = model_of(session, project, params)
    models.update_model(session, model, description)
    return _present(session, model)


def delete(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    models.delete_model(session, model_of(session, project, params))
    return {}


def latest_versions(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    latest = versions.latest_version(session, model_of(session, project, params))
    return {
        "model_versions": [present.model_version(v) for v in views.version_views(session, [latest] if latest else [])]
    }


def set_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key, value = p.tag(params)
    models.set_tag(session, model_of(session, project, params), key, value)
    return {}


def delete_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.required_str(params, "key")
    models.delete_tag(session, model_of(session, project, params), key)
    return {}


def set_alias(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    alias = p.required_str(params, "alias")
    model = model_of(session, project, params)
    version = versions.find_version(session, model, p.required_str(params, "version"))
    models.set_alias(session, model, alias, version)
    return {}


def delete_alias(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    alias = p.required_str(params, "alias")
    models.delete_alias(session, model_of(session, project, params), alias)
    return {}


def get_by_alias(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    alias = p.required_str(params, "alias")
    version = versions.find_by_alias(session, model_of(session, project, params), alias)
    return {"model_version": present.model_version(views.version_view(session, version))}


def search_models(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    request = registry_search.parse(
        params, search.MODELS, kind="models", default=DEFAULT_MAX_RESULTS, limit=MAX_RESULTS_LIMIT
    )
    rows = search.search_models(
        session, project.project_id, request.clauses, request.orders, request.offset, request.limit + 1
    )
    return request.answer(
        "registered_models", rows, lambda page: [present.registered_model(v) for v in views.model_views(session, page)]
    )


BASE = "/api/2.0/mlflow/registered-models"
ENDPOINTS = [
    Endpoint("POST", f"{BASE}/create", create, WRITE, rows=listed("tags")),
    Endpoint("GET", f"{BASE}/get", get, READ),
    Endpoint("POST", f"{BASE}/rename", rename, WRITE),
    Endpoint("PATCH", f"{BASE}/update", update, WRITE),
    Endpoint("DELETE", f"{BASE}/delete", delete, WRITE),
    Endpoint("GET", f"{BASE}/search", search_models, READ),
    Endpoint("POST", f"{BASE}/get-latest-versions", latest_versions, READ),
    Endpoint("GET", f"{BASE}/get-latest-versions", latest_versions, READ),
    Endpoint("POST", f"{BASE}/set-tag", set_tag, WRITE, rows=one("tags")),
    Endpoint("DELETE", f"{BASE}/delete-tag", delete_tag, WRITE),
    Endpoint("POST", f"{BASE}/alias", set_alias, WRITE),
    Endpoint("DELETE", f"{BASE}/alias", delete_alias, WRITE),
    Endpoint("GET", f"{BASE}/alias", get_by_alias, READ),
]
