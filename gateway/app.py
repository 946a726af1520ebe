"""Composition root: ``create_app(settings)`` builds everything; nothing imports this module.

The app is assembled through Starlette's constructor (routes, middleware, exception handlers,
lifespan); per-app objects (database, authenticator, artifact store) live in the typed lifespan
state, never in module globals, so two apps in one process (as the tests run them) share nothing —
not even their Prometheus registry (``gateway.metrics``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from compat.mlflow.endpoint import MLFLOW_PREFIX
from compat.mlflow.routes import mlflow_routes, package_routes
from compat.web.routes import asset_files, web_routes
from gateway.artifacts import ArtifactStore, open_artifact_store
from gateway.db import Database
from gateway.errors import GatewayError
from gateway.health import health_routes
from gateway.http import gateway_error_handler, http_exception_handler, unhandled_error_handler
from gateway.metrics import Metrics, metrics_route
from gateway.middleware import AccessLog, BodySizeLimit, EncodedPathSegments
from gateway.settings import Settings
from gateway.static_assets import StaticAssets
from tenants.authentication import Authenticator
from tenants.authorization import AccessCache
from tenants.ci_tokens import CiTokenVerifier
from tenants.rest.routes import admin_routes
from tenants.web import pages
from tenants.web.sessions import WebSessions


class AppState(TypedDict):
    settings: Settings
    database: Database
    authenticator: Authenticator
    access_cache: AccessCache
    artifacts: ArtifactStore
    web_sessions: WebSessions
    static_assets: StaticAssets
    metrics: Metrics
    shutting_down: threading.Event


def _streams_its_own_body(path: str) -> bool:
    """Artifact uploads stream large bodies and enforce their own size limit (``mpu/*`` JSON does not)."""
    return "/mlflow-artifacts/artifacts/" in path or "/packages/ml_models/" in path


def create_app(settings: Settings, *, database: Database | None = None) -> Starlette:
    settings = settings.with_secret_key()
    db = database or Database.from_settings(settings)
    ci_tokens = CiTokenVerifier(
        settings.ci_issuers,
        timeout_s=settings.ci_jwks_timeout_s,
        refresh_cooldown_s=settings.ci_jwks_refresh_cooldown_s,
    )
    authenticator = Authenticator(
        db,
        settings.secret_key_bytes(),
        settings.token_last_used_interval_s,
        ci_tokens=ci_tokens,
        ci_server_url=settings.ci_server_url,
        cache_ttl_s=settings.token_cache_ttl_s,
    )
    access_cache = AccessCache(settings.token_cache_ttl_s)
    metrics = Metrics(mlflow_prefix=MLFLOW_PREFIX, engine=db.engine)
    artifacts = open_artifact_store(settings, observer=metrics)
    web_sessions = WebSessions(settings.secret_key_bytes(), settings.web_session_ttl_s)
    static_assets = StaticAssets({**pages.ASSETS, **asset_files()})
    shutting_down = threading.Event()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[AppState]:
        # Starlette's thread pool (anyio's default limiter, 40 threads) sized down: a worker runs Python
        # on one core at a time, so more threads only overlap waits, while each holds its own request's
        # peak memory (16 concurrent 10 000-point histories: +27 MB per worker with 40, +15 with 8).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield AppState(
            settings=settings,
            database=db,
            authenticator=authenticator,
            access_cache=access_cache,
            artifacts=artifacts,
            web_sessions=web_sessions,
            static_assets=static_assets,
            metrics=metrics,
            shutting_down=shutting_down,
        )
        shutting_down.set()
        if database is None:
            db.dispose()

    routes: list[BaseRoute] = [
        *health_routes([("database", db.ping), ("artifact_store", artifacts.ping)], record=metrics.readiness),
        metrics_route(metrics, token=settings.metrics_token, allow=settings.metrics_networks, workers=settings.workers),
        *mlflow_routes(),
        *package_routes(),
        *admin_routes(),
        *pages.sign_in_routes(),
        *web_routes(),
        *static_assets.routes(),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog, metrics=metrics),
            Middleware(EncodedPathSegments),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=_streams_its_own_body),
        ],
        exception_handlers={
            GatewayError: gateway_error_handler,
            HTTPException: http_exception_handler,
            Exception: unhandled_error_handler,
        },
        lifespan=lifespan,
    )
