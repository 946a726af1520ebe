"""Turning request credentials into a ``Principal``.

Credentials are read from, in order: ``Authorization: Bearer <token>`` (what ``MLFLOW_TRACKING_TOKEN``
sends), ``PRIVATE-TOKEN: <token>`` (python-gitlab, curl users), and HTTP Basic (what
``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` send) where the password is a token — any
username is accepted then, as GitLab does for git over HTTP — or the user's own password.

A secret shaped like a JWT is a CI job's OIDC ID token wherever it arrives: ``tenants.ci_tokens``
verifies it (possibly fetching the issuer's keys: this runs in a worker thread, never on the event
loop) and ``tenants.ci_bindings`` turns it into a principal bound to one project.

Tokens found are remembered for a few seconds (``tenants.token_cache``: revocation is seen at once in
the process that revokes, within the cache's TTL elsewhere), so most requests cost one HMAC and a
dictionary lookup — ``cached`` answers them on the event loop, without a thread or a transaction.

Must not: decide what the principal may do (``tenants.authorization`` does).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.db import Database, utcnow
from gateway.errors import AuthFailure, Unauthenticated
from tenants import ci_bindings, repository
from tenants.ci_tokens import CiTokenVerifier, looks_like_jwt
from tenants.passwords import verify_password
from tenants.principal import Principal
from tenants.tables import AccessToken, User
from tenants.token_cache import CachedToken, TokenCache
from tenants.tokens import token_digest

INVALID_TOKEN = "401 Unauthorized: the access token is unknown, expired or revoked"
INVALID_PASSWORD = "401 Unauthorized: wrong username or password"
NO_CREDENTIALS = (
    "401 Unauthorized: no credentials; send a token as 'Authorization: Bearer <token>' "
    "(set MLFLOW_TRACKING_TOKEN) or in a PRIVATE-TOKEN header"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    secret: str
    username: str | None = None
    """Set for HTTP Basic: then ``secret`` may be a token or the user's password."""


def credentials_from_headers(headers: Mapping[str, str]) -> Credentials | None:
    """Read credentials from request headers (keys lower-case, as Starlette gives them)."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return Credentials(secret=value)
    private = headers.get("private-token", "").strip()
    if private:
        return Credentials(secret=private)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated(
                "401 Unauthorized: malformed HTTP Basic credentials", reason="malformed_credentials"
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep or not password:
            raise Unauthenticated(
                "401 Unauthorized: HTTP Basic credentials need a password or token", reason="malformed_credentials"
            )
        return Credentials(secret=password, username=username)
    return None


class Authenticator:
    """Resolves credentials to a principal, touching ``last_used_at`` at most once per interval."""

    def __init__(
        self,
        database: Database,
        secret_key: bytes,
        last_used_interval_s: int,
        *,
        ci_tokens: CiTokenVerifier | None = None,
        ci_server_url: str = "",
        cache_ttl_s: float = 0.0,
    ) -> None:
        self._database = database
        self._secret_key = secret_key
        self._interval = timedelta(seconds=last_used_interval_s)
        self._ci_tokens = ci_tokens or CiTokenVerifier((), timeout_s=1, refresh_cooldown_s=0)
        self._ci_server_url = ci_server_url
        self._cache = TokenCache(cache_ttl_s)

    def cached(self, credentials: Credentials | None) -> Principal | None:
        """The principal of a recently seen, still valid token with nothing to write; else ``None``.

        Cheap enough for the event loop: no I/O. ``None`` means "call ``authenticate``".
        """
        if credentials is None or self._cache.ttl_s <= 0 or looks_like_jwt(credentials.secret):
            return None
        entry = self._cache.get(token_digest(self._secret_key, credentials.secret))
        if entry is None:
            return None
        now = utcnow()
        if not _still_valid(entry, now) or _needs_touch(entry.last_used_at, now, self._interval):
            return None
        return entry.principal

    def authenticate(self, credentials: Credentials | None) -> Principal:
        if credentials is None:
            raise Unauthenticated(NO_CREDENTIALS, reason="missing_credentials")
        if looks_like_jwt(credentials.secret):
            claims = self._ci_tokens.verify(credentials.secret)
            with self._database.unit_of_work(write=False) as session:
                return ci_bindings.ci_principal(session, claims, server_url=self._ci_server_url)
        now = utcnow()
        digest = token_digest(self._secret_key, credentials.secret)
        entry = self._cache.get(digest)
        if entry is not None and _still_valid(entry, now):
            if _needs_touch(entry.last_used_at, now, self._interval):
                self._touch(entry.principal, now)
                self._cache.put(digest, CachedToken(entry.principal, entry.expires_at, now), self._cache.generation)
            return entry.principal
        generation = self._cache.generation
        with self._database.unit_of_work(write=False) as session:
            found = repository.token_with_owner(session, digest)
            if found is None and credentials.username is not None:
                user = repository.user_by_username(session, credentials.username)
                if (
                    user is None
                    or user.is_bot
                    or user.state != "active"
                    or not verify_password(credentials.secret, user.password_hash)
                ):
                    raise Unauthenticated(INVALID_PASSWORD, reason="wrong_password")
                return _principal(user, None, frozenset({"api"}))
        if found is None:
            raise Unauthenticated(INVALID_TOKEN)
        token, owner = found
        if not token_is_active(token, now) or owner.state != "active":
            # One message for every case (a caller learns nothing); the reason is for the operator's metrics.
            raise Unauthenticated(INVALID_TOKEN, reason=_inactive_reason(token, owner))
        principal = _principal(owner, token.id, frozenset(token.scope_list))
        last_used_at = token.last_used_at
        if _needs_touch(last_used_at, now, self._interval):
            self._touch(principal, now)
            last_used_at = now
        self._cache.put(digest, CachedToken(principal, token.expires_at, last_used_at), generation)
        return principal

    def _touch(self, principal: Principal, now: datetime) -> None:
        assert principal.token_id is not None
        with self._database.unit_of_work(write=True) as session:
            repository.touch_token(session, principal.token_id, now, now - self._interval)


def _needs_touch(last_used_at: datetime | None, now: datetime, interval: timedelta) -> bool:
    return last_used_at is None or last_used_at < now - interval


def _still_valid(entry: CachedToken, now: datetime) -> bool:
    """A cached token's expiry date still holds (revocation clears the cache instead)."""
    return entry.expires_at is None or entry.expires_at >= now.date()


def token_is_active(token: AccessToken, now: datetime) -> bool:
    """GitLab's rule: usable through the whole of its expiry date (UTC), never after revocation."""
    if token.revoked:
        return False
    return token.expires_at is None or token.expires_at >= now.date()


def _inactive_reason(token: AccessToken, owner: User) -> AuthFailure:
    if token.revoked:
        return "revoked_token"
    if owner.state != "active":
        return "inactive_user"
    return "expired_token"


def _principal(user: User, token_id: int | None, scopes: frozenset[str]) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        is_bot=user.is_bot,
        scopes=scopes,
        token_id=token_id,
    )
