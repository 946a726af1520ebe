"""HTTP plumbing shared by every route: JSON in and out, error rendering, running work off the loop.

Owns: the two error dialects (see ``gateway.errors``), ``read_json_object`` (the only JSON body
parser), and ``run_in_unit_of_work`` — the bridge from an async handler to one synchronous database
transaction (in a worker thread unless it is known to be short). Must not: know tenants or MLflow
resources.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.db import Database
from gateway.errors import (
    EndpointNotFound,
    GatewayError,
    InvalidParameter,
    MethodNotAllowed,
    PermissionDenied,
    Unauthenticated,
)

log = logging.getLogger("gateway.errors")
T = TypeVar("T")

ZERO_COPY_SEND = "http.response.zerocopysend"
"""ASGI's zero-copy send extension: a server that offers it lists it in ``scope["extensions"]``
(``gateway.zero_copy``), and a response may then send a file's bytes as one message."""
Dialect = Literal["mlflow", "gitlab"]


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True)
class EncodedJSON:
    """A JSON document already encoded, as pieces whose concatenation is the document.

    For answers of thousands of items (a metric history): encoded a slice at a time and sent as
    they are, the pieces are the only copy of the body. Joined into one value and encoded again, a
    10 000-point history held three more copies of itself per request in flight.
    """

    pieces: Sequence[bytes]


class EncodedJSONResponse(Response):
    """Sends an ``EncodedJSON`` one piece per body message, under one ``Content-Length``."""

    media_type = "application/json"

    def __init__(self, document: EncodedJSON, status_code: int = 200) -> None:
        self.pieces = document.pieces
        length = sum(len(piece) for piece in self.pieces)
        super().__init__(None, status_code, headers={"content-length": str(length)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        last = len(self.pieces) - 1
        for index, piece in enumerate(self.pieces):
            await send({"type": "http.response.body", "body": piece, "more_body": index < last})
        if last < 0:
            await send({"type": "http.response.body", "body": b""})


def dialect_of(path: str) -> Dialect:
    """MLflow routes answer in MLflow's envelope; everything else in GitLab's ``{"message": …}``."""
    return "mlflow" if "/ml/mlflow/" in path or path.endswith("/ml/mlflow") else "gitlab"


def error_response(path: str, error: GatewayError) -> JSONResponse:
    if dialect_of(path) == "mlflow":
        body: dict[str, Any] = {"error_code": error.error_code, "message": error.message}
        status = error.status
    else:
        body = {"message": error.message}
        status = error.gitlab_status or error.status
    return JSONResponse(body, status_code=status, headers=error.headers or None)


async def gateway_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    if isinstance(exc, Unauthenticated | PermissionDenied):
        metrics = getattr(request.state, "metrics", None)
        if metrics is not None:
            metrics.auth_failure(exc.reason)
    return error_response(request.url.path, exc)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no such route) rendered in the route's dialect."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 405:
        error: GatewayError = MethodNotAllowed(f"{request.method} is not allowed on {path}")
    elif exc.status_code == 404:
        error = EndpointNotFound(f"no endpoint {request.method} {path}")
    else:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code)
    response = error_response(path, error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    where = {"request_id": request_id, "method": request.method, "route": route_template(request.scope)}
    log.error("unhandled error", exc_info=exc, extra=where)
    error = GatewayError(f"internal error; quote request id {request_id} to the operator")
    return error_response(request.url.path, error)


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v4/projects/{project}/…``), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "<unmatched>"
    return str(scope.get("root_path_template", "")) + template


# ---------------------------------------------------------------------------------------- input
async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; ``{}`` for an empty body; 400 for anything else."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"malformed JSON in request body: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidParameter(f"request body must be a JSON object, not {type(value).__name__}")
    return value


async def request_params(request: Request) -> dict[str, Any]:
    """Parameters the MLflow/GitLab way: query string for GET/HEAD/DELETE, merged under a JSON body."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values if len(values) > 1 else values[0]
    if request.method not in ("GET", "HEAD"):
        params.update(await read_json_object(request))
    return params


# ---------------------------------------------------------------------------------------- work
def database_of(request: Request) -> Database:
    database = request.state.database
    assert isinstance(database, Database)
    return database


async def run_in_unit_of_work(
    request: Request, work: Callable[[Session], T], *, write: bool, on_loop: bool = False
) -> T:
    """Run ``work`` in one transaction; commit on return, roll back on raise.

    By default the transaction runs in a worker thread, so the event loop goes on serving while it
    waits. ``on_loop=True`` runs it on the event loop itself, for work bounded to a few indexed rows
    (the tracking hot path: log a metric, set a tag, get a run): the hop to a thread and back costs
    about 0.3 ms of CPU (``bench.profile``), more than such a transaction, and under load the GIL
    handovers between loop and thread cost as much again. While it runs, the process serves nothing
    else; the other worker processes do, which is how the gateway scales on a machine's cores.
    """
    database = database_of(request)

    def call() -> T:
        with database.unit_of_work(write=write) as session:
            return work(session)

    return call() if on_loop else await run_in_threadpool(call)
