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
from gateway.errors import NotFound
from tenants.members import add_member, find_member
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
