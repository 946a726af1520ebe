"""``/api/v4/projects``: list, create, get, update (PUT) and delete projects, GitLab's way.

Reading needs visibility, updating Maintainer, deleting Owner; creating needs Developer in the target
group, or nothing more than an ``api`` credential in the caller's own namespace.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import InvalidParameter, NotFound, PermissionDenied
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import projects, repository
from tenants.authorization import GroupPermission, Permission, require_admin, require_group, require_write_scope
from tenants.principal import Principal
from tenants.rest import presenters
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import Params, choice, flag, integer, text
from tenants.rest.scoping import base_url
from tenants.tables import Namespace, Project
from tenants.validation import check_visibility, check_visibility_within, path_from_name
from tenants.web import authenticate, require_project

SETTINGS_ON_CREATE = (  # applied through update_project right after the project exists
    "model_experiments_access_level",
    "model_registry_access_level",
    "model_experiments_enabled",
    "model_registry_enabled",
    "max_artifacts_size",
)


async def list_projects(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    page = page_request(params)
    visibility = text(params, "visibility")
    filters = repository.ProjectFilters(
        search=text(params, "search"),
        visibility=check_visibility(visibility) if visibility else None,
        membership=flag(params, "membership"),
        owned=flag(params, "owned"),
        order_by=choice(params, "order_by", tuple(repository.PROJECT_ORDERS), "created_at"),
        descending=choice(params, "sort", ("asc", "desc"), "desc") == "desc",
    )
    simple, base = flag(params, "simple"), base_url(request)

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        records, total = projects.list_visible(session, principal, filters, page.window)
        return [presenters.project(record, base, simple=simple) for record in records], total

    items, total = await run_in_unit_of_work(request, work, write=False)
    return paginated(request, items, total, page)


async def get_project(request: Request) -> Response:
    principal = await authenticate(request)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        context = require_project(request, session, principal, Permission.READ_PROJECT)
        record = projects.project_record(session, context.project_id)
        levels = projects.access_levels(session, principal.user_id, record)
        if principal.ci is not None and context.role is not None:
            levels = (int(context.role), None)  # a CI job's role is its binding's, not a membership
        return {**presenters.project(record, base), "permissions": presenters.permissions(*levels)}

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def create_project(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    name, path = text(params, "name"), text(params, "path")
    if not name and not path:
        raise InvalidParameter("name and path are missing: give at least one of them")
    path = path or path_from_name(name or "")
    namespace_ref = _namespace_ref(params)
    visibility = check_visibility(text(params, "visibility") or "private")
    description = text(params, "description") or ""
    features = {key: params[key] for key in SETTINGS_ON_CREATE if key in params}
    _check_admin_only(principal, params)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        namespace = _target_namespace(session, principal, namespace_ref)
        if namespace.kind == "group":
            check_visibility_within(visibility, namespace.visibility, parent=f"group {namespace.full_path!r}")
        project = projects.create_project(
            session,
            namespace,
            path,
            name=name,
            visibility=visibility,
            description=description,
            creator_id=principal.user_id,
        )
        if features:
            projects.update_project(session, project, features)
        return presenters.project(projects.project_record(session, project.id), base)

    return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)


async def update_project(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        context = require_project(request, session, principal, Permission.ADMIN_PROJECT)
        _check_admin_only(principal, params)
        record = projects.project_record(session, context.project_id)
        _check_unsupported_changes(record.project, params)
        visibility = params.get("visibility")
        if visibility is not None and record.namespace.kind == "group":
            check_visibility_within(
                check_visibility(visibility),
                record.namespace.visibility,
                parent=f"group {record.namespace.full_path!r}",
            )
        projects.update_project(session, record.project, params)
        return presenters.project(projects.project_record(session, context.project_id), base)

    return JSONResponse(await run_in_unit_of_work(request, work, write=True))


async def delete_project(request: Request) -> Response:
    principal = await authenticate(request)

    def work(session: Session) -> None:
        context = require_project(request, session, principal, Permission.DELETE_PROJECT)
        project = session.get(Project, context.project_id)
        assert project is not None
        projects.delete_project(session, project)

    await run_in_unit_of_work(request, work, write=True)
    return JSONResponse({"message": "202 Accepted"}, status_code=202)


def _namespace_ref(params: Params) -> str | None:
    """``namespace_id`` (GitLab also takes a namespace's full path there)."""
    value = params.get("namespace_id")
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    number = integer(params, "namespace_id")
    return None if number is None else str(number)


def _target_namespace(session: Session, principal: Principal, ref: str | None) -> Namespace:
    """Where the new project goes: a group needs Developer there; one's own namespace needs only ``api``."""
    if ref is None:
        if principal.is_bot:
            raise PermissionDenied("403 Forbidden: bot users have no personal namespace; give a namespace_id")
        require_write_scope(principal)
        own = repository.user_namespace(session, principal.user_id)
        assert own is not None, "every person has a personal namespace"
        return own
    namespace = repository.namespace_by_ref(session, ref)
    if namespace is None or namespace.kind == "group":
        # require_group answers missing and invisible groups with one 404, as GitLab does.
        group = require_group(session, principal, ref, GroupPermission.CREATE_PROJECT)
        found = session.get(Namespace, group.group_id)
        assert found is not None
        return found
    if namespace.owner_id == principal.user_id or principal.is_admin:
        require_write_scope(principal)
        return namespace
    raise NotFound(f"404 Namespace Not Found: no namespace {ref!r} you can create projects in")


def _check_admin_only(principal: Principal, params: Params) -> None:
    """As on GitLab, only an instance administrator sets a project's ``max_artifacts_size``."""
    if "max_artifacts_size" in params:
        require_admin(principal)


def _check_unsupported_changes(project: Project, params: Params) -> None:
    """Renames and transfers would move MLflow data and URLs; refuse them instead of ignoring them."""
    path = params.get("path")
    if path is not None and path != project.path:
        raise InvalidParameter("changing a project's path is not supported; create a new project instead")
    for key in ("namespace", "namespace_id"):
        if key in params:
            raise InvalidParameter(f"{key}: transferring a project to another namespace is not supported")
