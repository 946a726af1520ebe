"""mlgateway against a stock ``mlflow server``, side by side, on the same machine and backend.

Run from the checkout with the project's venv (one command; it installs what it lacks)::

    .venv/bin/python -m bench.compare            # SQLite, and PostgreSQL when 127.0.0.1:5432 answers
    .venv/bin/python -m bench.compare --quick    # a smoke run: short windows, small data

Per backend (SQLite files in a scratch dir; fresh PostgreSQL databases when reachable) it starts both
servers with the same worker count (``mlflow server --workers N`` with its other defaults, artifacts
proxied to a local dir; ``mlgateway serve --workers N`` with a seeded user, project and personal
token), seeds the same data into both, then for each scenario and concurrency measures MLflow and
then the gateway in turn, each for the same fixed time window. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH_REQUIREMENTS = {"psutil": "psutil>=5.9", "httpx": "httpx>=0.27", "aiohttp": "aiohttp>=3.9"}
T = TypeVar("T")
DEFAULT_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def ensure_requirements() -> None:
    """The ``bench`` extra's runtime needs, installed into this interpreter if missing."""
    missing = [spec for module, spec in BENCH_REQUIREMENTS.items() if importlib.util.find_spec(module) is None]
    if missing:
        print(f"installing {', '.join(missing)} (the bench extra)…", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


def say(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------------ one backend
def bench_backend(name: str, args: argparse.Namespace, mlflow_python: Path) -> dict[str, Any]:
    from bench import ceilings, seed, servers, workloads
    from bench.report import judge

    with servers.scratch(args.scratch) as work:
        backend = servers.make_backend(name, work, args.postgres)
        started: list[servers.Server] = []
        try:
            say(f"[{name}] starting mlflow server and mlgateway ({args.workers} workers each)…")
            with ThreadPoolExecutor(2) as pool:
                mlflow_future = pool.submit(servers.start_mlflow, mlflow_python, backend, work, args.workers)
                gateway_future = pool.submit(servers.start_gateway, backend, work, args.workers)
                for future in (mlflow_future, gateway_future):
                    with contextlib.suppress(Exception):
                        started.append(future.result())
                mlflow, gateway = mlflow_future.result(), gateway_future.result()
            pair = (mlflow, gateway)
            for server in pair:
                server.memory = servers.TreeMemory(server.pid)

            _enter_phase(pair, "seeding")
            say(f"[{name}] seeding: {args.search_runs:,} runs, a 1000-metric run, {args.history_points:,} points…")
            workers = max(args.concurrency)
            fixtures = {
                s.name: run_async(workloads.prepare(s, workers=workers, history_points=args.history_points))
                for s in pair
            }
            data = seed.search_runs_data(args.search_runs)
            seed.seed_mlflow(backend.mlflow_url, fixtures["mlflow"].search_experiment, data)
            project_id = int(gateway.tracking_uri.split("/projects/")[1].split("/")[0])
            seed.seed_gateway(backend.gateway_url, project_id, fixtures["gateway"].search_experiment, data)
            if name == "postgresql":  # autovacuum would do it within a minute; do it now, for both
                seed.analyze(backend.mlflow_url)
                seed.analyze(backend.gateway_url)
            pages = [run_async(workloads.first_search_page(s, fixtures[s.name])) for s in pair]
            pages_equal = pages[0] == pages[1]
            if not pages_equal:
                say(f"[{name}] WARNING: the first search pages differ ({len(pages[0])} vs {len(pages[1])} runs)")

            rows = []
            database: list[dict[str, Any]] = []
            for scenario in workloads.SCENARIOS:
                if args.scenarios and scenario.name not in args.scenarios:
                    continue
                if scenario.name == "log_batch":  # the ceiling it is judged against, in the same minute
                    database.append(database_ceiling(name, backend, work, args))
                for concurrency in args.concurrency:
                    _enter_phase(pair, f"{scenario.name} c={concurrency}")
                    try:
                        measured = {
                            s.name: run_async(
                                workloads.run_scenario(
                                    scenario, s, fixtures[s.name], concurrency=concurrency, seconds=args.seconds
                                )
                            )
                            for s in pair
                        }
                    except Exception as exc:  # noqa: BLE001 - report, and go on with the other scenarios
                        say(f"[{name}] {scenario.name} c={concurrency} FAILED: {type(exc).__name__}: {exc}")
                        continue
                    rows.append(_row(scenario.name, concurrency, measured))
                    _print_row(name, rows[-1])

            disk: dict[str, Any] | None = None
            if not args.scenarios or "artifacts" in args.scenarios:
                _enter_phase(pair, "artifacts")
                disk, transfer_rows = artifact_rounds(pair, fixtures, args, work / "raw-disk")
                for row in transfer_rows:
                    rows.append(row)
                    _print_row(name, row)

            official: dict[str, Any] = {}
            if args.client_calls and (not args.scenarios or "official_client" in args.scenarios):
                _enter_phase(pair, "official client")
                for server in pair:
                    official[server.name] = official_client(server, args.client_calls)
                    say(
                        f"[{name}] official client {server.name}: p50 {official[server.name]['p50_ms']:.2f} ms, "
                        f"p95 {official[server.name]['p95_ms']:.2f} ms, "
                        f"the client's own CPU p50 {official[server.name]['client_cpu_p50_ms']:.2f} ms"
                    )

            _enter_phase(pair, "raw ceilings")
            database.append(database_ceiling(name, backend, work, args))
            if disk is None:
                disk = ceilings.disk_speed(work / "raw-disk", args.artifact_mb * 2**20)
            for server in pair:
                assert server.memory is not None
                server.memory.sample()
            result: dict[str, Any] = {
                "backend": name,
                "scenarios": rows,
                "official_client": official,
                "ceilings": {"database": ceilings.highest(database), "disk": disk},
                "rss_peak_mib": {
                    "mlflow": round(mlflow.memory.peak_bytes / 2**20, 1) if mlflow.memory else None,
                    "gateway": round(gateway.memory.peak_bytes / 2**20, 1) if gateway.memory else None,
                    "mlflow_processes": mlflow.memory.processes if mlflow.memory else None,
                    "gateway_processes": gateway.memory.processes if gateway.memory else None,
                    "mlflow_peak_during": mlflow.memory.peak_phase() if mlflow.memory else None,
                    "gateway_peak_during": gateway.memory.peak_phase() if gateway.memory else None,
                },
                "search_pages_equal": pages_equal,
            }
            result["verdicts"] = judge(result)
            return result
        finally:
            for server in started:
                servers.stop(server)
            with contextlib.suppress(Exception):
                servers.drop_backend(backend, args.postgres)


def _enter_phase(pair: Sequence[Any], phase: str) -> None:
    """Attribute each server's next RSS samples to ``phase`` (its last sample to the one before)."""
    for server in pair:
        if server.memory is not None:
            server.memory.sample()
            server.memory.phase = phase


def database_ceiling(name: str, backend: Any, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from bench import ceilings

    say(f"[{name}] raw insert ceiling…")
    if name == "sqlite":
        return ceilings.sqlite_ceiling(work / "raw-ceiling.sqlite3", args.ceiling_seconds)
    return ceilings.postgres_ceiling(backend.gateway_url, args.ceiling_seconds)


def artifact_rounds(
    pair: Sequence[Any], fixtures: dict[str, Any], args: argparse.Namespace, raw_dir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``--artifact-repeats`` rounds, each the raw disk, then each server's upload and download of the
    same payload, one transfer at a time; returns the disk's speed and the two rows over all rounds."""
    from bench import ceilings, workloads
    from bench.artifacts import Payload, raw_local

    payload = Payload(args.artifact_mb * 2**20)
    disk_rounds: list[tuple[float, float]] = []
    rounds: dict[str, list[workloads.ArtifactRound]] = {server.name: [] for server in pair}
    for index in range(args.artifact_repeats):
        write, read = raw_local(payload, raw_dir)
        disk_rounds.append((write.seconds, read.seconds))
        for server in pair:
            rounds[server.name].append(
                run_async(workloads.artifact_round(server, fixtures[server.name], payload, index))
            )
    measured = {
        server.name: workloads.artifact_measurements(server, rounds[server.name], payload.size) for server in pair
    }
    rows = [
        _row(scenario, 1, {server: pair_[index] for server, pair_ in measured.items()})
        for index, scenario in enumerate(("artifact_upload", "artifact_download"))
    ]
    disk = ceilings.disk_over_rounds(disk_rounds, payload.size)
    disk["gateway_share_each"] = ceilings.paired_shares(disk_rounds, rounds["gateway"])
    return disk, rows


def _row(scenario: str, concurrency: int, measured: dict[str, Any]) -> dict[str, Any]:
    m, g = measured["mlflow"].to_json(), measured["gateway"].to_json()
    ratio = g["per_second"] / m["per_second"] if m["per_second"] else None
    return {
        "scenario": scenario,
        "concurrency": concurrency,
        "mlflow": m,
        "gateway": g,
        "ratio": None if ratio is None else round(ratio, 2),
    }


def _print_row(backend: str, row: dict[str, Any]) -> None:
    m, g = row["mlflow"], row["gateway"]
    ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
    errors = f" errors {m['errors']}/{g['errors']}" if m["errors"] or g["errors"] else ""
    say(
        f"[{backend}] {row['scenario']:<17} c={row['concurrency']:<3} {g['unit']:<12} "
        f"mlflow {m['per_second']:>10,.1f}/s p50 {m['p50_ms'] or 0:>8.1f} ms | "
        f"gateway {g['per_second']:>10,.1f}/s p50 {g['p50_ms'] or 0:>8.1f} ms | {ratio}{errors}"
    )
    for side in (m, g):
        if side["first_error"]:
            say(f"    {side['server']} first error: {side['first_error'][:300]}")


def official_client(server: Any, calls: int) -> dict[str, Any]:
    from bench.workloads import Measurement

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GATEWAY_"))}
    env["MLFLOW_TRACKING_URI"] = server.tracking_uri
    if server.token:
        env["MLFLOW_TRACKING_TOKEN"] = server.token
    done = subprocess.run(
        [str(server.python), str(ROOT / "bench" / "official_client.py"), str(calls)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"official client against {server.name} failed:\n{done.stderr[-2000:]}")
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    latencies = printed["latencies_ms"]
    measurement = Measurement("official_client", server.name, 1, len(latencies), 0, sum(latencies) / 1000, latencies)
    client_cpu = round(statistics.median(printed["client_cpu_ms"]), 2)
    return measurement.to_json() | {"calls": calls, "client_cpu_p50_ms": client_cpu}


# ------------------------------------------------------------------------------------------ main
def describe_environment(args: argparse.Namespace) -> dict[str, Any]:
    from bench.artifacts import describe_machine
    from bench.servers import MLFLOW_VERSION

    memory = 0.0
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        memory = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1]) / 2**20
    return {
        **describe_machine(),
        "memory_gib": round(memory, 1),
        "mlflow_version": MLFLOW_VERSION,
        "workers": args.workers,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "search_runs": args.search_runs,
        "history_points": args.history_points,
        "artifact_mb": args.artifact_mb,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma list (default: both)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server to make fresh databases on")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of each server (MLflow's default)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time window of each measurement")
    parser.add_argument("--concurrency", default="1,16", help="comma list of client concurrencies")
    parser.add_argument("--search-runs", type=int, default=10_000)
    parser.add_argument("--history-points", type=int, default=10_000)
    parser.add_argument("--artifact-mb", type=int, default=100)
    parser.add_argument("--artifact-repeats", type=int, default=5)
    parser.add_argument("--client-calls", type=int, default=200)
    parser.add_argument("--ceiling-seconds", type=float, default=3.0)
    parser.add_argument("--scenarios", default="", help="only these (comma list; artifacts, official_client too)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1.5 s windows, small data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--scratch", type=Path, default=None, help="parent of the temp dir (default: system temp)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.search_runs, args.history_points = 1.5, 2000, 2000
        args.artifact_mb, args.artifact_repeats, args.client_calls, args.ceiling_seconds = 20, 1, 50, 1.0
    args.concurrency = sorted({int(c) for c in args.concurrency.split(",") if c})
    args.backends = [b for b in args.backends.split(",") if b]
    args.scenarios = {s for s in args.scenarios.split(",") if s}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ensure_requirements()
    from bench import servers
    from bench.report import to_markdown

    began = time.monotonic()
    environment = describe_environment(args)
    mlflow_python = servers.ensure_mlflow_venv(say)
    backends = []
    for name in args.backends:
        if name == "postgresql" and not servers.postgres_reachable(args.postgres):
            say(f"[postgresql] {args.postgres} does not answer: skipped")
            continue
        try:
            backends.append(bench_backend(name, args, mlflow_python))
        except Exception as exc:  # noqa: BLE001 - one backend failing must not lose the other's results
            say(f"[{name}] FAILED: {type(exc).__name__}: {exc}")
    result = {"environment": environment, "backends": backends}
    markdown = to_markdown(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "compare-quick" if args.quick else "compare"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown + "\n")
    say("\n" + markdown)
    say(f"written {args.out / stem}.json and .md in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
