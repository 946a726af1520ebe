"""Creating, updating and deleting projects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import InvalidParameter
from tenants import repository
from tenants.tables import Namespace, Project
from tenants.validation import check_bool, check_name, check_path, check_visibility

UPDATABLE = ("name", "description", "visibility", "model_experiments_enabled", "model_registry_enabled")


def create_project(
    session: Session,
    namespace: Namespace,
    path: str,
    *,
    name: str | None = None,
    visibility: str = "private",
    description: str = "",
    creator_id: int | None = None,
) -> Project:
    check_path(path)
    full_path = f"{namespace.full_path}/{path}"
    if repository.path_taken(session, full_path):
        raise InvalidParameter(f"path {full_path!r} has already been taken")
    project = Project(
        namespace_id=namespace.id,
        name=check_name(name or path),
        path=path,
        full_path=full_path,
        full_path_key=full_path.lower(),
        visibility=check_visibility(visibility),
        description=description,
        creator_id=creator_id,
    )
    session.add(project)
    session.flush()
    return project


def update_project(session: Session, project: Project, changes: Mapping[str, Any]) -> Project:
    """Apply GitLab-style attribute changes; ``*_access_level`` switches map to the feature booleans."""
    for key, value in changes.items():
        if key == "name":
            project.name = check_name(value)
        elif key == "description":
            if not isinstance(value, str):
                raise InvalidParameter("description must be a string")
            project.description = value
        elif key == "visibility":
            project.visibility = check_visibility(value)
        elif key in ("model_experiments_access_level", "model_registry_access_level"):
            if value not in ("disabled", "private", "enabled"):
                raise InvalidParameter(f"{key} must be disabled, private or enabled")
            setattr(project, key.replace("_access_level", "_enabled"), value != "disabled")
        elif key in ("model_experiments_enabled", "model_registry_enabled"):
            setattr(project, key, check_bool(value, what=key))
    project.updated_at = utcnow()
    session.flush()
    return project


def delete_project(session: Session, project: Project) -> None:
    session.delete(project)
    session.flush()
