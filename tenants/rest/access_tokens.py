"""``/api/v4/{projects|groups}/{id}/access_tokens[/{token_id}[/rotate]]``: project and group tokens.

Each token acts as a bot user who is a member with the token's ``access_level`` (GitLab's default:
40, Maintainer). Managing them — listing included, as in GitLab — needs project Maintainer or group
Owner, and nobody issues or rotates a token whose role is above their own. The secret appears only
in the create and rotate answers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.db import utcnow
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import access_tokens
from tenants.rest import presenters
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import access_level, choice, path_number, text
from tenants.rest.scoping import Kind, Target, resolve, secret_key
from tenants.roles import Role
from tenants.tables import AccessToken
from tenants.web import authenticate

DEFAULT_ACCESS_LEVEL = Role.MAINTAINER


def access_token_routes(kind: Kind) -> list[Route]:
    """The token routes of one kind of resource (the handlers close over ``kind``)."""
    base_path = f"/api/v4/{kind}/{{{kind[:-1]}}}/access_tokens"

    async def list_tokens(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        page = page_request(params)
        state = choice(params, "state", ("active", "inactive", ""), "") or None

        def work(session: Session) -> tuple[list[dict[str, Any]], int]:
            target = resolve(request, session, principal, kind, manage=True)
            rows, total = access_tokens.resource_tokens_page(
                session, page.window, project_id=target.project_id, group_id=target.group_id, state=state
            )
            now = utcnow()
            return [presenters.token(token, access_level=level, now=now) for token, level in rows], total

        items, total = await run_in_unit_of_work(request, work, write=False)
        return paginated(request, items, total, page)

    async def create_token(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        name = text(params, "name", required=True)
        assert name is not None
        role = access_level(params, default=DEFAULT_ACCESS_LEVEL)
        scopes, expires_at = params.get("scopes"), access_tokens.expiry_or_default(params.get("expires_at"))
        key = secret_key(request)

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=True)
            issue = access_tokens.issue_project_token if kind == "projects" else access_tokens.issue_group_token
            resource_id = target.project_id if kind == "projects" else target.group_id
            assert resource_id is not None
            issued = issue(
                session, key, resource_id, name, scopes, role, granted_by=target.granted_by, expires_at=expires_at
            )
            return presenters.issued_token(issued, now=utcnow())

        return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)

    async def get_token(request: Request) -> Response:
        principal = await authenticate(request)

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=True)
            token = _find(session, request, target)
            level = access_tokens.role_of_bot(session, token)
            return presenters.token(token, access_level=None if level is None else int(level), now=utcnow())

        return JSONResponse(await run_in_unit_of_work(request, work, write=False))

    async def rotate_token(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        expires_at, key = params.get("expires_at"), secret_key(request)

        def work(session: Session) -> dict[str, Any]:
            target = resolve(request, session, principal, kind, manage=True)
            token = _find(session, request, target)
            issued = access_tokens.rotate_resource_token(
                session, key, token, granted_by=target.granted_by, expires_at=expires_at
            )
            return presenters.issued_token(issued, now=utcnow())

        return JSONResponse(await run_in_unit_of_work(request, work, write=True))

    async def revoke_token(request: Request) -> Response:
        principal = await authenticate(request)

        def work(session: Session) -> None:
            target = resolve(request, session, principal, kind, manage=True)
            access_tokens.revoke(session, _find(session, request, target))

        await run_in_unit_of_work(request, work, write=True)
        return Response(status_code=204)

    return [
        Route(base_path, list_tokens, methods=["GET"]),
        Route(base_path, create_token, methods=["POST"]),
        Route(base_path + "/{token_id}", get_token, methods=["GET"]),
        Route(base_path + "/{token_id}", revoke_token, methods=["DELETE"]),
        Route(base_path + "/{token_id}/rotate", rotate_token, methods=["POST"]),
    ]


def _find(session: Session, request: Request, target: Target) -> AccessToken:
    token_id = path_number(request.path_params["token_id"], what="Token")
    return access_tokens.find_resource_token(session, token_id, project_id=target.project_id, group_id=target.group_id)
