"""The one shape of an MLflow handler: authenticate → parse → authorise → one unit of work → JSON.

A handler is a plain function ``(session, project, params) -> dict`` registered with the permission
it needs; this module does the rest, so no handler repeats auth, transactions or error rendering.
Success is always HTTP 200 (the MLflow client treats even 201 as an error).

An endpoint that writes tracking rows names how to count them from its parsed parameters
(``rows=``); they are counted for ``mlgateway_rows_written_total`` once its unit of work has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.http import EncodedJSON, EncodedJSONResponse, JSONResponse, request_params, run_in_unit_of_work
from gateway.metrics import Metrics
from tenants.authorization import Permission, ProjectContext
from tenants.web import authenticate, require_project

Params = dict[str, Any]
Answer = dict[str, Any] | EncodedJSON
"""What a handler returns: the JSON object, or (for a long answer) that object already encoded."""
Handler = Callable[[Session, ProjectContext, Params], Answer]
RowCount = Callable[["Params"], Iterable[tuple[str, int]]]
MLFLOW_PREFIX = "/api/v4/projects/{project}/ml/mlflow"


def one(kind: str) -> RowCount:
    """A write of one row of ``kind`` (``metrics``, ``params`` or ``tags``)."""
    return lambda _params: ((kind, 1),)


def listed(*kinds: str) -> RowCount:
    """As many rows of each kind as the request's list of that name holds (``log-batch``'s ``metrics`` …)."""

    def count(params: Params) -> Iterable[tuple[str, int]]:
        for kind in kinds:
            items = params.get(kind)
            yield kind, len(items) if isinstance(items, list) else 0

    return count


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """Below ``…/ml/mlflow``, e.g. ``/api/2.0/mlflow/experiments/create``."""
    handler: Handler
    permission: Permission
    rows: RowCount | None = None
    """How many tracking rows a successful call wrote, by kind (for the metrics)."""
    quick: bool = False
    """Its work is bounded to a few indexed rows (one run, one experiment, one batch of at most 1000
    items): it runs on the event loop, not in a worker thread (see ``run_in_unit_of_work``)."""

    @property
    def writes(self) -> bool:
        return self.permission.value.write


def to_route(endpoint: Endpoint) -> Route:
    async def call(request: Request) -> Response:
        principal = await authenticate(request)
        params = await request_params(request)
        # Path parameters (``logged-models/{model_id}``) win over the same names in the body.
        params.update({k: v for k, v in request.path_params.items() if k != "project"})

        def work(session: Session) -> Answer:
            project = require_project(request, session, principal, endpoint.permission)
            return endpoint.handler(session, project, params)

        answer = await run_in_unit_of_work(request, work, write=endpoint.writes, on_loop=endpoint.quick)
        if endpoint.rows is not None:
            metrics: Metrics = request.state.metrics
            for kind, count in endpoint.rows(params):
                metrics.rows_written(kind, count)
        return EncodedJSONResponse(answer) if isinstance(answer, EncodedJSON) else JSONResponse(answer)

    methods = [endpoint.method] + (["HEAD"] if endpoint.method == "GET" else [])
    return Route(MLFLOW_PREFIX + endpoint.path, call, methods=methods, name=endpoint.path)
