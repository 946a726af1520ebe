"""GitLab-named health probes: ``/-/health`` (process up), ``/-/liveness``, ``/-/readiness``.

Readiness runs its checks (the database and the artifact store) and answers 503
with the failing check named, so a load balancer stops sending traffic before requests fail.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.http import JSONResponse

ReadinessCheck = tuple[str, Callable[[], None]]


def health_routes(checks: list[ReadinessCheck]) -> list[Route]:
    async def health(_: Request) -> Response:
        return PlainTextResponse("GitLab OK")

    async def liveness(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readiness(request: Request) -> Response:
        if request.state.shutting_down.is_set():
            return JSONResponse({"status": "failed", "reason": "shutting down"}, status_code=503)
        results: dict[str, dict[str, str]] = {}
        ok = True
        for name, check in checks:
            try:
                await run_in_threadpool(check)
                results[name] = {"status": "ok"}
            except Exception as exc:  # noqa: BLE001 - a probe reports every failure, whatever it is
                ok = False
                results[name] = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"[:300]}
        return JSONResponse({"status": "ok" if ok else "failed", **results}, status_code=200 if ok else 503)

    return [
        Route("/-/health", health, methods=["GET", "HEAD"]),
        Route("/-/liveness", liveness, methods=["GET", "HEAD"]),
        Route("/-/readiness", readiness, methods=["GET", "HEAD"]),
    ]
