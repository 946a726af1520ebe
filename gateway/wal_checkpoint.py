"""SQLite WAL checkpoints from a thread of their own, after the writer gate is given back.

SQLite checkpoints on its own: the commit that takes the WAL past ``wal_autocheckpoint`` pages (1000
by default) copies the WAL's pages into the database file and syncs both before it returns. In the
gateway that commit still holds the writer gate (``gateway.db.WriterGate``), so every writer queued
behind it waited for that I/O as well: writing 1000-metric batches straight through ``log_points``,
a commit took 1.2 ms at the median and 3.8 ms on average, the difference being the checkpoints.

Here each process checkpoints from a background thread instead, on a connection of its own. A short
while (``delay_s``) after a commit, the thread reads how many pages of the WAL are not in the database
file yet (from the WAL-index header in ``<database>-shm``, whose layout SQLite documents:
https://www.sqlite.org/walformat.html) and checkpoints once they are ``THRESHOLD_PAGES``, SQLite's own
threshold. A checkpoint after every commit instead cost a fifth of ``create_run``'s throughput (every
checkpoint syncs two files). A ``PASSIVE`` checkpoint takes no write lock: writers go on while it
copies. SQLite's own automatic checkpoint stays as the safety net, raised to ``SAFETY_NET_PAGES``:
should this thread fall behind, or a process without it write (the admin CLI, a migration), a commit
still checkpoints by itself.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import threading

THRESHOLD_PAGES = 1000
"""Checkpoint once this many pages of the WAL are not in the database file (SQLite's default)."""
SAFETY_NET_PAGES = 10_000
"""``wal_autocheckpoint`` of the gateway's connections (~40 MB of 4 KiB pages; SQLite's default is 1000)."""
DELAY_S = 0.1
"""How long after a commit its checkpoint starts: commits within that time share it."""

_MX_FRAME_AT, _BACKFILLED_AT = 16, 96
"""Offsets in the WAL-index of ``mxFrame`` (the WAL's last valid frame) and ``nBackfill`` (frames
already copied into the database), 32-bit integers in the machine's byte order."""

log = logging.getLogger("gateway.db")


class WalCheckpointer:
    """Checkpoints ``database_path``'s WAL in a daemon thread, started by the first ``committed``."""

    def __init__(self, database_path: str, delay_s: float = DELAY_S, threshold_pages: int = THRESHOLD_PAGES) -> None:
        self._path = database_path
        self._delay_s = delay_s
        self._threshold_pages = threshold_pages
        self._due = threading.Event()
        self._closing = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """A write transaction committed (and gave the gate back): its pages will be checkpointed."""
        if self._thread is None:
            self._start()
        self._due.set()

    def pages_to_copy(self) -> int | None:
        """Pages of the WAL not yet copied into the database file; ``None`` when there is no WAL-index."""
        try:
            with open(self._path + "-shm", "rb", buffering=0) as index:
                header = index.read(_BACKFILLED_AT + 4)
        except FileNotFoundError:
            return None
        if len(header) < _BACKFILLED_AT + 4:
            return None
        last_frame: int = struct.unpack_from("=I", header, _MX_FRAME_AT)[0]
        backfilled: int = struct.unpack_from("=I", header, _BACKFILLED_AT)[0]
        return max(0, last_frame - backfilled)

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One ``PASSIVE`` checkpoint: copies what no reader still needs; never waits for a lock."""
        busy, wal_pages, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy:
            log.debug("WAL checkpoint: another checkpoint was running")
        elif copied < wal_pages:
            log.debug("WAL checkpoint: copied %d of %d pages (readers hold the rest)", copied, wal_pages)

    def close(self) -> None:
        """Stop the thread; what it had not checkpointed yet, SQLite checkpoints when the database's
        last connection closes."""
        self._closing.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while not self._closing.is_set():
                self._due.wait()
                if self._closing.wait(self._delay_s):
                    return
                self._due.clear()  # a commit from now on asks for the next look
                pending = self.pages_to_copy()
                if pending is not None and pending < self._threshold_pages:
                    continue
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # a full disk, say: the safety net still checkpoints
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()
