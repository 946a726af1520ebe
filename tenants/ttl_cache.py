"""Short-lived, per-process memories of tenancy facts, and the one signal that empties them all.

Two caches use it: tokens already looked up (``tenants.token_cache``) and the access of a principal
to a project (``tenants.authorization.AccessCache``). An entry lives at most ``ttl_s`` seconds (default 5).

Any change to tenancy rows — users, tokens, groups and user namespaces, projects, memberships, CI
bindings — made through the ORM (a row added, changed or deleted in a flush, or a bulk ``DELETE``)
empties every cache of the process once its transaction commits. So, in the process that made the
change, the next request sees it; in other worker processes and replicas, within ``ttl_s`` seconds.
Bulk ``UPDATE``s do not invalidate: the only one is a token's ``last_used_at``, which decides nothing.
A lookup that began before such a change is not stored (``generation``). Must not: decide anything
about a token or a project; the caches only remember facts for ``tenants.authentication`` and
``tenants.authorization``.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from tenants.tables import AccessToken, CiProjectBinding, GroupMember, Namespace, Project, ProjectMember, User

MAX_ENTRIES = 10_000
K = TypeVar("K")
V = TypeVar("V")
_TENANCY_ROWS = (User, AccessToken, Namespace, Project, ProjectMember, GroupMember, CiProjectBinding)
_TENANCY_TABLES = frozenset(row.__tablename__ for row in _TENANCY_ROWS)
_CHANGED = "tenants.tenancy_changed"


class TtlCache(Generic[K, V]):
    """Key → value for ``ttl_s`` seconds; thread-safe; ``ttl_s = 0`` disables it."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[K, tuple[V, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _CACHES.add(self)

    @property
    def generation(self) -> int:
        """Read before the database lookup, passed to ``put``: a lookup older than a change is dropped."""
        return self._generation

    def get(self, key: K) -> V | None:
        if self.ttl_s <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, stored_at = entry
        if time.monotonic() - stored_at > self.ttl_s:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, generation: int) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (value, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


_CACHES: weakref.WeakSet[TtlCache[Any, Any]] = weakref.WeakSet()
"""Every cache of this process (two per app): a tenancy change anywhere in the process clears all."""


def clear_all() -> None:
    for cache in list(_CACHES):
        cache.clear()


@event.listens_for(Session, "after_flush")
def _note_tenancy_changes(session: Session, _flush_context: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, _TENANCY_ROWS):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_deletes(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None) if state.is_delete else None
    if table is not None and table.name in _TENANCY_TABLES:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        clear_all()


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)
