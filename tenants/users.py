"""Creating users (people and the bot users behind project and group tokens)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from gateway.errors import AlreadyExists, InvalidParameter
from tenants import repository
from tenants.passwords import hash_password
from tenants.tables import Namespace, User
from tenants.validation import check_name, check_path


def create_user(
    session: Session,
    username: str,
    *,
    name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    password: str | None = None,
) -> User:
    """A person, with the personal namespace their own projects live in."""
    check_path(username, what="username", top_level=True)
    if repository.path_taken(session, username) or repository.user_by_username(session, username):
        raise AlreadyExists(f"username {username!r} is already taken")
    if email is not None and ("@" not in email or len(email) > 255):
        raise InvalidParameter(f"email {email!r} is not an e-mail address")
    if email is not None and repository.user_by_email(session, email) is not None:
        # Checked here so a duplicate is a 409 with a message, not an IntegrityError (500).
        raise AlreadyExists("Email has already been taken")
    user = User(
        username=username,
        username_key=username.lower(),
        name=check_name(name or username),
        email=email,
        is_admin=is_admin,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    session.add(
        Namespace(
            kind="user",
            name=user.name,
            path=username,
            full_path=username,
            full_path_key=username.lower(),
            owner_id=user.id,
        )
    )
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A person's password (for the web UI's sign-in and HTTP Basic); bots have none."""
    if user.is_bot:
        raise InvalidParameter(f"{user.username} is a bot user (behind a project or group token): it has no password")
    user.password_hash = hash_password(password)
    session.flush()


def create_bot_user(session: Session, *, kind: str, resource_id: int, token_name: str) -> User:
    """The user a project or group access token acts as (GitLab's ``project_<id>_bot_<hex>``)."""
    prefix = "project" if kind == "project_bot" else "group"
    username = f"{prefix}_{resource_id}_bot_{secrets.token_hex(8)}"
    user = User(
        username=username,
        username_key=username,
        name=check_name(token_name, what="token name"),
        bot_kind=kind,
    )
    session.add(user)
    session.flush()
    return user
