"""Artifact object keys: the only place a request's path becomes a storage key.

Owns: validation of client-supplied relative paths and the per-project key layout::

    projects/<project_id>/candidates/<candidate_iid>/<relative path>
    projects/<project_id>/model_versions/<id>/<relative path>      (issue 5)
    projects/<project_id>/logged_models/<model_id>/<relative path> (MLflow 3 logged models)

A stored key always starts with its project's prefix, and a relative path can never climb out
of it: ``..`` and ``.`` segments, absolute paths, backslashes, NUL and other control characters,
empty segments and (double-)encoded separators are refused with 400 before any store is touched.
Must not: know HTTP, MLflow or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NewType

from gateway.errors import InvalidParameter

ObjectKey = NewType("ObjectKey", str)
"""A store key built by this module (stores accept nothing else)."""

OwnerKind = Literal["candidates", "model_versions", "logged_models"]

MAX_SEGMENT_BYTES = 255
"""Longest file or directory name (the local filesystem's limit)."""
MAX_PATH_BYTES = 900
"""Longest relative path; with the project prefix a key stays under S3's 1024 bytes."""
_ENCODED_SEPARATORS = ("%2f", "%5c")


@dataclass(frozen=True, slots=True)
class RelativePath:
    """A validated path below an artifact root; ``()`` is the root itself."""

    segments: tuple[str, ...]

    @property
    def text(self) -> str:
        return "/".join(self.segments)

    @property
    def is_root(self) -> bool:
        return not self.segments

    @property
    def has_directories(self) -> bool:
        """True when the path names something below a directory of the root (``model/MLmodel``)."""
        return len(self.segments) > 1

    def join(self, other: RelativePath) -> RelativePath:
        return RelativePath(self.segments + other.segments)


ROOT = RelativePath(())


def relative_path(raw: str, *, what: str = "artifact path") -> RelativePath:
    """Validate ``raw`` (``""`` is the root) or raise 400 ``InvalidParameter`` naming the problem."""
    if raw == "":
        return ROOT
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise InvalidParameter(f"Invalid {what}: longer than {MAX_PATH_BYTES} bytes.")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise InvalidParameter(f"Invalid {what} {raw!r}: control characters (such as NUL) are not allowed.")
    if "\\" in raw:
        raise InvalidParameter(f"Invalid {what} {raw!r}: backslashes are not allowed; use '/'.")
    if raw.startswith("/"):
        raise InvalidParameter(f"Invalid {what} {raw!r}: it must be relative, not absolute.")
    segments = tuple(raw.split("/"))
    for segment in segments:
        _check_segment(raw, segment, what)
    return RelativePath(segments)


def file_name(raw: str, *, what: str = "file name") -> str:
    """One validated path segment (a file name without directories)."""
    path = relative_path(raw, what=what)
    if len(path.segments) != 1:
        raise InvalidParameter(f"Invalid {what} {raw!r}: expected one name without '/'.")
    return path.segments[0]


def _check_segment(raw: str, segment: str, what: str) -> None:
    if segment == "":
        raise InvalidParameter(f"Invalid {what} {raw!r}: empty path segments ('//' or a trailing '/') are not allowed.")
    if segment in (".", ".."):
        raise InvalidParameter(f"Invalid {what} {raw!r}: '.' and '..' segments are not allowed.")
    lowered = segment.lower()
    if any(encoded in lowered for encoded in _ENCODED_SEPARATORS):
        raise InvalidParameter(f"Invalid {what} {raw!r}: encoded path separators are not allowed.")
    if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
        raise InvalidParameter(f"Invalid {what}: the name {segment[:40]!r}… is longer than {MAX_SEGMENT_BYTES} bytes.")


@dataclass(frozen=True, slots=True)
class ArtifactRoot:
    """Where one owner's artifacts live: a run (candidate), a model version or a logged model."""

    project_id: int
    kind: OwnerKind
    owner_id: int | str

    def __post_init__(self) -> None:
        # Ids come from the database, but a key must never depend on that being true.
        for value in (self.project_id, self.owner_id):
            text = str(value)
            if not text or not all((c.isascii() and c.isalnum()) or c in "-_" for c in text):
                raise ValueError(f"unsafe artifact owner id {value!r}")

    @property
    def prefix(self) -> ObjectKey:
        return ObjectKey(f"projects/{self.project_id}/{self.kind}/{self.owner_id}")

    def key(self, path: RelativePath) -> ObjectKey:
        """The key of ``path`` below this root (the root's own prefix for ``ROOT``)."""
        if path.is_root:
            return self.prefix
        return ObjectKey(f"{self.prefix}/{path.text}")


def candidate_root(project_id: int, candidate_iid: int) -> ArtifactRoot:
    return ArtifactRoot(project_id, "candidates", candidate_iid)


def logged_model_root(project_id: int, model_id: str) -> ArtifactRoot:
    """An MLflow 3 logged model's files, by its ``model_id`` (random and never reused)."""
    return ArtifactRoot(project_id, "logged_models", model_id)
