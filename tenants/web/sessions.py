"""Web UI sessions: a signed cookie (a PyJWT HS256 token) and the CSRF token bound to it.

The cookie ``_mlgateway_session`` is HttpOnly, SameSite=Lax, ``Secure`` on https, and holds the user id,
the personal access token it was signed in with (if any), that credential's scopes, an expiry and a
random CSRF value. A fresh one (new ``jti``, new CSRF value) is issued at every sign-in. The signing
key is derived from the instance secret (HMAC with a fixed label), so a session can never pass for a
token digest or the other way round, and every replica sharing the secret accepts every session.

Every form that changes something carries the session's CSRF value in ``_csrf``; ``check_csrf``
compares in constant time. The sign-in form itself, before any session exists, uses a double-submit
cookie (``_mlgateway_sign_in``), so a third-party page cannot sign a browser in as someone else.

Sessions authenticate only the web UI's routes: the MLflow and admin APIs read credentials from
headers alone (``tenants.authentication``), so a cookie a browser attaches there is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import PermissionDenied, Unauthenticated
from tenants import sign_in
from tenants.principal import Principal

SESSION_COOKIE = "_mlgateway_session"
SIGN_IN_COOKIE = "_mlgateway_sign_in"
CSRF_FIELD = "_csrf"
AUDIENCE = "mlgateway-web"
_KEY_LABEL = b"mlgateway web session v1"
CSRF_REFUSED = "The form has expired or did not come from this site; reload the page and try again."


@dataclass(frozen=True, slots=True)
class WebSession:
    user_id: int
    token_id: int | None
    scopes: frozenset[str]
    csrf: str
    expires_at: int


class WebSessions:
    """Issues and reads session cookies for one app (the key and lifetime come from its settings)."""

    def __init__(self, secret_key: bytes, ttl_s: int) -> None:
        self._key = hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()
        self.ttl_s = ttl_s

    def issue(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "aud": AUDIENCE,
            "sub": str(principal.user_id),
            "tid": principal.token_id,
            "scp": sorted(principal.scopes),
            "csrf": new_csrf_value(),
            "jti": secrets.token_hex(12),
            "iat": now,
            "exp": now + self.ttl_s,
        }
        import jwt  # on first use: PyJWT pulls in cryptography, ~9 MB a worker that serves no web page

        return jwt.encode(claims, self._key, algorithm="HS256")

    def read(self, value: str) -> WebSession | None:
        """The session in a cookie value, or ``None`` when it is forged, expired or malformed."""
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                value,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "sub", "csrf", "aud"]},
            )
            token_id = claims.get("tid")
            scopes = claims.get("scp")
            csrf = claims["csrf"]
            if not isinstance(scopes, list) or not isinstance(csrf, str) or not csrf:
                return None
            if token_id is not None and not isinstance(token_id, int):
                return None
            return WebSession(int(claims["sub"]), token_id, frozenset(map(str, scopes)), csrf, int(claims["exp"]))
        except (jwt.PyJWTError, ValueError, TypeError):
            return None


def web_sessions_of(request: Request) -> WebSessions:
    sessions = request.state.web_sessions
    assert isinstance(sessions, WebSessions)
    return sessions


def current_session(request: Request) -> WebSession | None:
    value = request.cookies.get(SESSION_COOKIE)
    return None if not value else web_sessions_of(request).read(value)


def require_session(request: Request) -> WebSession:
    found = current_session(request)
    if found is None:
        raise Unauthenticated(sign_in.SESSION_ENDED)
    return found


def session_principal(session: Session, web_session: WebSession) -> Principal:
    """The signed-in principal, re-checked against the database on every request."""
    return sign_in.session_principal(session, web_session.user_id, web_session.token_id, web_session.scopes)


def check_csrf(web_session: WebSession, form: Mapping[str, Any]) -> None:
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), web_session.csrf.encode()):
        raise PermissionDenied(CSRF_REFUSED)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=web_sessions_of(request).ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def new_csrf_value() -> str:
    return secrets.token_urlsafe(24)


def set_sign_in_cookie(request: Request, response: Response, value: str) -> None:
    """The sign-in form's double-submit cookie: the same value goes in the form's ``_csrf`` field."""
    response.set_cookie(
        SIGN_IN_COOKIE, value, max_age=3600, path="/users", httponly=True, samesite="strict", secure=_secure(request)
    )


def check_sign_in_csrf(request: Request, form: Mapping[str, Any]) -> None:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise PermissionDenied(CSRF_REFUSED)
