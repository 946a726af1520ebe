"""The MLflow REST surface under ``/api/v4/projects/{project}/ml/mlflow``: the route table.

Each resource module lists its ``Endpoint``s; any other path under the prefix authenticates,
checks read access to the project, and answers 404 ``ENDPOINT_NOT_FOUND`` in MLflow's shape.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from compat.mlflow import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    model_packages,
    model_versions,
    registered_models,
    runs,
    searches,
)
from compat.mlflow.endpoint import MLFLOW_PREFIX as PREFIX
from compat.mlflow.endpoint import to_route
from gateway.errors import EndpointNotFound
from gateway.http import run_in_unit_of_work
from tenants.authorization import Permission
from tenants.web import authenticate, require_project

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
    endpoints = [*experiments.ENDPOINTS, *runs.ENDPOINTS, *metrics.ENDPOINTS, *searches.ENDPOINTS]
    endpoints += [*registered_models.ENDPOINTS, *model_versions.ENDPOINTS, *logged_models.ENDPOINTS]
    return [
        *map(to_route, endpoints),
        *artifacts.routes(),
        Route(PREFIX + "/{rest:path}", unknown_endpoint, methods=ALL_METHODS),
    ]


def package_routes() -> list[Route]:
    """GitLab's ``packages/ml_models`` file route (outside the MLflow prefix, GitLab's error dialect)."""
    return model_packages.routes()
