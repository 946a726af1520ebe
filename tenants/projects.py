"""Creating, updating, deleting and listing projects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import InvalidParameter
from tenants import repository
from tenants.members import find_member
from tenants.principal import Principal
from tenants.tables import Namespace, Project, User
from tenants.validation import check_artifacts_size, check_bool, check_name, check_path, check_visibility

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
    try:
        with session.begin_nested():  # a concurrent create of the same path loses here, not with a 500
            session.add(project)
            session.flush()
    except IntegrityError:
        raise InvalidParameter(f"path {full_path!r} has already been taken") from None
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
        elif key == "max_artifacts_size":
            project.max_artifacts_size = check_artifacts_size(value)
    project.updated_at = utcnow()
    session.flush()
    return project


def delete_project(session: Session, project: Project) -> None:
    """Its runs, models, tokens and CI bindings go by ON DELETE CASCADE; then the bots they acted as."""
    session.delete(project)
    session.flush()
    repository.delete_orphaned_bots(session)


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """A project with what its API shape needs: its namespace, the namespace's owner, display names."""

    project: Project
    namespace: Namespace
    owner: User | None
    """The person whose personal namespace holds the project; ``None`` in a group."""
    namespace_full_name: str
    """``"Top / Sub"`` (ancestor names joined)."""


def list_visible(
    session: Session, viewer: Principal, filters: repository.ProjectFilters, window: repository.Window
) -> tuple[list[ProjectRecord], int]:
    """One page of the projects ``viewer`` can read, and how many there are in all."""
    query = repository.visible_projects(viewer, utcnow().date(), filters)
    rows, total = repository.page_of(session, query, window)
    names = repository.full_names(session, (row[1].full_path for row in rows))
    records = [ProjectRecord(row[0], row[1], row[2], names[row[1].full_path.lower()]) for row in rows]
    return records, total


def project_record(session: Session, project_id: int) -> ProjectRecord:
    project = session.get(Project, project_id)
    assert project is not None, "callers pass an id that authorization has just resolved"
    namespace = session.get(Namespace, project.namespace_id)
    assert namespace is not None
    owner = session.get(User, namespace.owner_id) if namespace.owner_id is not None else None
    names = repository.full_names(session, [namespace.full_path])
    return ProjectRecord(project, namespace, owner, names[namespace.full_path.lower()])


def access_levels(session: Session, user_id: int, record: ProjectRecord) -> tuple[int | None, int | None]:
    """``(project access, group access)``: the direct (or personal-namespace) role, and the inherited one."""
    namespace = record.namespace
    direct = find_member(session, user_id, project_id=record.project.id, group_id=None)
    project_level = direct.access_level if direct is not None else None
    if namespace.kind == "user" and namespace.owner_id == user_id:
        project_level = 50
    group_level = None
    if namespace.kind == "group":
        group_level = repository.group_access_level(session, user_id, namespace, utcnow().date())
    return project_level, group_level
