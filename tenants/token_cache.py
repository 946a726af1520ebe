"""A short-lived, per-process memory of tokens already looked up, so most requests skip the database.

What is kept, per token digest (never the secret): the principal it resolved to, the token's expiry
date and when it was last recorded as used. An entry lives at most the cache's TTL (default 5 s), and
the expiry date is checked again on every hit, so an expired token is refused on time.

Revocation, and any other change to a token or its user (blocking, deletion, admin flag), empties the
cache at once in the process that made it and within the TTL elsewhere (``tenants.ttl_cache``).
Negative answers (unknown, revoked) are never cached. Must not: decide anything about a token;
``tenants.authentication`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tenants.principal import Principal
from tenants.ttl_cache import TtlCache


@dataclass(frozen=True, slots=True)
class CachedToken:
    principal: Principal
    expires_at: date | None
    last_used_at: datetime | None


TokenCache = TtlCache[str, CachedToken]
"""Token digest → what its lookup found."""
