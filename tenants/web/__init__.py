"""The tenancy side of a request: who is calling, and may they touch this project.

Handlers call ``authenticate(request)`` once, then ``require_project(request, session, …)`` inside
their unit of work. Both record ids (never secrets) on ``request.state`` for the access log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tenants.authentication import Authenticator, credentials_from_headers
from tenants.authorization import Permission, ProjectContext, require
from tenants.principal import Principal


async def authenticate(request: Request) -> Principal:
    authenticator = request.state.authenticator
    assert isinstance(authenticator, Authenticator)
    credentials = credentials_from_headers(request.headers)
    principal = authenticator.cached(credentials)
    if principal is None:
        principal = await run_in_threadpool(authenticator.authenticate, credentials)
    request.state.principal_id = principal.user_id
    request.state.token_id = principal.token_id
    return principal


def require_project(request: Request, session: Session, principal: Principal, permission: Permission) -> ProjectContext:
    context = require(session, principal, request.path_params["project"], permission, request.state.access_cache)
    request.state.project_id = context.project_id
    return context
