"""``/api/v4/{projects|groups}/{id}/members[/{user_id}]``: direct memberships, GitLab's way.

Anyone who can read the project or group may list its members; adding, changing and removing
needs project Maintainer or group Owner, and never reaches above the caller's own role
(``tenants.members`` enforces that). A member's ``id`` is the user's id, as python-gitlab expects.
"""

from __future__ import annotations

from datetime import date
from types import EllipsisType
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.db import utcnow
from gateway.errors import InvalidParameter, NotFound
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import members, repository
from tenants.rest import presenters
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import Params, access_level, integer, integers, path_number, text
from tenants.rest.scoping import Kind, base_url, resolve
from tenants.tables import User
from tenants.validation import check_expiry
from tenants.web import authenticate


def member_routes(kind: Kind) -> list[Route]:
    """The member routes of one kind of resource (the handlers close over ``kind``)."""
    base_path = f"/api/v4/{kind}/{{{kind[:-1]}}}/members"

    async def list_members(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        page, user_ids, base = page_request(params), integers(params, "user_ids"), base_url(request)

        def work(session: Session) -> tuple[list[dict[str, Any]], int]:
            target = resolve(request, session, principal, kind, manage=False)
            rows, total = members.page(
                session, page.window, project_id=target.project_id, group_id=target.group_id, user_ids=user_ids
            )
            return [presenters.member(member, user, base) for member, user in rows], total

        items, total = await run_in_unit_of_work(request, work, write=False)
        return paginated(request, items, total, page)

    async def get_member(request: Request) -> Response:
        principal = await authenticate(request)
        user_id, base = path_number(request.path_params["user_id"], what="Member"), base_url(request)

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=False)
            member = members.existing_member(session, user_id, project_id=target.project_id, group_id=target.group_id)
            return presenters.member(member, _user(session, user_id), base)

        return JSONResponse(await run_in_unit_of_work(request, work, write=False))

    async def add_member(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        role, expires_at, base = access_level(params), _expiry(params), base_url(request)
        user_id, username = integer(params, "user_id"), text(params, "username")
        if (user_id is None) == (username is None):
            raise InvalidParameter("give exactly one of user_id and username")

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=True)
            found = repository.user_by_id(session, user_id) if user_id is not None else None
            user = found or (repository.user_by_username(session, username) if username else None)
            if user is None:
                raise NotFound("404 User Not Found")
            if user.is_bot:
                # A token's bot would carry its token's reach into a second project or group.
                raise InvalidParameter(f"{user.username} is a bot user: only its own token's membership is allowed")
            member = members.add_member(
                session,
                user,
                role,
                project_id=target.project_id,
                group_id=target.group_id,
                granted_by=target.granted_by,
                expires_at=expires_at,
            )
            return presenters.member(member, user, base)

        return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)

    async def change_member(request: Request) -> Response:
        principal = await authenticate(request)
        user_id = path_number(request.path_params["user_id"], what="Member")
        params = await request_params(request)
        role, base = access_level(params), base_url(request)
        # Left out, the expiry stays as it is; given as null, it is cleared.
        expires_at: date | EllipsisType | None = _expiry(params) if "expires_at" in params else ...

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=True)
            member = members.change_member(
                session,
                user_id,
                role,
                project_id=target.project_id,
                group_id=target.group_id,
                granted_by=target.granted_by,
                expires_at=expires_at,
            )
            return presenters.member(member, _user(session, user_id), base)

        return JSONResponse(await run_in_unit_of_work(request, work, write=True))

    async def remove_member(request: Request) -> Response:
        principal = await authenticate(request)
        user_id = path_number(request.path_params["user_id"], what="Member")

        def work(session: Session) -> None:
            target = resolve(request, session, principal, kind, manage=True)
            members.remove_member(
                session, user_id, project_id=target.project_id, group_id=target.group_id, granted_by=target.granted_by
            )

        await run_in_unit_of_work(request, work, write=True)
        return Response(status_code=204)

    return [
        Route(base_path, list_members, methods=["GET"]),
        Route(base_path, add_member, methods=["POST"]),
        Route(base_path + "/{user_id}", get_member, methods=["GET"]),
        Route(base_path + "/{user_id}", change_member, methods=["PUT"]),
        Route(base_path + "/{user_id}", remove_member, methods=["DELETE"]),
    ]


def _expiry(params: Params) -> date | None:
    """A membership's ``expires_at`` (``YYYY-MM-DD``, not in the past), or ``None``."""
    return check_expiry(params.get("expires_at"), utcnow().date())


def _user(session: Session, user_id: int) -> User:
    user = repository.user_by_id(session, user_id)
    assert user is not None, "a membership's user exists (ON DELETE CASCADE)"
    return user
