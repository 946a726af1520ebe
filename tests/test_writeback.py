"""Early writeback of uploads (``gateway.artifacts.writeback``): what it asks the kernel, and that it asks
a real kernel successfully; the local backend's whole-file guarantees are tested with the store."""

from __future__ import annotations

import ctypes
import io
import os
import sys
from pathlib import Path

import pytest

from gateway.artifacts import writeback
from gateway.artifacts.keys import ObjectKey
from gateway.artifacts.local import LocalBackend
from gateway.artifacts.writeback import Writeback

MiB = 1024 * 1024


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Every range whose writeback was started, as ``(fd, offset, length)``."""
    calls: list[tuple[int, int, int]] = []

    def record(fd: int, offset: int, length: int, flags: int) -> int:
        assert flags == 2  # SYNC_FILE_RANGE_WRITE: start writing, don't wait
        calls.append((fd, offset, length))
        return 0

    monkeypatch.setattr(writeback, "_START_WRITEBACK", record)
    return calls


def test_writeback_starts_once_per_interval_over_consecutive_ranges(started: list[tuple[int, int, int]]) -> None:
    tracker = Writeback(7, every=8 * MiB)
    for size in (3 * MiB, 3 * MiB, 3 * MiB, 1 * MiB, 7 * MiB, 2 * MiB):  # 19 MiB in all
        tracker.wrote(size)
    assert started == [(7, 0, 9 * MiB), (7, 9 * MiB, 8 * MiB)]  # the last 2 MiB are left to fsync


def test_a_local_upload_starts_writeback_as_it_goes(tmp_path: Path, started: list[tuple[int, int, int]]) -> None:
    payload = os.urandom(20 * MiB)
    backend = LocalBackend(tmp_path)
    key = ObjectKey("1/2/artifacts/big.bin")
    backend.put(key, io.BytesIO(payload))
    assert (tmp_path / key).read_bytes() == payload
    offsets = [offset for _, offset, _ in started]
    assert offsets and offsets[0] == 0 and offsets == sorted(offsets)
    assert sum(length for _, _, length in started) >= 16 * MiB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_kernel_accepts_the_call(tmp_path: Path) -> None:
    # The ctypes binding (argument types, flag) against the real system call, on a real file.
    assert writeback._START_WRITEBACK is not None
    with (tmp_path / "f").open("wb") as out:
        out.write(b"x" * MiB)
        out.flush()
        result = writeback._START_WRITEBACK(out.fileno(), 0, MiB, 2)
        assert result == 0, os.strerror(ctypes.get_errno())
        assert writeback._START_WRITEBACK(-1, 0, MiB, 2) == -1  # and failures come back as -1, not raised
