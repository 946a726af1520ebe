"""Identical HTTP workloads for both servers, driven by an async aiohttp client.

A scenario is a ``setup`` (plain REST calls, run once per server) and an ``op`` (one request).
``drive`` runs ``concurrency`` workers that repeat ``op`` until a fixed time window closes, lets the
requests already in flight finish (a slow server is measured, not cut off), and reports throughput
and latency percentiles. Only 200s count as done; anything else is an error and is reported.

The same request bodies go to both servers: the only differences are the base URL (the stock server's
root, or the gateway's ``/api/v4/projects/<id>/ml/mlflow``) and the gateway's bearer token.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.artifacts import CURL_TIMED, curl_timed
from bench.servers import Server

API = "api/2.0/mlflow"
SEARCH_FILTER = "metrics.m > 0.5"
SEARCH_ORDER = "metrics.m DESC"
BATCH_KEYS = 100
"""A 1000-metric batch is 100 keys x 10 steps (a training loop's ``log_metrics`` shape)."""
WARMUP = 10_000_000
"""The op index of the one check call; the unmeasured warm-up drive numbers its ops after it, so
neither repeats a measured call's (a re-logged param would be a cheap no-op)."""
WARMUP_SECONDS = 1.0


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Measurement:
    scenario: str
    server: str
    concurrency: int
    done: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    units_per_op: float = 1.0
    unit: str = "req"
    first_error: str | None = None

    @property
    def per_second(self) -> float:
        return self.done * self.units_per_op / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "server": self.server,
            "concurrency": self.concurrency,
            "done": self.done,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "unit": self.unit,
            "per_second": round(self.per_second, 2),
            "p50_ms": _round(self.percentile(50)),
            "p95_ms": _round(self.percentile(95)),
            "p99_ms": _round(self.percentile(99)),
            "first_error": self.first_error,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class ServerError(RuntimeError):
    pass


class Client:
    """One server's connection pool: aiohttp, whose C parser spends a third of httpx's CPU per request.

    The client shares the machine's two cores with both servers (and PostgreSQL): at sixteen clients
    httpx took 1-2 ms of CPU per request, as much as the gateway's own work, so the measuring
    instrument slowed down what it measured (``bench.profile`` prints both).
    """

    def __init__(self, server: Server, concurrency: int) -> None:
        self.base = server.tracking_uri + "/"
        self.session = aiohttp.ClientSession(
            headers={**server.headers, "Content-Type": "application/json"},
            connector=aiohttp.TCPConnector(limit=concurrency + 2),
            timeout=aiohttp.ClientTimeout(total=600.0),
        )

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.session.close()


async def call(client: Client, method: str, path: str, body: Any = None, **params: Any) -> Any:
    content = None if body is None else orjson.dumps(body)
    async with client.session.request(method, client.base + path, data=content, params=params or None) as response:
        answer = await response.read()
        if response.status != 200:
            raise ServerError(f"{method} {path}: {response.status} {answer[:300].decode(errors='replace')}")
    return orjson.loads(answer) if answer else {}


async def drive(
    scenario: str,
    server: Server,
    client: Client,
    op: Callable[[int, int], Awaitable[None]],
    *,
    concurrency: int,
    seconds: float,
    units_per_op: float = 1.0,
    unit: str = "req",
    first_index: int = 0,
) -> Measurement:
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(w: int) -> None:
        nonlocal errors, first_error
        i = first_index
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                await op(w, i)
            except (ServerError, aiohttp.ClientError) as exc:
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
            else:
                latencies.append((time.perf_counter() - t0) * 1000)
            i += 1

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Measurement(
        scenario, server.name, concurrency, len(latencies), errors, elapsed, latencies, units_per_op, unit, first_error
    )


# ------------------------------------------------------------------------------------------ setup
async def create_experiment(client: Client, name: str) -> str:
    answer = await call(client, "POST", f"{API}/experiments/create", {"name": name})
    return str(answer["experiment_id"])


async def create_run(client: Client, experiment_id: str, name: str | None = None) -> str:
    body: dict[str, Any] = {"experiment_id": experiment_id, "start_time": now_ms(), "tags": []}
    if name:
        body["run_name"] = name
    answer = await call(client, "POST", f"{API}/runs/create", body)
    return str(answer["run"]["info"]["run_id"])


def batch_metrics(first_step: int, steps: int, keys: int, *, key_prefix: str = "k") -> list[dict[str, Any]]:
    rng = random.Random(first_step)
    ts = now_ms()
    return [
        {"key": f"{key_prefix}{k}", "value": rng.random(), "timestamp": ts + s, "step": first_step + s}
        for s in range(steps)
        for k in range(keys)
    ]


@dataclass
class Fixtures:
    """Per-server ids the scenarios write to or read from."""

    experiment: str
    worker_runs: list[str]
    wide_run: str
    """A run with 1000 metric keys (``get_run``)."""
    history_run: str
    """A run with one metric of ``history_points`` points (``metric_history``)."""
    search_experiment: str
    """An experiment of ``search_runs`` runs (seeded straight into the database)."""


async def prepare(server: Server, *, workers: int, history_points: int) -> Fixtures:
    async with Client(server, 4) as client:
        experiment = await create_experiment(client, f"bench-{uuid.uuid4().hex[:8]}")
        worker_runs = [await create_run(client, experiment, f"worker-{w}") for w in range(workers)]
        wide_run = await create_run(client, experiment, "wide")
        wide = [{"key": f"metric_{k:04d}", "value": k / 1000, "timestamp": now_ms(), "step": 0} for k in range(1000)]
        await call(client, "POST", f"{API}/runs/log-batch", {"run_id": wide_run, "metrics": wide})
        history_run = await create_run(client, experiment, "history")
        for first in range(0, history_points, 1000):
            points = batch_metrics(first, min(1000, history_points - first), 1, key_prefix="loss")
            for point in points:
                point["key"] = "loss"
            await call(client, "POST", f"{API}/runs/log-batch", {"run_id": history_run, "metrics": points})
        search_experiment = await create_experiment(client, f"bench-search-{uuid.uuid4().hex[:8]}")
    return Fixtures(experiment, worker_runs, wide_run, history_run, search_experiment)


# ------------------------------------------------------------------------------------------ scenarios
Op = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[Client, Fixtures], Op]
    units_per_op: float = 1.0
    unit: str = "req"
    check: Callable[[Any], str | None] | None = None


def _create_run(client: Client, fx: Fixtures) -> Op:
    async def op(w: int, i: int) -> None:
        await call(client, "POST", f"{API}/runs/create", {"experiment_id": fx.experiment, "start_time": now_ms()})

    return op


def _log_metric(client: Client, fx: Fixtures) -> Op:
    base = now_ms()

    async def op(w: int, i: int) -> None:
        body = {"run_id": fx.worker_runs[w], "key": "loss", "value": 1 / (i + 1), "timestamp": base + i, "step": i}
        await call(client, "POST", f"{API}/runs/log-metric", body)

    return op


def _log_param(client: Client, fx: Fixtures) -> Op:
    tag = uuid.uuid4().hex[:6]  # params are immutable: every call logs a new key

    async def op(w: int, i: int) -> None:
        body = {"run_id": fx.worker_runs[w], "key": f"p_{tag}_{i}", "value": str(i)}
        await call(client, "POST", f"{API}/runs/log-parameter", body)

    return op


def _log_batch(client: Client, fx: Fixtures) -> Op:
    offset = random.randrange(1, 10**9) * 1000

    async def op(w: int, i: int) -> None:
        metrics = batch_metrics(offset + i * 10, 10, BATCH_KEYS)
        await call(client, "POST", f"{API}/runs/log-batch", {"run_id": fx.worker_runs[w], "metrics": metrics})

    return op


def _get_run(client: Client, fx: Fixtures) -> Op:
    async def op(w: int, i: int) -> None:
        answer = await call(client, "GET", f"{API}/runs/get", run_id=fx.wide_run)
        if i == WARMUP and len(answer["run"]["data"]["metrics"]) != 1000:
            raise ServerError(f"get_run returned {len(answer['run']['data']['metrics'])} metrics, not 1000")

    return op


def search_body(fx: Fixtures) -> dict[str, Any]:
    return {
        "experiment_ids": [fx.search_experiment],
        "filter": SEARCH_FILTER,
        "order_by": [SEARCH_ORDER],
        "max_results": 100,
        "run_view_type": "ACTIVE_ONLY",
    }


def _search_runs(client: Client, fx: Fixtures) -> Op:
    body = search_body(fx)

    async def op(w: int, i: int) -> None:
        answer = await call(client, "POST", f"{API}/runs/search", body)
        if i == WARMUP and len(answer.get("runs", [])) != 100:
            raise ServerError(f"search_runs returned {len(answer.get('runs', []))} runs, not 100")

    return op


def _metric_history(client: Client, fx: Fixtures) -> Op:
    async def op(w: int, i: int) -> None:
        answer = await call(client, "GET", f"{API}/metrics/get-history", run_id=fx.history_run, metric_key="loss")
        if i == WARMUP and "next_page_token" in answer:
            raise ServerError("metric history came back paged")

    return op


SCENARIOS = [
    Scenario("create_run", _create_run),
    Scenario("log_metric", _log_metric),
    Scenario("log_param", _log_param),
    Scenario("log_batch", _log_batch, units_per_op=1000, unit="metric rows"),
    Scenario("get_run", _get_run),
    Scenario("search_runs", _search_runs),
    Scenario("metric_history", _metric_history),
]


async def run_scenario(
    scenario: Scenario, server: Server, fx: Fixtures, *, concurrency: int, seconds: float
) -> Measurement:
    async with Client(server, concurrency) as client:
        op = scenario.build(client, fx)
        await op(0, WARMUP)  # the scenario's own sanity check
        # Unmeasured: every worker of the server serves this request shape first (the stock server's
        # first second of a new endpoint ran at a third of its later speed, which flattered the ratio).
        await drive(
            scenario.name, server, client, op, concurrency=concurrency, seconds=WARMUP_SECONDS, first_index=WARMUP + 1
        )
        return await drive(
            scenario.name,
            server,
            client,
            op,
            concurrency=concurrency,
            seconds=seconds,
            units_per_op=scenario.units_per_op,
            unit=scenario.unit,
        )


async def first_search_page(server: Server, fx: Fixtures) -> list[str]:
    """Run ids of the first search page: both servers must answer the same runs in the same order."""
    async with Client(server, 1) as client:
        answer = await call(client, "POST", f"{API}/runs/search", search_body(fx))
    return [run["info"]["run_id"] for run in answer.get("runs", [])]


# ------------------------------------------------------------------------------------------ artifacts
@dataclass
class ArtifactRound:
    """One upload then one download of the same file through one server (milliseconds each)."""

    upload_ms: float | None = None
    download_ms: float | None = None
    error: str | None = None


async def artifact_round(server: Server, fx: Fixtures, payload: Any, index: int) -> ArtifactRound:
    """Upload ``payload`` as ``big-<index>.bin`` into a run of ``fx``, then download it from the disk."""
    path = f"api/2.0/mlflow-artifacts/artifacts/{fx.experiment}/{fx.worker_runs[0]}/artifacts/big-{index}.bin"
    async with Client(server, 1) as client:
        status, upload_s, text = await upload(client, server, path, payload)
        if status != 200:
            return ArtifactRound(error=f"upload: {status} {text[:200]}")
        drop_stored_files(server.artifacts)
        received, status, download_s = await download(client, server, path)
        if status != 200 or received != payload.size:
            return ArtifactRound(upload_s * 1000, error=f"download: {status}, {received} of {payload.size} bytes")
    return ArtifactRound(upload_s * 1000, download_s * 1000)


def artifact_measurements(
    server: Server, rounds: list[ArtifactRound], size_bytes: int
) -> tuple[Measurement, Measurement]:
    """A server's rounds as its ``artifact_upload`` and ``artifact_download`` rows: MiB/s over all rounds."""
    from bench.artifacts import MIB

    errors = [r.error for r in rounds if r.error]

    def measurement(name: str, latencies: list[float]) -> Measurement:
        return Measurement(
            name,
            server.name,
            1,
            len(latencies),
            len(errors),
            sum(latencies) / 1000,
            latencies,
            size_bytes / MIB,
            "MiB",
            errors[0] if errors else None,
        )

    uploads = [r.upload_ms for r in rounds if r.upload_ms is not None]
    downloads = [r.download_ms for r in rounds if r.download_ms is not None]
    return measurement("artifact_upload", uploads), measurement("artifact_download", downloads)


async def upload(client: Client, server: Server, path: str, payload: Any) -> tuple[int, float, str]:
    """One streamed PUT: ``(status, seconds, body)``. By curl from a page-cached file when there is curl
    (as downloads), else aiohttp."""
    if shutil.which("curl"):
        source = server.artifacts.parent / f"upload-{server.name}.bin"
        if not source.exists() or source.stat().st_size != payload.size:
            with source.open("wb") as out:
                for chunk in payload.chunks():
                    out.write(chunk)
        headers = [item for name, value in server.headers.items() for item in ("--header", f"{name}: {value}")]
        process = await asyncio.create_subprocess_exec(
            "curl", "--silent", "--upload-file", str(source), "--header", "Content-Type: application/octet-stream",
            "--output", "/dev/null", "--write-out", CURL_TIMED, *headers, f"{server.tracking_uri}/{path}",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        printed, _ = await process.communicate()
        status, seconds, _ = curl_timed(printed)
        return status, seconds, printed.decode()

    async def body() -> Any:
        for chunk in payload.chunks():
            yield chunk

    put_headers = {"Content-Type": "application/octet-stream", "Content-Length": str(payload.size)}
    started = time.perf_counter()
    async with client.session.put(client.base + path, data=body(), headers=put_headers) as response:
        text = await response.text()
    return response.status, time.perf_counter() - started, text


def drop_stored_files(directory: Path) -> None:
    """Downloads start from the disk on both servers, as the raw disk read does (``bench.artifacts``)."""
    from bench.artifacts import drop_from_page_cache

    for path in directory.rglob("*"):
        if path.is_file():
            drop_from_page_cache(path)


async def download(client: Client, server: Server, path: str) -> tuple[int, int, float]:
    """``(bytes, status, seconds)`` of one GET, read by curl into /dev/null when there is curl (faster
    than Python)."""
    url = f"{server.tracking_uri}/{path}"
    if shutil.which("curl"):
        headers = [item for name, value in server.headers.items() for item in ("--header", f"{name}: {value}")]
        process = await asyncio.create_subprocess_exec(
            "curl", "--silent", "--output", "/dev/null", "--write-out", CURL_TIMED, *headers, url,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await process.communicate()
        status, seconds, size = curl_timed(out)
        return size, status, seconds
    received = 0
    started = time.perf_counter()
    async with client.session.get(client.base + path) as response:
        async for chunk in response.content.iter_any():
            received += len(chunk)
    return received, response.status, time.perf_counter() - started
