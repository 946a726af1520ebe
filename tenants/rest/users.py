"""``/api/v4/user`` (who am I — what ``gl.auth()`` calls) and ``/api/v4/users`` (admins create people).

GitLab requires ``email``, ``username`` and ``name`` to create a user; a password is optional here
(people may work with tokens only), as are ``reset_password`` / ``force_random_password``, which
mean "no password" on a gateway that sends no e-mail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import InvalidParameter, NotFound
from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants import repository, users
from tenants.authorization import require_admin, require_write_scope
from tenants.rest import presenters
from tenants.rest.params import flag, path_number, text
from tenants.rest.scoping import base_url
from tenants.tables import User
from tenants.web import authenticate


async def current_user(request: Request) -> Response:
    principal = await authenticate(request)
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        user = repository.user_by_id(session, principal.user_id)
        assert user is not None, "the authenticator has just loaded this user"
        return _present(session, user, base, private=True, admin=principal.is_admin)

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def get_user(request: Request) -> Response:
    principal = await authenticate(request)
    user_id = path_number(request.path_params["user_id"], what="User")
    base = base_url(request)

    def work(session: Session) -> dict[str, Any]:
        user = repository.user_by_id(session, user_id)
        if user is None:
            raise NotFound("404 User Not Found")
        mine = user.id == principal.user_id
        return _present(session, user, base, private=mine or principal.is_admin, admin=principal.is_admin)

    return JSONResponse(await run_in_unit_of_work(request, work, write=False))


async def create_user(request: Request) -> Response:
    principal = require_admin(await authenticate(request))
    require_write_scope(principal)
    params = await request_params(request)
    missing = [key for key in ("email", "username", "name") if not params.get(key)]
    if missing:
        raise InvalidParameter(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    username, name, email = text(params, "username"), text(params, "name"), text(params, "email")
    password = text(params, "password") or None
    is_admin = flag(params, "admin")
    base = base_url(request)
    assert username is not None

    def work(session: Session) -> dict[str, Any]:
        user = users.create_user(session, username, name=name, email=email, is_admin=is_admin, password=password)
        return _present(session, user, base, private=True, admin=True)

    return JSONResponse(await run_in_unit_of_work(request, work, write=True), status_code=201)


def _present(session: Session, user: User, base: str, *, private: bool, admin: bool) -> dict[str, Any]:
    namespace = repository.user_namespace(session, user.id) if admin else None
    namespace_id = namespace.id if namespace else None
    return presenters.user(user, base, private=private, admin=admin, namespace_id=namespace_id)
