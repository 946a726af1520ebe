"""GitLab's model package route: ``/api/v4/projects/{project}/packages/ml_models/{id}/files/{path}``.

GitLab's own artifact URIs point here (``…/packages/ml_models/candidate:<iid>/files/``), so scripts
written against GitLab keep working: ``PUT`` a raw body (201 ``{"message": "201 Created"}``, as
GitLab answers) and ``GET`` it back, stored under the same keys as the MLflow artifact proxy.
Errors use GitLab's ``{"message": …}`` dialect (chosen by path in ``gateway.http``).

``{id}`` is ``candidate:<iid>`` (a run, by its per-project iid; the experiment permissions apply,
as for the same run's files through the MLflow routes) or a model version's id (the files of the
version's run; the model-registry permissions apply).
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from compat import artifacts
from compat.mlflow.artifact_transfer import (
    enforce_directory_caveat,
    receive_body,
    refuse_encoded_separators,
    send_object,
    store_of,
)
from gateway.artifacts import ArtifactRoot, RelativePath, relative_path
from gateway.errors import NotFound
from gateway.http import JSONResponse, run_in_unit_of_work
from tenants.authorization import Permission
from tenants.web import authenticate, require_project

PATH = "/api/v4/projects/{project}/packages/ml_models/{package}/files/{path:path}"
CANDIDATE_PREFIX = "candidate:"


async def _locate(request: Request, *, write: bool) -> tuple[ArtifactRoot, RelativePath, int | None]:
    principal = await authenticate(request)
    package = request.path_params["package"]
    if package.startswith(CANDIDATE_PREFIX):
        permission = Permission.WRITE_MODEL_EXPERIMENTS if write else Permission.READ_MODEL_EXPERIMENTS
    else:
        permission = Permission.WRITE_MODEL_REGISTRY if write else Permission.READ_MODEL_REGISTRY

    def work(session: Session) -> tuple[ArtifactRoot, RelativePath, int | None]:
        project = require_project(request, session, principal, permission)
        refuse_encoded_separators(request, b"/files/")
        path = relative_path(request.path_params["path"])
        if path.is_root:
            raise NotFound("404 File Not Found")
        if not package.startswith(CANDIDATE_PREFIX):
            root = artifacts.version_artifact_root(session, project.project_id, package)
        else:
            iid = package.removeprefix(CANDIDATE_PREFIX)
            root = artifacts.candidate_artifact_root(session, project.project_id, iid)
        return root, path, project.max_artifact_bytes

    return await run_in_unit_of_work(request, work, write=False)


async def upload(request: Request) -> Response:
    root, path, max_bytes = await _locate(request, write=True)
    enforce_directory_caveat(request, path)
    await receive_body(request, store_of(request), root.key(path), max_bytes)
    return JSONResponse({"message": "201 Created"}, status_code=201)


async def download(request: Request) -> Response:
    root, path, _ = await _locate(request, write=False)
    return await send_object(request, store_of(request), root.key(path), path.segments[-1])


def routes() -> list[Route]:
    return [Route(PATH, upload, methods=["PUT"]), Route(PATH, download, methods=["GET"])]
