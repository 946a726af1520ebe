"""Issuing, listing, revoking and rotating personal, project and group access tokens.

Project and group tokens act as a bot user that is a member of that one project or group with the
token's role (GitLab's model), so the ordinary permission check covers them with no special case.
The plaintext token exists only in the value these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import utcnow
from gateway.errors import InvalidParameter, NotFound, PermissionDenied
from tenants import repository
from tenants.authentication import token_is_active
from tenants.members import add_member, find_member
from tenants.principal import Principal
from tenants.roles import Role
from tenants.tables import AccessToken, User
from tenants.tokens import generate_token, token_digest
from tenants.users import create_bot_user
from tenants.validation import check_expiry, check_name, check_scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: AccessToken
    owner: User
    secret: str
    """The plaintext token: shown once, never stored."""
    role: Role | None = None


def issue_personal_token(
    session: Session, secret_key: bytes, user: User, name: str, scopes: object, expires_at: object = None
) -> IssuedToken:
    return _issue(session, secret_key, user, "personal", name, scopes, expires_at)


def issue_project_token(
    session: Session,
    secret_key: bytes,
    project_id: int,
    name: str,
    scopes: object,
    role: Role,
    *,
    granted_by: Role | None,
    expires_at: object = None,
) -> IssuedToken:
    bot = create_bot_user(session, kind="project_bot", resource_id=project_id, token_name=name)
    add_member(session, bot, role, project_id=project_id, granted_by=granted_by)
    issued = _issue(session, secret_key, bot, "project", name, scopes, expires_at, project_id=project_id)
    return IssuedToken(issued.token, bot, issued.secret, role)


def issue_group_token(
    session: Session,
    secret_key: bytes,
    group_id: int,
    name: str,
    scopes: object,
    role: Role,
    *,
    granted_by: Role | None,
    expires_at: object = None,
) -> IssuedToken:
    bot = create_bot_user(session, kind="group_bot", resource_id=group_id, token_name=name)
    add_member(session, bot, role, group_id=group_id, granted_by=granted_by)
    issued = _issue(session, secret_key, bot, "group", name, scopes, expires_at, group_id=group_id)
    return IssuedToken(issued.token, bot, issued.secret, role)


def _issue(
    session: Session,
    secret_key: bytes,
    owner: User,
    kind: str,
    name: str,
    scopes: object,
    expires_at: object,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
) -> IssuedToken:
    secret = generate_token()
    token = AccessToken(
        kind=kind,
        user_id=owner.id,
        project_id=project_id,
        group_id=group_id,
        name=check_name(name, what="token name"),
        digest=token_digest(secret_key, secret),
        scopes=",".join(check_scopes(scopes)),
        expires_at=check_expiry(expires_at, utcnow().date()),
    )
    session.add(token)
    session.flush()
    return IssuedToken(token, owner, secret)


def tokens_of(
    session: Session, *, user_id: int | None = None, project_id: int | None = None, group_id: int | None = None
) -> list[tuple[AccessToken, User]]:
    query = select(AccessToken, User).join(User, User.id == AccessToken.user_id).order_by(AccessToken.id)
    if user_id is not None:
        query = query.where(AccessToken.user_id == user_id, AccessToken.kind == "personal")
    if project_id is not None:
        query = query.where(AccessToken.project_id == project_id)
    if group_id is not None:
        query = query.where(AccessToken.group_id == group_id)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def find_token(session: Session, token_id: int) -> AccessToken:
    token = session.get(AccessToken, token_id)
    if token is None:
        raise NotFound(f"404 Token Not Found: no access token {token_id}")
    return token


def revoke(session: Session, token: AccessToken) -> None:
    token.revoked = True
    session.flush()


def rotate(session: Session, secret_key: bytes, token: AccessToken, expires_at: object = None) -> IssuedToken:
    """Revoke ``token`` and issue its successor: same owner, name and scopes (GitLab: one week by default)."""
    if not token_is_active(token, utcnow()):
        # Rotating would bring a revoked or expired credential back to life.
        raise InvalidParameter(f"400 Bad Request: token {token.id} is revoked or expired and cannot be rotated")
    revoke(session, token)
    owner = session.get(User, token.user_id)
    assert owner is not None
    expiry: object = expires_at if expires_at else (utcnow().date() + timedelta(days=7))
    successor = _issue(
        session,
        secret_key,
        owner,
        token.kind,
        token.name,
        token.scope_list,
        expiry,
        project_id=token.project_id,
        group_id=token.group_id,
    )
    return successor


def role_of_bot(session: Session, token: AccessToken) -> Role | None:
    """The role a project or group token grants (its bot user's membership)."""
    member = find_member(session, token.user_id, project_id=token.project_id, group_id=token.group_id)
    return None if member is None else Role(member.access_level)


DEFAULT_LIFETIME = timedelta(days=365)
"""GitLab (16.0+): a token created without ``expires_at`` gets the maximum lifetime, not eternity."""


def expiry_or_default(expires_at: object) -> object:
    return expires_at if expires_at not in (None, "") else utcnow().date() + DEFAULT_LIFETIME


def find_resource_token(
    session: Session, token_id: int, *, project_id: int | None = None, group_id: int | None = None
) -> AccessToken:
    """A project's or group's own token; another resource's token is as missing as a missing one."""
    token = session.get(AccessToken, token_id)
    kind = "project" if project_id is not None else "group"
    if token is None or token.kind != kind or (token.project_id, token.group_id) != (project_id, group_id):
        raise NotFound(f"404 Token Not Found: no {kind} access token {token_id} here")
    return token


def find_token_of(session: Session, principal: Principal, token_id: int) -> AccessToken:
    """A token the principal owns (admins: any token). Someone else's is answered as missing."""
    token = session.get(AccessToken, token_id)
    if token is None or not (principal.is_admin or token.user_id == principal.user_id):
        raise NotFound(f"404 Token Not Found: no access token {token_id} of yours")
    return token


def rotate_resource_token(
    session: Session, secret_key: bytes, token: AccessToken, *, granted_by: Role | None, expires_at: object = None
) -> IssuedToken:
    """Rotate a project or group token; like granting, nobody rotates a token that outranks them."""
    role = role_of_bot(session, token)
    if granted_by is not None and role is not None and role > granted_by:
        raise PermissionDenied("403 Forbidden: you cannot rotate a token whose role is above your own")
    issued = rotate(session, secret_key, token, expires_at)
    return IssuedToken(issued.token, issued.owner, issued.secret, role)


def resource_tokens_page(
    session: Session,
    window: repository.Window,
    *,
    project_id: int | None = None,
    group_id: int | None = None,
    state: str | None = None,
) -> tuple[list[tuple[AccessToken, int | None]], int]:
    """One page of a project's or group's tokens, each with the role its bot holds."""
    query = repository.resource_tokens_query(
        project_id=project_id, group_id=group_id, state=state, today=utcnow().date()
    )
    rows, total = repository.page_of(session, query, window)
    return [(row[0], row[1]) for row in rows], total


def personal_tokens_page(
    session: Session, window: repository.Window, *, user_id: int | None, state: str | None = None
) -> tuple[list[AccessToken], int]:
    query = repository.personal_tokens_query(user_id=user_id, state=state, today=utcnow().date())
    rows, total = repository.page_of(session, query, window)
    return [row[0] for row in rows], total
