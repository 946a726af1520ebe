"""MLflow's proxied-artifact API under ``…/ml/mlflow/api/2.0/mlflow-artifacts/`` and ``server-info``.

Paths are a run's ``artifact_uri`` (``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``) plus
the file: ``<experiment_id>/<run_id>/artifacts/<path>``, or an MLflow 3 logged model's
(``<experiment_id>/models/<model_id>/artifacts/<path>``, where directories are always allowed: a
model is a directory). Each request authenticates, then in one read-only unit of work checks the
project permission and finds the run or model **in the URL's project** (anything else is 404, like
a missing run); the bytes move afterwards, outside the transaction.

- ``PUT artifacts/<path>`` → ``{}``; ``GET artifacts/<path>`` streams; ``DELETE artifacts/<path>``
  → ``{}`` (a file or a whole directory); ``GET artifacts?path=`` lists one level,
  ``{"files": [{path, is_dir, file_size}]}`` with names relative to ``path``, ``{}`` for a file or
  nothing;
- ``POST mpu/create|complete|abort/<dir>``: S3 multipart with presigned part URLs, or MLflow's own
  501 ``NOT_IMPLEMENTED`` on a store without it, so the 3.x client falls back to one PUT.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from compat import artifacts
from compat.mlflow import params as p
from compat.mlflow.artifact_transfer import (
    enforce_directory_caveat,
    receive_body,
    refuse_encoded_separators,
    send_object,
    store_of,
)
from compat.mlflow.endpoint import MLFLOW_PREFIX
from gateway.artifacts import MULTIPART_NOT_SUPPORTED, ArtifactRoot, RelativePath, file_name, relative_path
from gateway.errors import InvalidParameter, NotFound, NotImplementedByStore
from gateway.http import JSONResponse, read_json_object, run_in_unit_of_work
from tenants.authorization import Permission
from tenants.web import authenticate, require_project

READ = Permission.READ_MODEL_EXPERIMENTS
WRITE = Permission.WRITE_MODEL_EXPERIMENTS
BASE = MLFLOW_PREFIX + "/api/2.0/mlflow-artifacts"
MAX_PARTS = 10_000  # S3's limit


@dataclass(frozen=True, slots=True)
class Located:
    root: ArtifactRoot
    path: RelativePath
    """Below the owner's artifact root; ``ROOT`` for the root itself."""
    max_bytes: int | None
    """The project's own size limit on one file (``None``: the instance default)."""
    directories_allowed: bool = False
    """A logged model is a directory tree (``MLmodel``, ``model.pkl``…): the run caveat does not apply."""

    def check_directories(self, request: Request, path: RelativePath) -> None:
        if not self.directories_allowed:
            enforce_directory_caveat(request, path)


@dataclass(frozen=True, slots=True)
class ArtifactPath:
    experiment: str
    owner: str
    """A run id, or a logged model's ``model_id`` when ``logged_model``."""
    path: RelativePath
    logged_model: bool


def parse_artifact_path(raw: str) -> ArtifactPath:
    """``<experiment_id>/<run_id>/artifacts[/<path>]`` or ``<experiment_id>/models/<model_id>/artifacts[/<path>]``.

    400 for unsafe paths, 404 for any other shape. Run ids are 32 hex digits, so ``models`` is never one.
    """
    segments = relative_path(raw).segments
    if len(segments) >= 4 and segments[1] == "models" and segments[3] == "artifacts":
        return ArtifactPath(segments[0], segments[2], RelativePath(segments[4:]), logged_model=True)
    if len(segments) < 3 or segments[2] != "artifacts":
        raise NotFound(
            f"No artifacts at '{raw}': expected <experiment_id>/<run_id>/artifacts/<path> "
            "or <experiment_id>/models/<model_id>/artifacts/<path>."
        )
    return ArtifactPath(segments[0], segments[1], RelativePath(segments[3:]), logged_model=False)


async def locate(request: Request, permission: Permission, raw_path: str) -> Located:
    principal = await authenticate(request)

    def work(session: Session) -> Located:
        project = require_project(request, session, principal, permission)
        refuse_encoded_separators(request, b"/mlflow-artifacts/")
        parsed = parse_artifact_path(raw_path)
        if parsed.logged_model:
            root = artifacts.logged_model_artifact_root(session, project.project_id, parsed.experiment, parsed.owner)
            return Located(root, parsed.path, project.max_artifact_bytes, directories_allowed=True)
        root = artifacts.run_artifact_root(session, project.project_id, parsed.experiment, parsed.owner)
        return Located(root, parsed.path, project.max_artifact_bytes)

    return await run_in_unit_of_work(request, work, write=False)


# ------------------------------------------------------------------------------------- artifacts
async def upload(request: Request) -> Response:
    found = await locate(request, WRITE, request.path_params["path"])
    if found.path.is_root:
        raise InvalidParameter("The artifact path names the artifact root; add a file name.")
    found.check_directories(request, found.path)
    await receive_body(request, store_of(request), found.root.key(found.path), found.max_bytes)
    return JSONResponse({})


async def download(request: Request) -> Response:
    found = await locate(request, READ, request.path_params["path"])
    if found.path.is_root:
        raise NotFound("Artifact not found.")
    return await send_object(request, store_of(request), found.root.key(found.path), found.path.segments[-1])


async def list_artifacts(request: Request) -> Response:
    raw = request.query_params.get("path", "")
    found = await locate(request, READ, raw[:-1] if raw.endswith("/") else raw)
    entries = await store_of(request).list(found.root.key(found.path))
    if not entries:
        return JSONResponse({})
    files: list[dict[str, Any]] = []
    for entry in entries:
        item: dict[str, Any] = {"path": entry.name, "is_dir": entry.is_dir}
        if entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return JSONResponse({"files": files})


async def delete(request: Request) -> Response:
    found = await locate(request, WRITE, request.path_params["path"])
    await store_of(request).delete(found.root.key(found.path))
    return JSONResponse({})


# ------------------------------------------------------------------------------------- multipart
async def _multipart_target(request: Request) -> tuple[Located, RelativePath, dict[str, Any]]:
    """The run, the file's path below its root (URL directory + the body's file name), and the body."""
    found = await locate(request, WRITE, request.path_params["path"])
    if not store_of(request).supports_multipart:
        raise NotImplementedByStore(MULTIPART_NOT_SUPPORTED)
    body = await read_json_object(request)
    local_path = p.required_str(body, "path")
    # The client sends its own local path; as in MLflow's server only the base name is used.
    name = file_name(posixpath.basename(local_path.replace("\\", "/")))
    target = found.path.join(RelativePath((name,)))
    found.check_directories(request, target)
    return found, target, body


def _upload_id(body: dict[str, Any]) -> str:
    upload_id = p.required_str(body, "upload_id")
    if len(upload_id) > 1024 or not upload_id.isprintable():
        raise InvalidParameter("Invalid value for parameter 'upload_id'.")
    return upload_id


async def create_multipart(request: Request) -> Response:
    found, target, body = await _multipart_target(request)
    num_parts = p.optional_int(body, "num_parts", minimum=1)
    if num_parts is None or num_parts > MAX_PARTS:
        raise InvalidParameter(f"Invalid value for parameter 'num_parts': expected 1 to {MAX_PARTS}.")
    upload = await store_of(request).create_multipart(found.root.key(target), num_parts)
    credentials = [{"url": t.url, "part_number": t.part_number, "headers": t.headers} for t in upload.parts]
    return JSONResponse({"upload_id": upload.upload_id, "credentials": credentials})


async def complete_multipart(request: Request) -> Response:
    found, target, body = await _multipart_target(request)
    upload_id = _upload_id(body)
    raw_parts = body.get("parts")
    if not isinstance(raw_parts, list) or not raw_parts or len(raw_parts) > MAX_PARTS:
        raise InvalidParameter(f"Invalid value for parameter 'parts': expected a list of 1 to {MAX_PARTS} parts.")
    parts = []
    for item in raw_parts:
        if not isinstance(item, dict):
            raise InvalidParameter("Invalid entry in 'parts': expected an object with part_number and etag.")
        number = p.optional_int(item, "part_number", minimum=1)
        etag = item.get("etag")
        if number is None or number > MAX_PARTS or not isinstance(etag, str) or not etag:
            raise InvalidParameter("Invalid entry in 'parts': expected an object with part_number and etag.")
        parts.append((number, etag))
    await store_of(request).complete_multipart(found.root.key(target), upload_id, parts, max_bytes=found.max_bytes)
    return JSONResponse({})


async def abort_multipart(request: Request) -> Response:
    found, target, body = await _multipart_target(request)
    await store_of(request).abort_multipart(found.root.key(target), _upload_id(body))
    return JSONResponse({})


# ------------------------------------------------------------------------------------- server-info
async def server_info(request: Request) -> Response:
    """What MLflow 3.x asks before downloads: only the multipart switch changes its behaviour."""
    principal = await authenticate(request)
    await run_in_unit_of_work(request, lambda s: require_project(request, s, principal, READ), write=False)
    return JSONResponse(
        {
            "store_type": None,
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": store_of(request).supports_multipart,
            "multipart_downloads_enabled": False,
            "features_enabled": {"gateway": False},
        }
    )


def routes() -> list[Route]:
    return [
        Route(BASE + "/artifacts", list_artifacts, methods=["GET"]),
        Route(BASE + "/artifacts/{path:path}", download, methods=["GET"]),
        Route(BASE + "/artifacts/{path:path}", upload, methods=["PUT"]),
        Route(BASE + "/artifacts/{path:path}", delete, methods=["DELETE"]),
        Route(BASE + "/mpu/create/{path:path}", create_multipart, methods=["POST"]),
        Route(BASE + "/mpu/complete/{path:path}", complete_multipart, methods=["POST"]),
        Route(BASE + "/mpu/abort/{path:path}", abort_multipart, methods=["POST"]),
        Route(MLFLOW_PREFIX + "/api/3.0/mlflow/server-info", server_info, methods=["GET"]),
    ]
