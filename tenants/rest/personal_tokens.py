"""Personal access tokens: ``/api/v4/users/{id}/personal_access_tokens`` (admins issue them) and
``/api/v4/personal_access_tokens[/{id|self}[/rotate]]`` (everyone manages their own).

A token that is not the caller's is answered exactly like a missing one (404), so token ids do not
leak; GitLab answers some of these with 401, which python-gitlab would mistake for a bad login.
``self`` is the credential of the request itself — also a project or group token's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.db import utcnow
from gateway.errors import InvalidParameter, NotFound, PermissionDenied
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import access_tokens, repository
from tenants.authorization import require_admin, require_write_scope
from tenants.principal import Principal
from tenants.rest import presenters
from tenants.rest.pagination import page_request, paginated
from tenants.rest.params import choice, integer, path_number, text
from tenants.rest.scoping import secret_key
from tenants.tables import AccessToken
from tenants.web import authenticate


async def create_for_user(request: Request) -> Response:
    principal = require_admin(await authenticate(request))
    require_write_scope(principal)
    user_id = path_number(request.path_params["user_id"], what="User")
    params = await request_params(request)
    name = text(params, "name", required=True)
    assert name is not None
    scopes, expires_at = params.get("scopes"), access_tokens.expiry_or_default(params.get("expires_at"))
    key = secret_key(request)

    def work(session: Session) -> dict[str, Any]:
        user = repository.user_by_id(session, user_id)
        if user is None:
            raise NotFound("404 User Not Found")
        if user.is_bot:
            raise InvalidParameter(f"{user.username} is a bot user: manage its tokens on its project or group")
        issued = access_tokens.issue_personal_token(session, key, user, name, scopes, expires_at)
        return presenters.issued_token(issued, now=utcnow())

    return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)


async def list_tokens(request: Request) -> Response:
    principal = await authenticate(request)
    params = await request_params(request)
    page = page_request(params)
    user_id = integer(params, "user_id")
    if user_id is not None and user_id != principal.user_id and not principal.is_admin:
        raise PermissionDenied("403 Forbidden: only administrators may list other users' tokens")
    owner = user_id if principal.is_admin else principal.user_id
    state = choice(params, "state", ("active", "inactive", ""), "") or None

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        tokens, total = access_tokens.personal_tokens_page(session, page.window, user_id=owner, state=state)
        now = utcnow()
        return [presenters.token(token, now=now) for token in tokens], total

    items, total = await run_in_unit_of_work(request, work, write=False)
    return paginated(request, items, total, page)


async def get_token(request: Request) -> Response:
    principal = await authenticate(request)

    def work(session: Session) -> dict[str, Any]:
        token = access_tokens.find_token_of(session, principal, _token_id(request, principal))
        return _present(session, token)

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def rotate_token(request: Request) -> Response:
    principal = await authenticate(request)
    require_write_scope(principal)
    params = await request_params(request)
    expires_at = params.get("expires_at")
    key = secret_key(request)

    def work(session: Session) -> dict[str, Any]:
        token = access_tokens.find_token_of(session, principal, _token_id(request, principal))
        issued = access_tokens.rotate(session, key, token, expires_at)
        return {**_present(session, issued.token), "token": issued.secret}

    return JSONResponse(await run_in_unit_of_work(request, work, write=True))


async def revoke_token(request: Request) -> Response:
    principal = await authenticate(request)
    if request.path_params["token_id"] != "self":
        # Revoking the very credential in hand can never widen access, so `self` needs no api scope.
        require_write_scope(principal)

    def work(session: Session) -> None:
        token = access_tokens.find_token_of(session, principal, _token_id(request, principal))
        access_tokens.revoke(session, token)

    await run_in_unit_of_work(request, work, write=True)
    return Response(status_code=204)


def _token_id(request: Request, principal: Principal) -> int:
    ref = str(request.path_params["token_id"])
    if ref != "self":
        return path_number(ref, what="Token")
    if principal.token_id is None:
        raise NotFound("404 Token Not Found: this request was signed in with a password, not a token")
    return principal.token_id


def _present(session: Session, token: AccessToken) -> dict[str, Any]:
    level = access_tokens.role_of_bot(session, token) if token.kind != "personal" else None
    return presenters.token(token, access_level=None if level is None else int(level), now=utcnow())
