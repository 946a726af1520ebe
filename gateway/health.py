"""GitLab-named health probes: ``/-/health`` (process up), ``/-/liveness``, ``/-/readiness``.

Readiness runs its checks (the database and the artifact store) and answers 503
with the failing check named, so a load balancer stops sending traffic before requests fail.
Each run reports its outcome per check to ``record`` (the ``mlgateway_readiness_ok`` gauge, which
alerts watch); once shutdown has begun every check reports 0 without running.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.http import JSONResponse

ReadinessCheck = tuple[str, Callable[[], None]]
ReadinessRecord = Callable[[str, bool], None]


def health_routes(checks: list[ReadinessCheck], record: ReadinessRecord | None = None) -> list[Route]:
    def report(name: str, ok: bool) -> None:
        if record is not None:
            record(name, ok)

    async def health(_: Request) -> Response:
        return PlainTextResponse("GitLab OK")

    async def liveness(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readiness(request: Request) -> Response:
        if request.state.shutting_down.is_set():
            for name, _ in checks:
                report(name, False)
            return JSONResponse({"status": "failed", "reason": "shutting down"}, status_code=503)
        results: dict[str, dict[str, str]] = {}
        ok = True
        for name, check in checks:
            try:
                await run_in_threadpool(check)
                results[name] = {"status": "ok"}
                report(name, True)
            except Exception as exc:  # noqa: BLE001 - a probe reports every failure, whatever it is
                ok = False
                results[name] = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"[:300]}
                report(name, False)
        return JSONResponse({"status": "ok" if ok else "failed", **results}, status_code=200 if ok else 503)

    return [
        Route("/-/health", health, methods=["GET", "HEAD"]),
        Route("/-/liveness", liveness, methods=["GET", "HEAD"]),
        Route("/-/readiness", readiness, methods=["GET", "HEAD"]),
    ]
