"""``/api/v4/groups``: list, create, get and delete groups, GitLab's way.

Any signed-in person may create a top-level group (and becomes its Owner); a subgroup needs
Maintainer on the parent; deleting needs Owner. Listing follows GitLab's ``all_available`` default:
people see the groups they belong to, admins see every group.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import InvalidParameter, PermissionDenied
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import groups, projects, repository
from tenants.authorization import GroupPermission, require_group, require_write_scope
from tenants.rest import presenters
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import choice, flag, integer, text
from tenants.rest.scoping import base_url
from tenants.tables import Namespace
from tenants.validation import check_visibility, check_visibility_within
from tenants.web import authenticate

MAX_PROJECTS_IN_DETAIL = 100
"""GitLab lists at most this many projects inside a single group's answer."""


async def list_groups(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    page = page_request(params)
    filters = repository.GroupFilters(
        search=text(params, "search"),
        membership=not flag(params, "all_available", default=principal.is_admin),
        top_level_only=flag(params, "top_level_only"),
        order_by=choice(params, "order_by", tuple(repository.GROUP_ORDERS), "name"),
        descending=choice(params, "sort", ("asc", "desc"), "asc") == "desc",
    )
    base = base_url(request)

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        records, total = groups.list_visible(session, principal, filters, page.window)
        return [presenters.group(record, base) for record in records], total

    items, total = await run_in_unit_of_work(request, work, write=False)
    return paginated(request, items, total, page)


async def get_group(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    with_projects = flag(params, "with_projects", default=True)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        context = require_group(session, principal, request.path_params["group"], GroupPermission.READ_GROUP)
        detail: list[dict[str, Any]] = []
        if with_projects:
            filters = repository.ProjectFilters(namespace_id=context.group_id, order_by="id", descending=False)
            window = repository.Window(offset=0, limit=MAX_PROJECTS_IN_DETAIL)
            records, _ = projects.list_visible(session, principal, filters, window)
            detail = [presenters.project(record, base) for record in records]
        return presenters.group(groups.group_record(session, context.group_id), base, detail=detail)

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def create_group(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    missing = [key for key in ("name", "path") if not params.get(key)]
    if missing:
        raise InvalidParameter(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    name, path = text(params, "name"), text(params, "path")
    parent_id = integer(params, "parent_id")
    visibility = check_visibility(text(params, "visibility") or "private")
    description = text(params, "description") or ""
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        parent: Namespace | None = None
        if parent_id is not None:
            context = require_group(session, principal, str(parent_id), GroupPermission.CREATE_SUBGROUP)
            parent = session.get(Namespace, context.group_id)
            assert parent is not None
            check_visibility_within(visibility, parent.visibility, parent=f"parent group {parent.full_path!r}")
        else:
            if principal.is_bot:
                raise PermissionDenied("403 Forbidden: bot users cannot create top-level groups")
            require_write_scope(principal)
        assert path is not None
        group = groups.create_group(
            session,
            path,
            name=name,
            parent=parent,
            visibility=visibility,
            description=description,
            owner_id=principal.user_id,
        )
        return presenters.group(groups.group_record(session, group.id), base, detail=[])

    return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)


async def delete_group(request: Request) -> Response:
    principal = await authenticate(request)

    def work(session: Session) -> None:
        context = require_group(session, principal, request.path_params["group"], GroupPermission.ADMIN_GROUP)
        group = session.get(Namespace, context.group_id)
        assert group is not None
        groups.delete_group(session, group)

    await run_in_unit_of_work(request, work, write=True)
    return JSONResponse({"message": "202 Accepted"}, status_code=202)
