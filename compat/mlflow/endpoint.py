"""The one shape of an MLflow handler: authenticate → parse → authorise → one unit of work → JSON.

A handler is a plain function ``(session, project, params) -> dict`` registered with the permission
it needs; this module does the rest, so no handler repeats auth, transactions or error rendering.
Success is always HTTP 200 (the MLflow client treats even 201 as an error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.http import JSONResponse, request_params, run_in_unit_of_work
from tenants.authorization import Permission, ProjectContext
from tenants.web import authenticate, require_project

Params = dict[str, Any]
Handler = Callable[[Session, ProjectContext, Params], dict[str, Any]]
MLFLOW_PREFIX = "/api/v4/projects/{project}/ml/mlflow"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """Below ``…/ml/mlflow``, e.g. ``/api/2.0/mlflow/experiments/create``."""
    handler: Handler
    permission: Permission

    @property
    def writes(self) -> bool:
        return self.permission.value.write


def to_route(endpoint: Endpoint) -> Route:
    async def call(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        # Path parameters (``logged-models/{model_id}``) win over the same names in the body.
        params.update({k: v for k, v in request.path_params.items() if k != "project"})

        def work(session: Session) -> dict[str, Any]:
            project = require_project(request, session, principal, endpoint.permission)
            return endpoint.handler(session, project, params)

        return JSONResponse(await run_in_unit_of_work(request, work, write=endpoint.writes))

    methods = [endpoint.method] + (["HEAD"] if endpoint.method == "GET" else [])
    return Route(MLFLOW_PREFIX + endpoint.path, call, methods=methods, name=endpoint.path)
