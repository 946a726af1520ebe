"""Who may sign in to the web UI, and whether a signed-in session still stands.

A person signs in with their username and either their password (passlib) or — for users without
one, like the bootstrap ``root`` — one of their **own personal** access tokens. Bot users (behind
project and group tokens), blocked users, other people's tokens and CI job tokens cannot sign in.
A session signed in with a token carries that token's scopes (a ``read_api`` token gives a read-only
session) and ends when the token is revoked or expires; every session ends when its user is blocked.

Must not: know cookies or HTTP (``tenants.web.sessions`` does).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import Unauthenticated
from tenants import repository
from tenants.authentication import token_is_active
from tenants.passwords import verify_password
from tenants.principal import Principal
from tenants.tables import AccessToken, User
from tenants.tokens import token_digest

INVALID_SIGN_IN = "Invalid username or password (or personal access token)."
SESSION_ENDED = "Your session has ended; sign in again."


def sign_in(session: Session, secret_key: bytes, username: str, secret: str) -> Principal:
    """The principal a sign-in form's username and password-or-token stand for, else ``Unauthenticated``."""
    user = repository.user_by_username(session, username.strip()) if username.strip() and secret else None
    if user is None or user.is_bot or user.state != "active":
        raise Unauthenticated(INVALID_SIGN_IN)
    if verify_password(secret, user.password_hash):
        return _principal(user, None, frozenset({"api"}))
    found = repository.token_with_owner(session, token_digest(secret_key, secret))
    if found is None:
        raise Unauthenticated(INVALID_SIGN_IN)
    token, owner = found
    if not _own_active_personal_token(token, owner, user):
        raise Unauthenticated(INVALID_SIGN_IN)
    return _principal(user, token.id, frozenset(token.scope_list))


def session_principal(session: Session, user_id: int, token_id: int | None, scopes: frozenset[str]) -> Principal:
    """The principal of a session signed in earlier, re-checked now (blocked user, revoked token → ended)."""
    user = repository.user_by_id(session, user_id)
    if user is None or user.is_bot or user.state != "active":
        raise Unauthenticated(SESSION_ENDED)
    if token_id is not None:
        token = session.get(AccessToken, token_id)
        if token is None or not _own_active_personal_token(token, user, user):
            raise Unauthenticated(SESSION_ENDED)
    return _principal(user, token_id, scopes)


def _own_active_personal_token(token: AccessToken, owner: User, user: User) -> bool:
    return (
        token.kind == "personal"
        and owner.id == user.id
        and token.user_id == user.id
        and token_is_active(token, utcnow())
    )


def _principal(user: User, token_id: int | None, scopes: frozenset[str]) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        is_bot=False,
        scopes=scopes,
        token_id=token_id,
    )
