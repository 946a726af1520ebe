"""The signing keys of one trusted CI issuer, fetched with PyJWT's JWKS client and kept in memory.

Owns where keys come from (the configured ``jwks_url``, or OIDC discovery from the issuer), how long
they are trusted without asking again, and failing fast:

- the key set is cached for ``JWKS_CACHE_S``; a ``kid`` not in it forces one refresh, at most once per
  cooldown, so a rotated key is picked up without a restart but a stream of made-up ``kid`` values
  cannot turn the gateway into a load generator against the issuer;
- every fetch has a timeout; after a failed fetch, lookups fail at once for the cooldown instead of
  queueing behind another slow fetch (a JWKS outage means 401s, quickly — never a hang). Keys are
  never served past a failed refresh: the gateway fails closed.

Blocking I/O: callers are in a worker thread (``tenants.web.authenticate`` runs authentication in the
threadpool), never on the event loop. Must not: decode tokens or read claims (``tenants.ci_tokens``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

from gateway.ci_issuers import CiIssuer, CiIssuerError, check_key_url

JWKS_CACHE_S = 300.0
FAILURE_BACKOFF_MIN_S = 1.0
"""After a failed fetch, lookups fail at once for the cooldown, and for at least this long."""
SIGNING_ALGORITHMS = ("RS256", "ES256")


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched or used; the message is safe to show."""


class UnknownKey(Exception):
    """The issuer publishes no usable signing key with this ``kid``."""


class IssuerKeys:
    def __init__(
        self,
        issuer: CiIssuer,
        *,
        timeout_s: float,
        refresh_cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._timeout_s = timeout_s
        self._cooldown_s = refresh_cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._jwks_url = issuer.jwks_url
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._failure = ""

    def signing_key(self, kid: str) -> PyJWK:
        """The RS256/ES256 key with this ``kid``; raises ``UnknownKey`` or ``KeysUnavailable``."""
        with self._lock:
            now = self._clock()
            if self._failed_at is not None and now - self._failed_at < max(self._cooldown_s, FAILURE_BACKOFF_MIN_S):
                raise KeysUnavailable(self._failure)
            if self._fetched_at is None or now - self._fetched_at >= JWKS_CACHE_S:
                self._refresh()
            key = self._keys.get(kid)
            if key is None and self._fetched_at is not None and now - self._fetched_at >= self._cooldown_s:
                self._refresh()
                key = self._keys.get(kid)
            if key is None:
                raise UnknownKey(kid)
            return key

    # ------------------------------------------------------------------------------------ fetching
    def _refresh(self) -> None:
        try:
            url = self._jwks_url or self._discover()
            key_set = PyJWKSet.from_dict(self._fetch_json(url))
        except KeysUnavailable as exc:
            self._fail(str(exc))
        except (PyJWKClientError, PyJWKSetError) as exc:
            self._fail(f"the issuer's JWKS is not usable ({exc})")
        self._keys = {
            key.key_id: key
            for key in key_set.keys
            if key.key_id and key.public_key_use in ("sig", None) and key.algorithm_name in SIGNING_ALGORITHMS
        }
        self._fetched_at = self._clock()  # cooldowns count from when the fetch ended
        self._failed_at = None

    def _discover(self) -> str:
        """``jwks_uri`` from the issuer's OpenID configuration (which must name the same issuer)."""
        document = self._fetch_json(self._issuer.discovery_url)
        if document.get("issuer") != self._issuer.issuer:
            raise KeysUnavailable(
                f"the OpenID configuration at {self._issuer.discovery_url} names issuer "
                f"{document.get('issuer')!r}, not {self._issuer.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        try:
            self._jwks_url = check_key_url(str(jwks_uri), what="the discovered jwks_uri")
        except CiIssuerError as exc:
            raise KeysUnavailable(str(exc)) from None
        return self._jwks_url

    def _fetch_json(self, url: str) -> dict[str, Any]:
        """One GET with a timeout and no redirects (PyJWT's client; used for discovery too)."""
        client = PyJWKClient(url, cache_jwk_set=False, timeout=self._timeout_s)
        try:
            data: dict[str, Any] = client.fetch_data()
        except PyJWKClientConnectionError as exc:
            reason = exc.__cause__ if exc.__cause__ is not None else exc
            raise KeysUnavailable(f"fetching {url} failed: {reason}") from None
        except PyJWKClientError as exc:
            raise KeysUnavailable(f"{url} did not answer with a JSON object ({exc})") from None
        return data

    def _fail(self, reason: str) -> NoReturn:
        self._failed_at = self._clock()
        self._failure = reason
        if not self._issuer.jwks_url:
            self._jwks_url = ""  # discover again next time: the issuer may have moved its keys
        raise KeysUnavailable(reason)
