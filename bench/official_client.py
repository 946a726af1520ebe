"""Run inside a server's own virtualenv: the official client's per-call latency, sequentially.

``python official_client.py CALLS`` with ``MLFLOW_TRACKING_URI`` (and for the gateway
``MLFLOW_TRACKING_TOKEN``) set: creates an experiment and a run, warms up, then times ``CALLS``
calls of ``MlflowClient().log_metric`` one after the other and prints one JSON line: each call's
latency and the CPU time the client process itself spent in it (what no server can shorten).
Standard library and ``mlflow`` only (it runs in the stock server's venv too).
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from mlflow import MlflowClient


def main() -> None:
    calls = int(sys.argv[1])
    client = MlflowClient()
    experiment = client.create_experiment(f"official-client-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment).info.run_id
    for step in range(5):
        client.log_metric(run_id, "warm-up", float(step), step=step)
    latencies, client_cpu = [], []
    for step in range(calls):
        started, cpu_started = time.perf_counter(), time.process_time()
        client.log_metric(run_id, "loss", 1 / (step + 1), step=step)
        latencies.append((time.perf_counter() - started) * 1000)
        client_cpu.append((time.process_time() - cpu_started) * 1000)
    print(json.dumps({"latencies_ms": latencies, "client_cpu_ms": client_cpu}))


if __name__ == "__main__":
    main()
