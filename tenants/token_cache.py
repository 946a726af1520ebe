"""A short-lived, per-process memory of tokens already looked up, so most requests skip the database.

What is kept, per token digest (never the secret): the principal it resolved to, the token's expiry
date and when it was last recorded as used. An entry lives at most ``ttl_s`` seconds (default 5), and
the expiry date is checked again on every hit, so an expired token is refused on time.

Revocation, and any other change to a token or its user (blocking, deletion, admin flag) goes through
the ORM; a session listener notices such rows in a flush and, once the transaction commits, empties
every cache of the process. So, in the process that made the change, the next request sees it; in
other worker processes and replicas, within ``ttl_s`` seconds. Bulk ``UPDATE``s of tokens or users
(only ``last_used_at`` is written that way) do not invalidate. Negative answers (unknown, revoked)
are never cached. Must not: decide anything about a token; ``tenants.authentication`` does.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tenants.principal import Principal
from tenants.tables import AccessToken, User

MAX_ENTRIES = 10_000
_CHANGED = "tenants.credentials_changed"


@dataclass(frozen=True, slots=True)
class CachedToken:
    principal: Principal
    expires_at: date | None
    last_used_at: datetime | None
    stored_at: float


class TokenCache:
    """Digest → ``CachedToken`` for ``ttl_s`` seconds; thread-safe; ``ttl_s = 0`` disables it."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, CachedToken] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _CACHES.add(self)

    @property
    def generation(self) -> int:
        """Read before the database lookup, passed to ``put``: a lookup older than a revocation is dropped."""
        return self._generation

    def get(self, digest: str) -> CachedToken | None:
        if self.ttl_s <= 0:
            return None
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if time.monotonic() - entry.stored_at > self.ttl_s:
            with self._lock:
                self._entries.pop(digest, None)
            return None
        return entry

    def put(
        self,
        digest: str,
        principal: Principal,
        expires_at: date | None,
        last_used_at: datetime | None,
        generation: int,
    ) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = CachedToken(principal, expires_at, last_used_at, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()
"""Every cache of this process (one per app): a credential change anywhere in the process clears all."""


def clear_all() -> None:
    for cache in list(_CACHES):
        cache.clear()


@event.listens_for(Session, "after_flush")
def _note_credential_changes(session: Session, _flush_context: Any) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, AccessToken | User):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        clear_all()


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)
