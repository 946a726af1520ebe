"""The MLflow REST surface under ``/api/v4/projects/{project}/ml/mlflow``.

For now only the envelope: every path under the prefix authenticates, checks read access to the
project, and answers 404 ``ENDPOINT_NOT_FOUND`` in MLflow's shape. Resource modules (experiments,
runs, registry, artifacts) register their routes ahead of this catch-all.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import EndpointNotFound
from gateway.http import run_in_unit_of_work
from tenants.authorization import Permission
from tenants.web import authenticate, require_project

PREFIX = "/api/v4/projects/{project}/ml/mlflow"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


async def unknown_endpoint(request: Request) -> Response:
    principal = await authenticate(request)
    await run_in_unit_of_work(
        request,
        lambda session: require_project(request, session, principal, Permission.READ_MODEL_EXPERIMENTS),
        write=False,
    )
    raise EndpointNotFound(f"no MLflow endpoint {request.method} /{request.path_params['rest']} on this gateway")


def mlflow_routes() -> list[Route]:
    return [Route(PREFIX + "/{rest:path}", unknown_endpoint, methods=ALL_METHODS)]
