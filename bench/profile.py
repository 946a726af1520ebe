"""Profile the gateway under one scenario's load with py-spy (the ``bench`` extra).

    .venv/bin/python -m bench.profile log_metric --concurrency 16 --seconds 10 [--backend postgresql]

Starts only the gateway (same setup as ``bench.compare``), seeds what the scenario needs, and runs
``py-spy record --subprocesses`` on the server's process tree while the load runs. Writes the
collapsed stacks to ``<out>/profile-<scenario>.txt`` and prints the functions with the most samples
(inclusive, then exclusive), so that optimisation follows a measurement, not a guess.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import time
from pathlib import Path

from bench.compare import DEFAULT_POSTGRES, ROOT, run_async
from bench.servers import cpu_seconds, make_backend, scratch, start_gateway, stop, tree_cpu_seconds


def summarize(collapsed: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if any("_worker" in f and "threading" in f for f in frames[:3]) and len(frames) <= 6:
            continue  # idle pool threads waiting for work
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            exclusive[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "exclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in exclusive.most_common(top)]
    return "\n".join(lines)


def postgres_cpu_seconds() -> float:
    """CPU time of every ``postgres`` process on the machine: the server the gateway's queries run in
    (on a bench machine nothing else uses it)."""
    import psutil

    return cpu_seconds(p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--search-runs", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--idle", action="store_true", help="include idle threads")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profiles.tmp")
    parser.add_argument("--no-spy", action="store_true", help="only measure server CPU per request")
    args = parser.parse_args()

    from bench import seed, workloads
    from bench.servers import drop_backend

    scenario = next(s for s in workloads.SCENARIOS if s.name == args.scenario)
    with scratch(None) as work:
        backend = make_backend(args.backend, work, args.postgres)
        gateway = start_gateway(backend, work, args.workers)
        try:
            fx = run_async(workloads.prepare(gateway, workers=args.concurrency, history_points=10_000))
            if scenario.name == "search_runs":
                project_id = int(gateway.tracking_uri.split("/projects/")[1].split("/")[0])
                data = seed.search_runs_data(args.search_runs)
                seed.seed_gateway(backend.gateway_url, project_id, fx.search_experiment, data)
                if args.backend == "postgresql":
                    seed.analyze(backend.gateway_url)
            args.out.mkdir(parents=True, exist_ok=True)
            out = args.out / f"profile-{scenario.name}.txt"
            spy = (
                None
                if args.no_spy
                else subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--subprocesses",
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--output",
                        str(out),
                        "--pid",
                        str(gateway.pid),
                        *([] if not args.idle else ["--idle"]),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            time.sleep(1.0)
            cpu_before = tree_cpu_seconds(gateway.pid)
            database_before = postgres_cpu_seconds()
            client_before = time.process_time()
            measured = run_async(
                workloads.run_scenario(scenario, gateway, fx, concurrency=args.concurrency, seconds=args.seconds)
            )
            cpu = tree_cpu_seconds(gateway.pid) - cpu_before
            database_cpu = postgres_cpu_seconds() - database_before
            client_cpu = time.process_time() - client_before
            requests = max(1, measured.done + 1)
            print(measured.to_json())
            print(f"server CPU per request: {1000 * cpu / requests:.2f} ms")
            print(f"bench client CPU per request: {1000 * client_cpu / requests:.2f} ms")
            if args.backend == "postgresql":
                print(f"PostgreSQL server CPU per request: {1000 * database_cpu / requests:.2f} ms")
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
                print(summarize(out, args.top))
        finally:
            stop(gateway)
            drop_backend(backend, args.postgres)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
