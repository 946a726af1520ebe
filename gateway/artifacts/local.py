"""Artifacts in a local directory (the embedded default: ``<data dir>/artifacts``).

An upload is written to ``<root>/.staging/`` (same filesystem as the objects), flushed to disk (the
disk starts writing it as it arrives: ``gateway.artifacts.writeback``) and then moved into place with
``os.replace``: readers see the whole file or nothing, and an interrupted upload leaves only a
staging file that no listing shows. Keys never start with a dot, so ``.staging`` cannot collide with
an object.

Symlinks are refused everywhere: a path whose resolved form differs from its lexical form (a
link on the way, or the object itself a link) is treated as missing, so a link planted in the
tree cannot lead a request outside the root. Must not: accept a path that is not an ``ObjectKey``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from gateway.artifacts.backend import Entry, NoMultipart, Readable
from gateway.artifacts.keys import ObjectKey
from gateway.artifacts.writeback import Writeback
from gateway.errors import InvalidParameter, NotFound

WRITE_CHUNK = 8 * 1024 * 1024
STAGING_DIR = ".staging"


class LocalBackend(NoMultipart):
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = Path(os.path.realpath(root))
        self._staging = self.root / STAGING_DIR

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    # ------------------------------------------------------------------------------- objects
    def put(self, key: ObjectKey, source: Readable) -> None:
        target = self._path(key)
        self._staging.mkdir(exist_ok=True)
        fd, staged = tempfile.mkstemp(dir=self._staging, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                writeback = Writeback(fd)
                while chunk := source.read1(WRITE_CHUNK):
                    out.write(chunk)
                    writeback.wrote(len(chunk))
                out.flush()
                os.fsync(fd)
            self._place(staged, key, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise

    def open(self, key: ObjectKey) -> _FileReader:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # missing, a link, a file where a directory was expected, unreadable
            raise _missing() from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise _missing()
        return _FileReader(os.fdopen(fd, "rb"), info.st_size)

    def list(self, key: ObjectKey) -> list[Entry]:
        try:
            path = self._path(key)
            with os.scandir(path) as listing:
                children = list(listing)
        except (NotFound, FileNotFoundError, NotADirectoryError):
            return []
        entries = []
        for child in children:
            try:
                if child.is_symlink():
                    continue
                if child.is_dir(follow_symlinks=False):
                    entries.append(Entry(child.name, True, None))
                elif child.is_file(follow_symlinks=False):
                    entries.append(Entry(child.name, False, child.stat(follow_symlinks=False).st_size))
            except FileNotFoundError:  # deleted while we looked
                continue
        return sorted(entries, key=lambda entry: entry.name)

    def delete(self, key: ObjectKey) -> None:
        try:
            path = self._path(key)
        except NotFound:
            return
        with contextlib.suppress(FileNotFoundError):  # a concurrent delete got there first
            if path.is_dir():
                shutil.rmtree(path)  # never follows links inside the tree
            else:
                path.unlink()

    def ping(self) -> None:
        self._staging.mkdir(exist_ok=True)
        if not os.access(self._staging, os.W_OK | os.X_OK):
            raise PermissionError(f"{self._staging} is not writable")

    # ------------------------------------------------------------------------------- helpers
    def _path(self, key: ObjectKey) -> Path:
        lexical = self.root / key
        if os.path.realpath(lexical) != str(lexical):
            raise _missing()  # a symlink on the way (or a key that is not normalised)
        return lexical

    def _place(self, staged: str, key: ObjectKey, target: Path) -> None:
        for attempt in (1, 2):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise _in_the_way() from None
            self._path(key)  # the directories just made (or found) must still be free of links
            if target.is_dir():
                raise _in_the_way()
            try:
                os.replace(staged, target)
                return
            except FileNotFoundError:  # a concurrent delete removed the directory: make it again, once
                if attempt == 2:
                    raise


class _FileReader:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    @property
    def size(self) -> int | None:
        return self._size

    @property
    def file(self) -> BinaryIO:
        return self._handle

    def read(self, size: int, /) -> bytes:
        return self._handle.read(size)

    def close(self) -> None:
        self._handle.close()


def _missing() -> NotFound:
    return NotFound("Artifact not found.")


def _in_the_way() -> InvalidParameter:
    return InvalidParameter(
        "Cannot store the artifact: a file and a directory cannot share a name "
        "(part of its path is an existing file, or the path is an existing directory)."
    )
