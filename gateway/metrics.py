"""Prometheus metrics (kernel): one ``Metrics`` object, with its own ``CollectorRegistry``, per app.

Owns: every metric's name, help and labels; the recorders the rest of the code calls; the DB pool
collector (read at scrape time, so no request pays for it); and ``/-/metrics`` with its access rule.
Must not: put a raw path, a token, a project or any other unbounded id in a label. Routes are
labelled by their template (``/api/v4/projects/{project}/…``), MLflow operations by the endpoint
below the MLflow prefix, auth failures by a fixed set of reasons (``gateway.errors.AuthFailure``).

Hot paths call the recorders: each looks its labelled child up in a plain dict (filled once per label
set), so a request costs a few dict look-ups and counter increments, no registry lock, no I/O.

One process per scrape target: a registry lives in one process. With ``GATEWAY_WORKERS`` > 1 a scrape
would see one worker chosen at random, so ``/-/metrics`` refuses (503) rather than answer wrongly;
run one worker per container and scale by replicas (see docs/decisions.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import platform
import threading
from collections.abc import Iterable, Iterator
from importlib import metadata
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.errors import AuthFailure
from gateway.settings import IPNetwork

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
METRICS_PATH = "/-/metrics"


def gateway_version() -> str:
    try:
        return metadata.version("mlgateway")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class _Children:
    """``metric.labels(*values)`` memoised in a dict: prometheus-client takes a lock on every call."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            with self._lock:
                child = self._children.setdefault(values, self._metric.labels(*values))
        return child


class Metrics:
    """The app's registry and the recorders for everything it counts."""

    def __init__(self, *, mlflow_prefix: str = "", engine: Engine | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._mlflow_prefix = mlflow_prefix
        r = self.registry
        self._requests = _Children(
            Counter(
                "mlgateway_http_requests",
                "HTTP requests answered, by route template, method and status class.",
                ["route", "method", "status_class"],
                registry=r,
            )
        )
        self._latency = _Children(
            Histogram(
                "mlgateway_http_request_duration_seconds",
                "Time from the request's arrival to its last response byte, by route template.",
                ["route", "method", "status_class"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            )
        )
        self._operations = _Children(
            Counter(
                "mlgateway_mlflow_operations",
                "MLflow API calls by endpoint (below …/ml/mlflow), method and status class.",
                ["endpoint", "method", "status_class"],
                registry=r,
            )
        )
        self._auth_failures = _Children(
            Counter("mlgateway_auth_failures", "Requests refused with 401 or 403, by reason.", ["reason"], registry=r)
        )
        self._artifact_bytes = _Children(
            Counter(
                "mlgateway_artifact_bytes",
                "Artifact bytes moved through the gateway, by store kind and direction (in: uploads, out: downloads).",
                ["store", "direction"],
                registry=r,
            )
        )
        self._artifact_objects = _Children(
            Counter(
                "mlgateway_artifact_objects_written", "Artifact objects stored, by store kind.", ["store"], registry=r
            )
        )
        self._rows = _Children(
            Counter(
                "mlgateway_rows_written",
                "Tracking rows accepted by successful writes, by kind (metrics, params, tags).",
                ["kind"],
                registry=r,
            )
        )
        self._readiness = _Children(
            Gauge(
                "mlgateway_readiness_ok",
                "1 when the check passed at the last /-/readiness probe, 0 when it failed or shutdown has begun.",
                ["check"],
                registry=r,
            )
        )
        build = Gauge(
            "mlgateway_build_info", "Always 1; the labels say what is running.", ["version", "python"], registry=r
        )
        build.labels(gateway_version(), platform.python_version()).set(1)
        if engine is not None:
            r.register(DatabasePoolCollector(engine))

    # ------------------------------------------------------------------ recorders (hot paths)
    def request_done(self, route: str, method: str, status: int, duration_s: float) -> None:
        status_class = f"{status // 100}xx"
        self._requests(route, method, status_class).inc()
        self._latency(route, method, status_class).observe(duration_s)
        if self._mlflow_prefix and route.startswith(self._mlflow_prefix):
            self._operations(route[len(self._mlflow_prefix) :], method, status_class).inc()

    def auth_failure(self, reason: AuthFailure) -> None:
        self._auth_failures(reason).inc()

    def readiness(self, check: str, ok: bool) -> None:
        self._readiness(check).set(1 if ok else 0)

    def rows_written(self, kind: str, count: int) -> None:
        if count:
            self._rows(kind).inc(count)

    # The artifact store's ``TransferObserver``.
    def bytes_in(self, store: str, count: int) -> None:
        if count:
            self._artifact_bytes(store, "in").inc(count)

    def bytes_out(self, store: str, count: int) -> None:
        if count:
            self._artifact_bytes(store, "out").inc(count)

    def object_written(self, store: str) -> None:
        self._artifact_objects(store).inc()

    # ------------------------------------------------------------------ exposition
    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text, or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class DatabasePoolCollector(Collector):
    """The SQLAlchemy pool's state, read when scraped (SQLite's pool too; a pool without sizes reports none)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        return []  # sizes are only known at collect time; nothing to pre-register

    def collect(self) -> Iterator[Metric]:
        pool = self._engine.pool
        if not isinstance(pool, QueuePool):  # e.g. SQLite in memory: one shared connection, no sizes
            return
        dialect = [self._engine.dialect.name]
        for name, documentation, value in (
            ("mlgateway_db_pool_size", "Connections the pool keeps open.", pool.size()),
            ("mlgateway_db_pool_checked_out", "Connections in use by a request right now.", pool.checkedout()),
            (
                "mlgateway_db_pool_overflow",
                "Connections beyond the pool size (negative: not yet opened).",
                pool.overflow(),
            ),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["dialect"])
            family.add_metric(dialect, float(value))
            yield family


# ---------------------------------------------------------------------------------------- endpoint
def client_allowed(host: str | None, networks: tuple[IPNetwork, ...]) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a unix socket or a name: not an address we can vouch for
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def metrics_route(metrics: Metrics, *, token: str, allow: tuple[IPNetwork, ...], workers: int) -> Route:
    """``/-/metrics``: the bearer ``token`` when one is set, else callers from ``allow``; 403 otherwise."""
    expected = f"Bearer {token}".encode() if token else b""

    def permitted(request: Request) -> bool:
        if expected:
            given = request.headers.get("authorization", "").encode()
            return hmac.compare_digest(given, expected)
        return client_allowed(request.client.host if request.client else None, allow)

    async def scrape(request: Request) -> Response:
        if not permitted(request):
            return PlainTextResponse("403 Forbidden\n", status_code=403)
        if workers > 1:
            return PlainTextResponse(
                f"503 metrics are per process and this server runs {workers} workers (GATEWAY_WORKERS): "
                "a scrape would see one of them at random. Run one worker per container and scale with replicas.\n",
                status_code=503,
            )
        # Rendering takes milliseconds per hundred series: off the event loop, like any other work.
        body, content_type = await run_in_threadpool(metrics.exposition, request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return Route(METRICS_PATH, scrape, methods=["GET"])
