"""Artifact transfer benchmark: one big file through the gateway, beside the raw store's own speed.

Run from the checkout (``python -m bench.artifacts --help``)::

    .venv/bin/python -m bench.artifacts --size-mb 1024 --store both

For each store it

1. measures the raw store: ``local`` writes the payload in 8 MiB chunks to a file on the same
   filesystem as the gateway's data dir, fsyncs, drops the file from the page cache
   (``posix_fadvise(DONTNEED)``) and reads it back from the disk; ``s3`` puts and gets the same
   payload straight to moto with the ``minio`` client, with the settings the gateway's S3 store
   uses (unknown length, 8 MiB parts);
2. starts the gateway as a subprocess (``python -m gateway serve``) on a fresh embedded default
   (SQLite in a temp data dir) on a free port, with local artifacts or ``s3://`` pointed at moto,
   and waits for ``/-/readiness``;
3. with the bootstrap token creates an experiment and a run through the MLflow REST API, streams
   the payload up (``PUT …/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/big.bin`` from a
   generator, ``Content-Length`` set, nothing buffered), downloads it twice (``GET``,
   ``iter_bytes``): once checking size and sha256, once only counting bytes; on the local store the
   stored file is dropped from the page cache before each download, as the raw file was before its
   read, so both sides read the disk (a cached read is memory speed, which no HTTP transfer matches);
4. reads the gateway process's memory from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``; the
   peak is reset through ``/proc/<pid>/clear_refs`` just before the transfers, so the reported
   peak belongs to them) and its CPU time from ``/proc/<pid>/stat``.

Results go to stdout as Markdown and to ``<out>/artifacts-<store>.{json,md}``. Scratch space is a
``*.tmp`` directory in ``<out>`` (git ignores it), removed at the end; subprocesses are always
stopped. moto is an in-memory S3 emulator: its numbers show the gateway's overhead over a direct
client, not S3's speed. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx
from minio import Minio

MIB = 1024 * 1024
CHUNK = 8 * MIB
DISTINCT_BLOCKS = 16
"""The payload cycles through this many random 8 MiB blocks: unique enough, and free to generate."""
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results"
MLFLOW = "/api/v4/projects/1/ml/mlflow"
ARTIFACT_NAME = "big.bin"
BOOTSTRAP_TOKEN_FILE = "bootstrap-token"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
TRANSFER_TIMEOUT_S = 1800.0

TARGET_PERCENT_OF_RAW = 80.0
TARGET_RSS_GROWTH_MIB = 100.0

S3_BUCKET = "mlgateway-bench"
S3_PREFIX = "gateway"
S3_REGION = "us-east-1"
S3_ACCESS_KEY = "bench-access-key"
S3_SECRET_KEY = "bench-secret-key"  # moto accepts any credentials


# ------------------------------------------------------------------------------------------ payload
class Payload:
    """``size`` bytes as a stream of chunks (at most ``CHUNK`` each) with a known sha256."""

    def __init__(self, size: int) -> None:
        self.size = size
        count = min(DISTINCT_BLOCKS, max(1, -(-size // CHUNK)))
        self._blocks = [os.urandom(CHUNK) for _ in range(count)]
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        self.sha256 = digest.hexdigest()

    def chunks(self) -> Iterator[bytes]:
        left, index = self.size, 0
        while left > 0:
            block = self._blocks[index % len(self._blocks)]
            chunk = block if left >= CHUNK else block[:left]
            yield chunk
            left -= len(chunk)
            index += 1


class PayloadReader:
    """The payload as the file-like object ``minio.put_object`` reads parts from."""

    def __init__(self, payload: Payload) -> None:
        self._chunks = payload.chunks()
        self._current = b""
        self._offset = 0

    def read(self, size: int = -1, /) -> bytes:
        if self._offset >= len(self._current):
            self._current, self._offset = next(self._chunks, b""), 0
        start = self._offset
        end = len(self._current) if size < 0 else min(len(self._current), start + size)
        self._offset = end
        if start == 0 and end == len(self._current):
            return self._current  # a whole chunk: no copy
        return self._current[start:end]


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Transfer:
    name: str
    bytes: int
    seconds: float
    gateway_cpu_seconds: float | None = None
    """User + system CPU time the gateway process spent during the transfer."""

    @property
    def mib_per_s(self) -> float:
        return self.bytes / MIB / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Memory:
    rss_mib: float
    hwm_mib: float


@dataclass
class StoreResult:
    store: str
    size_bytes: int
    sha256: str
    raw_write: Transfer
    raw_read: Transfer
    upload: Transfer
    download: Transfer
    """Measured with curl when it is installed: a client that is not itself the bottleneck."""
    download_python: Transfer
    download_verified: Transfer
    rss_before_mib: float
    startup_peak_mib: float
    peak_mib: float
    peak_reset: bool
    rss_after_upload_mib: float
    rss_after_mib: float
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def upload_percent(self) -> float:
        return 100.0 * self.upload.mib_per_s / self.raw_write.mib_per_s

    @property
    def best_download(self) -> Transfer:
        """The faster byte-counting client: each caps a loopback transfer with its own per-chunk work."""
        return max(self.download, self.download_python, key=lambda transfer: transfer.mib_per_s)

    @property
    def download_percent(self) -> float:
        return 100.0 * self.download.mib_per_s / self.raw_read.mib_per_s

    @property
    def best_download_percent(self) -> float:
        return 100.0 * self.best_download.mib_per_s / self.raw_read.mib_per_s

    @property
    def download_python_percent(self) -> float:
        return 100.0 * self.download_python.mib_per_s / self.raw_read.mib_per_s

    @property
    def download_verified_percent(self) -> float:
        return 100.0 * self.download_verified.mib_per_s / self.raw_read.mib_per_s

    @property
    def rss_growth_mib(self) -> float:
        return self.peak_mib - self.rss_before_mib

    def to_json(self) -> dict[str, Any]:
        transfers = ("raw_write", "raw_read", "upload", "download", "download_python", "download_verified")
        data = asdict(self)
        for name in transfers:
            data[name]["mib_per_s"] = round(getattr(self, name).mib_per_s, 1)
        data["percent_of_raw"] = {
            "upload_vs_raw_write": round(self.upload_percent, 1),
            "download_vs_raw_read": round(self.download_percent, 1),
            "download_python_vs_raw_read": round(self.download_python_percent, 1),
            "download_verified_vs_raw_read": round(self.download_verified_percent, 1),
        }
        data["rss_growth_mib"] = round(self.rss_growth_mib, 1)
        data["targets"] = {
            "percent_of_raw": TARGET_PERCENT_OF_RAW,
            "rss_growth_mib": TARGET_RSS_GROWTH_MIB,
            "upload_met": self.upload_percent >= TARGET_PERCENT_OF_RAW,
            "download_judged_on": self.best_download.name,
            "download_met": self.best_download_percent >= TARGET_PERCENT_OF_RAW,
            "rss_met": self.rss_growth_mib < TARGET_RSS_GROWTH_MIB,
        }
        return data


# ------------------------------------------------------------------------------------------ /proc
def read_memory(pid: int) -> Memory:
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024  # kB → MiB
    return Memory(values["VmRSS"], values["VmHWM"])


def reset_peak(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ≥ 4.0); False when the kernel refuses."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------ raw stores
def drop_from_page_cache(path: Path) -> None:
    """Make the next read of ``path`` come from the disk: its pages are clean (fsynced), so they go."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def raw_local(payload: Payload, directory: Path) -> tuple[Transfer, Transfer]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "raw.bin"
    try:
        started = time.perf_counter()
        with open(path, "xb") as out:
            for chunk in payload.chunks():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        write = Transfer("raw write", payload.size, time.perf_counter() - started)

        drop_from_page_cache(path)
        buffer = bytearray(CHUNK)
        total = 0
        started = time.perf_counter()
        with open(path, "rb", buffering=0) as source:
            while count := source.readinto(buffer):
                total += count
        read = Transfer("raw read", total, time.perf_counter() - started)
    finally:
        path.unlink(missing_ok=True)
    _expect(total == payload.size, f"raw read returned {total} bytes, expected {payload.size}")
    return write, read


def raw_s3(payload: Payload, client: Minio) -> tuple[Transfer, Transfer]:
    name = "raw/raw.bin"
    try:
        started = time.perf_counter()
        client.put_object(
            S3_BUCKET,
            name,
            cast(BinaryIO, PayloadReader(payload)),
            length=-1,
            part_size=CHUNK,
            num_parallel_uploads=1,
        )
        write = Transfer("raw put (minio → moto)", payload.size, time.perf_counter() - started)

        total = 0
        started = time.perf_counter()
        response = client.get_object(S3_BUCKET, name)
        try:
            for chunk in response.stream(CHUNK):
                total += len(chunk)
        finally:
            response.close()
            response.release_conn()
        read = Transfer("raw get (moto → minio)", total, time.perf_counter() - started)
    finally:
        client.remove_object(S3_BUCKET, name)
    _expect(total == payload.size, f"raw get returned {total} bytes, expected {payload.size}")
    return write, read


# ------------------------------------------------------------------------------------------ subprocesses
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class Gateway:
    pid: int
    url: str
    token: str


@contextlib.contextmanager
def run_gateway(work: Path, extra_env: Mapping[str, str]) -> Iterator[Gateway]:
    """``python -m gateway serve`` on a fresh embedded default in ``work``; stopped on exit."""
    data_dir = work / "gateway-data"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATA_DIR=str(data_dir),
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(port),
        GATEWAY_WORKERS="1",
        **extra_env,
    )
    log = work / "gateway.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _ready(url), process, log, "the gateway's /-/readiness")
        token = (data_dir / BOOTSTRAP_TOKEN_FILE).read_text().strip()
        yield Gateway(process.pid, url, token)
    finally:
        stop(process)


@contextlib.contextmanager
def run_moto(work: Path) -> Iterator[str]:
    """moto's S3 in server mode in its own process; yields ``host:port``."""
    port = free_port()
    log = work / "moto.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: _accepts(port), process, log, "moto")
        yield f"127.0.0.1:{port}"
    finally:
        stop(process)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/readiness", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_for(check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not check():
        if process.poll() is not None:
            raise BenchmarkError(f"{what} exited with {process.returncode}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise BenchmarkError(f"{what} not ready after {START_TIMEOUT_S:.0f}s:\n{log_tail(log)}")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------ the gateway run
@dataclass(frozen=True)
class GatewayRun:
    upload: Transfer
    download: Transfer
    download_python: Transfer
    download_verified: Transfer
    before: Memory
    peak_reset: bool
    after_upload: Memory
    after: Memory


def through_gateway(gateway: Gateway, payload: Payload, before_download: Callable[[], None]) -> GatewayRun:
    headers = {"Authorization": f"Bearer {gateway.token}"}
    timeout = httpx.Timeout(30.0, read=TRANSFER_TIMEOUT_S, write=TRANSFER_TIMEOUT_S)
    with httpx.Client(base_url=gateway.url + MLFLOW, headers=headers, timeout=timeout) as client:
        experiment = _post(client, "experiments/create", {"name": f"bench-{uuid.uuid4().hex[:12]}"})
        experiment_id = str(experiment["experiment_id"])
        run = _post(client, "runs/create", {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})
        run_id = str(run["run"]["info"]["run_id"])
        path = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/{ARTIFACT_NAME}"

        before = read_memory(gateway.pid)
        peak_reset = reset_peak(gateway.pid)

        cpu = cpu_seconds(gateway.pid)
        started = time.perf_counter()
        response = client.put(
            path,
            content=payload.chunks(),
            headers={"Content-Length": str(payload.size), "Content-Type": "application/octet-stream"},
        )
        upload_s = time.perf_counter() - started
        _expect(response.status_code == 200, f"upload answered {response.status_code}: {response.text[:500]}")
        upload = Transfer("gateway upload (PUT)", payload.size, upload_s, cpu_seconds(gateway.pid) - cpu)
        after_upload = read_memory(gateway.pid)

        before_download()
        download_verified = _download(client, path, payload, gateway.pid, verify=True)
        before_download()
        download_python = _download(client, path, payload, gateway.pid, verify=False)
        download = download_python
        if shutil.which("curl"):
            before_download()
            download = _download_with_curl(gateway, MLFLOW + path, payload, gateway.pid)
        after = read_memory(gateway.pid)
    return GatewayRun(upload, download, download_python, download_verified, before, peak_reset, after_upload, after)


def _post(client: httpx.Client, method: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/2.0/mlflow/{method}", json=body)
    _expect(response.status_code == 200, f"{method} answered {response.status_code}: {response.text[:500]}")
    answer: dict[str, Any] = response.json()
    return answer


def _download(client: httpx.Client, path: str, payload: Payload, pid: int, *, verify: bool) -> Transfer:
    digest = hashlib.sha256()
    total = 0
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    with client.stream("GET", path) as response:
        _expect(response.status_code == 200, f"download answered {response.status_code}")
        declared = response.headers.get("content-length")
        _expect(declared == str(payload.size), f"download declared Content-Length {declared}, not {payload.size}")
        for chunk in response.iter_bytes():
            total += len(chunk)
            if verify:
                digest.update(chunk)
    seconds = time.perf_counter() - started
    _expect(total == payload.size, f"downloaded {total} bytes, expected {payload.size}")
    if verify:
        _expect(digest.hexdigest() == payload.sha256, "the downloaded file's sha256 differs from the uploaded one")
    name = "gateway download + client sha256" if verify else "gateway download (GET, httpx)"
    return Transfer(name, total, seconds, cpu_seconds(pid) - cpu)


CURL_TIMED = "%{http_code} %{time_total} %{size_download}"
"""What curl prints after a transfer (``--write-out``). The time is curl's own, from the start of the
request to its last byte: curl's process start-up (~9 ms here, a tenth of a 100 MiB transfer) is not
the server's, and the raw disk measure it is compared with has none."""


def curl_timed(printed: bytes | str) -> tuple[int, float, int]:
    """``(status, seconds, bytes received)`` from ``CURL_TIMED``'s output (zeros when curl printed nothing)."""
    text = printed.decode() if isinstance(printed, bytes) else printed
    status, seconds, size = [*text.split(), "0", "0", "0"][:3]
    return int(status), float(seconds), int(size)


def _download_with_curl(gateway: Gateway, path: str, payload: Payload, pid: int) -> Transfer:
    """The server's download speed, read by curl into /dev/null (httpx in Python tops out first)."""
    cpu = cpu_seconds(pid)
    finished = subprocess.run(
        ["curl", "--silent", "--show-error", "--output", "/dev/null", "--write-out", CURL_TIMED,
         "--header", f"Authorization: Bearer {gateway.token}", gateway.url + path],
        capture_output=True, text=True, timeout=TRANSFER_TIMEOUT_S, check=False,
    )  # fmt: skip
    status, seconds, size = curl_timed(finished.stdout)
    _expect(finished.returncode == 0 and status == 200, f"curl download failed: {finished.stdout} {finished.stderr}")
    _expect(size == payload.size, f"curl downloaded {size} bytes, expected {payload.size}")
    return Transfer("gateway download (GET, curl)", payload.size, seconds, cpu_seconds(pid) - cpu)


# ------------------------------------------------------------------------------------------ one store
def bench_store(store: str, payload: Payload, scratch: Path) -> StoreResult:
    work = Path(tempfile.mkdtemp(prefix=f"artifacts-{store}-", suffix=".tmp", dir=scratch))
    try:
        environment = describe_environment(store, work)
        if store == "local":
            raw_write, raw_read = raw_local(payload, work / "raw")
            with run_gateway(work, {}) as gateway:
                _expect(
                    os.stat(work / "raw").st_dev == os.stat(work / "gateway-data").st_dev,
                    "the raw file and the gateway's data dir are on different filesystems",
                )
                run = through_gateway(gateway, payload, lambda: _drop_stored_file(work / "gateway-data"))
        else:
            with run_moto(work) as endpoint:
                client = Minio(endpoint, S3_ACCESS_KEY, S3_SECRET_KEY, secure=False, region=S3_REGION)
                client.make_bucket(S3_BUCKET)
                raw_write, raw_read = raw_s3(payload, client)
                settings = {
                    "GATEWAY_ARTIFACTS_URI": f"s3://{S3_BUCKET}/{S3_PREFIX}",
                    "GATEWAY_ARTIFACTS_S3_ENDPOINT": endpoint,
                    "GATEWAY_ARTIFACTS_S3_ACCESS_KEY": S3_ACCESS_KEY,
                    "GATEWAY_ARTIFACTS_S3_SECRET_KEY": S3_SECRET_KEY,
                    "GATEWAY_ARTIFACTS_S3_REGION": S3_REGION,
                    "GATEWAY_ARTIFACTS_S3_SECURE": "false",
                }
                with run_gateway(work, settings) as gateway:
                    run = through_gateway(gateway, payload, lambda: None)  # moto keeps objects in memory
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return StoreResult(
        store=store,
        size_bytes=payload.size,
        sha256=payload.sha256,
        raw_write=raw_write,
        raw_read=raw_read,
        upload=run.upload,
        download=run.download,
        download_python=run.download_python,
        download_verified=run.download_verified,
        rss_before_mib=run.before.rss_mib,
        startup_peak_mib=run.before.hwm_mib,
        peak_mib=run.after.hwm_mib,
        peak_reset=run.peak_reset,
        rss_after_upload_mib=run.after_upload.rss_mib,
        rss_after_mib=run.after.rss_mib,
        environment=environment,
    )


def describe_machine() -> dict[str, Any]:
    """When, at which commit and on what a benchmark ran (shared by every bench's results)."""
    cpu_model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def describe_environment(store: str, work: Path) -> dict[str, Any]:
    return {
        **describe_machine(),
        "store": "local files (embedded default)" if store == "local" else "S3 via moto server mode (in memory)",
        "scratch_filesystem": _filesystem_of(work),
        "chunk_bytes": CHUNK,
    }


def _filesystem_of(path: Path) -> str:
    best, kind = "", ""
    resolved = str(path.resolve())
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        for line in mounts:
            device, mount_point, fs_type = line.split()[:3]
            if (resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")) and len(
                mount_point
            ) >= len(best):
                best, kind = mount_point, f"{fs_type} ({device} on {mount_point})"
    return kind


def _drop_stored_file(data_dir: Path) -> None:
    stored = list((data_dir / "artifacts").rglob(ARTIFACT_NAME))
    _expect(len(stored) == 1, f"expected one stored {ARTIFACT_NAME} under {data_dir}, found {stored}")
    drop_from_page_cache(stored[0])


# ------------------------------------------------------------------------------------------ report
def to_markdown(result: StoreResult) -> str:
    env = result.environment
    size_mib = result.size_bytes / MIB
    local = result.store == "local"
    cold = "; stored file dropped from the page cache first" if local else ""
    download_note = (
        "curl into /dev/null, size checked"
        if "curl" in result.download.name
        else "`iter_bytes`, size checked (no curl here)"
    )
    raw_write_note = "8 MiB writes, then fsync" if local else "minio put_object, unknown length, 8 MiB parts"
    raw_read_note = "from the disk: dropped from the page cache first" if local else "minio get_object"
    lines = [
        f"## Artifacts benchmark: {result.store} store, {size_mib:.0f} MiB",
        "",
        f"{env['date']}, commit `{env['commit']}`, {env['cpus']} CPUs ({env['cpu_model']}), "
        f"load {env['load_average_1m']} at start, Linux {env['kernel']}, Python {env['python']}; "
        f"store: {env['store']}; scratch on {env['scratch_filesystem']}.",
        "",
        "| transfer | MiB/s | % of raw | seconds | gateway CPU s | notes |",
        "|---|---:|---:|---:|---:|---|",
        _row(result.raw_write, None, raw_write_note),
        _row(result.raw_read, None, raw_read_note),
        _row(result.upload, result.upload_percent, "vs raw write; streamed from a generator, Content-Length set"),
        _row(result.download, result.download_percent, f"vs raw read; {download_note}{cold}"),
        _row(result.download_python, result.download_python_percent, f"vs raw read; `iter_bytes`, size checked{cold}"),
        _row(
            result.download_verified,
            result.download_verified_percent,
            f"vs raw read; the client also hashes every byte (sha256 matched){cold}",
        ),
        "",
        "| gateway memory | MiB |",
        "|---|---:|",
        f"| RSS before the transfers (VmRSS) | {result.rss_before_mib:.1f} |",
        f"| peak before the transfers, start-up included (VmHWM) | {result.startup_peak_mib:.1f} |",
        f"| peak during the transfers (VmHWM{', reset just before' if result.peak_reset else ''}) "
        f"| {result.peak_mib:.1f} |",
        f"| RSS after the upload | {result.rss_after_upload_mib:.1f} |",
        f"| RSS after the downloads | {result.rss_after_mib:.1f} |",
        f"| **growth** (peak during minus RSS before) | **{result.rss_growth_mib:.1f}** |",
        "",
        f"Targets (issue 4): ≥ {TARGET_PERCENT_OF_RAW:.0f} % of raw store speed — upload "
        f"{_verdict(result.upload_percent >= TARGET_PERCENT_OF_RAW)} ({result.upload_percent:.0f} %), download "
        f"{_verdict(result.best_download_percent >= TARGET_PERCENT_OF_RAW)} ({result.best_download_percent:.0f} %, "
        f"{result.best_download.name}); "
        f"RSS growth < {TARGET_RSS_GROWTH_MIB:.0f} MiB — {_verdict(result.rss_growth_mib < TARGET_RSS_GROWTH_MIB)} "
        f"({result.rss_growth_mib:.1f} MiB).",
        "",
    ]
    if local:
        lines.append(
            "Both the raw read and each gateway download start with the file dropped from the page cache "
            "(posix_fadvise DONTNEED after fsync), so both measure reading the disk, not memory."
        )
    else:
        lines.append(
            "moto is an in-memory S3 emulator in its own process: these numbers show the gateway's overhead "
            "over a direct minio client, not S3's or MinIO's speed."
        )
    lines.append(
        "The download target is judged on the faster of the two byte-counting clients (curl, httpx): "
        "each client's own per-chunk work can cap a loopback transfer before the gateway does."
    )
    lines.append(
        "Client, gateway (and moto) share the machine's CPUs; MiB = 2^20 bytes. "
        "Re-run: `.venv/bin/python -m bench.artifacts`."
    )
    return "\n".join(lines) + "\n"


def _row(transfer: Transfer, percent: float | None, note: str) -> str:
    percent_text = "—" if percent is None else f"{percent:.0f} %"
    cpu = "—" if transfer.gateway_cpu_seconds is None else f"{transfer.gateway_cpu_seconds:.2f}"
    return f"| {transfer.name} | {transfer.mib_per_s:.0f} | {percent_text} | {transfer.seconds:.2f} | {cpu} | {note} |"


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def write_results(result: StoreResult, out: Path, markdown: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"artifacts-{result.store}.json", out / f"artifacts-{result.store}.md"]
    paths[0].write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(markdown)
    return paths


# ------------------------------------------------------------------------------------------ entry point
class BenchmarkError(RuntimeError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.artifacts", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--store", choices=("local", "s3", "both"), default="local", help="default: local")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (default bench/results)")
    parser.add_argument(
        "--scratch",
        type=Path,
        help="where the temp data dirs go (default: the results folder, as *.tmp); "
        "the raw file and the gateway's data dir always share it",
    )
    args = parser.parse_args(argv)
    if args.size_mb < 1:
        parser.error("--size-mb must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    scratch: Path = args.scratch or args.out
    scratch.mkdir(parents=True, exist_ok=True)
    payload = Payload(args.size_mb * MIB)
    for store in stores:
        print(f"… {store}: {args.size_mb} MiB", file=sys.stderr, flush=True)
        try:
            result = bench_store(store, payload, scratch)
        except BenchmarkError as error:
            print(f"bench.artifacts: {store}: {error}", file=sys.stderr)
            return 1
        markdown = to_markdown(result)
        print(markdown)
        for path in write_results(result, args.out, markdown):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
