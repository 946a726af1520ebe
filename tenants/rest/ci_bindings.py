"""``/api/v4/admin/ci/bindings[/{binding_id}]``: which CI projects' jobs may act on which project.

GitLab has no such API (its MLflow routes take no CI credentials at all), so the path follows its
instance-admin convention (``/api/v4/admin/ci/variables``) and the shapes follow its style: GitLab's
``{"message"}`` errors, offset pagination, ``access_level`` numbers. Instance administrators only,
as ``mlgateway ci bind|unbind|list`` — a binding hands a project to a CI project of another system.

- ``GET`` lists (``?project_id=`` narrows to one project), ``GET …/{id}`` shows one;
- ``POST`` ``{issuer, ci_project, project_id (id or full path), access_level (default 30)}`` binds:
  201 with the new binding, or 200 when an identical binding only changed its role;
- ``DELETE …/{id}`` unbinds (204); the CI project's jobs are refused from then on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import InvalidParameter, NotFound
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from gateway.settings import Settings
from tenants import ci_bindings, repository
from tenants.authorization import require_admin, require_write_scope
from tenants.ci_bindings import BindingRecord
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import Params, access_level, integer, path_number, text
from tenants.rest.presenters import timestamp
from tenants.roles import Role
from tenants.tables import Project
from tenants.web import authenticate

BASE = "/api/v4/admin/ci/bindings"


def ci_binding_routes() -> list[Route]:
    return [
        Route(BASE, list_bindings, methods=["GET"]),
        Route(BASE, create_binding, methods=["POST"]),
        Route(BASE + "/{binding_id}", get_binding, methods=["GET"]),
        Route(BASE + "/{binding_id}", delete_binding, methods=["DELETE"]),
    ]


def present(record: BindingRecord) -> dict[str, Any]:
    return {**record.fields(), "created_at": timestamp(record.binding.created_at)}


async def list_bindings(request: Request) -> Response:
    require_admin(await authenticate(request))
    params = await request_params(request)
    page = page_request(params)
    project_id = integer(params, "project_id")

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        records, total = ci_bindings.bindings_page(session, page.window, project_id=project_id)
        return [present(record) for record in records], total

    items, total = await run_in_unit_of_work(request, work, write=False)
    return paginated(request, items, total, page)


async def get_binding(request: Request) -> Response:
    require_admin(await authenticate(request))
    binding_id = path_number(request.path_params["binding_id"], what="CI binding")

    def work(session: Session) -> dict[str, Any]:
        return present(ci_bindings.record_of(session, ci_bindings.find_binding(session, binding_id)))

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def create_binding(request: Request) -> Response:
    require_write_scope(require_admin(await authenticate(request)))
    params = await request_params(request)
    issuer = text(params, "issuer", required=True)
    ci_project = text(params, "ci_project", required=True)
    project_ref = _project_ref(params)
    role = access_level(params, default=Role.DEVELOPER)
    trusted = [issuer.issuer for issuer in _settings(request).ci_issuers]
    assert issuer is not None and ci_project is not None

    def work(session: Session) -> tuple[dict[str, Any], bool]:
        project = _project(session, project_ref)
        record, created = ci_bindings.bind(
            session, issuer=issuer, ci_project=ci_project, project=project, role=role, trusted_issuers=trusted
        )
        return present(record), created

    body, created = await run_in_unit_of_work(request, work, write=True)
    return JSONResponse(body, status_code=201 if created else 200)


async def delete_binding(request: Request) -> Response:
    require_write_scope(require_admin(await authenticate(request)))
    binding_id = path_number(request.path_params["binding_id"], what="CI binding")

    def work(session: Session) -> None:
        ci_bindings.unbind(session, ci_bindings.find_binding(session, binding_id))

    await run_in_unit_of_work(request, work, write=True)
    return Response(status_code=204)


def _project_ref(params: Params) -> str:
    value = params.get("project_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidParameter("project_id is missing: give the gateway project's id or full path")


def _project(session: Session, ref: str) -> Project:
    project = repository.project_by_ref(session, ref)
    if project is None:
        raise NotFound(f"404 Project Not Found: no project {ref!r}")
    return project


def _settings(request: Request) -> Settings:
    settings = request.state.settings
    assert isinstance(settings, Settings)
    return settings
