"""Admin commands that work on the configured database directly (no running server needed).

Each prints a human line, or one JSON object with ``--json``. Tokens are printed once, at creation.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import orjson
from sqlalchemy.orm import Session

from gateway.cli_serve import JSON_FLAG, prepare_database
from gateway.errors import GatewayError, InvalidParameter, NotFound
from gateway.settings import Settings
from tenants import access_tokens, groups, members, projects, repository, users
from tenants.roles import Role
from tenants.tables import AccessToken, Namespace, Project, User
from tenants.validation import check_artifacts_size


def add_commands(commands: Any) -> None:
    user_cmd = commands.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    create = user_cmd.add_parser("create", help="create a user", parents=[JSON_FLAG])
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="make an instance administrator")
    create.add_argument("--email")
    create.add_argument("--password-stdin", action="store_true", help="read a password from standard input")
    create.set_defaults(handler=create_user)
    password = user_cmd.add_parser(
        "set-password", help="set a user's password (web UI sign-in, HTTP Basic): read from stdin", parents=[JSON_FLAG]
    )
    password.add_argument("name")
    password.set_defaults(handler=set_password)

    group_cmd = commands.add_parser("groups", help="manage groups").add_subparsers(dest="action", required=True)
    create = group_cmd.add_parser("create", help="create a group (parents too): a/b/c", parents=[JSON_FLAG])
    create.add_argument("path")
    create.add_argument("--owner", help="username to make the group's Owner")
    create.set_defaults(handler=create_group)

    project_cmd = commands.add_parser("projects", help="manage projects").add_subparsers(dest="action", required=True)
    create = project_cmd.add_parser("create", help="create NAMESPACE/PATH and print its id", parents=[JSON_FLAG])
    create.add_argument("full_path")
    create.add_argument("--visibility", default="private", choices=["private", "internal", "public"])
    create.add_argument("--name")
    create.add_argument("--max-artifacts-size", type=int, metavar="MB", help="this project's artifact file limit")
    create.set_defaults(handler=create_project)

    member_cmd = commands.add_parser("members", help="manage memberships").add_subparsers(dest="action", required=True)
    add = member_cmd.add_parser("add", help="add a user to a project or group", parents=[JSON_FLAG])
    _project_or_group(add)
    add.add_argument("--user", required=True)
    add.add_argument("--role", required=True, help="guest, reporter, developer, maintainer or owner")
    add.set_defaults(handler=add_member)

    token_cmd = commands.add_parser("tokens", help="manage access tokens").add_subparsers(dest="action", required=True)
    create = token_cmd.add_parser("create", help="issue a token (printed once)", parents=[JSON_FLAG])
    owner = create.add_mutually_exclusive_group(required=True)
    owner.add_argument("--user")
    owner.add_argument("--project")
    owner.add_argument("--group")
    create.add_argument("--role", default="developer", help="project/group tokens: the role granted")
    create.add_argument("--scopes", default="api", help="api, read_api or api,read_api")
    create.add_argument("--expires-at", help="YYYY-MM-DD (valid through that day, UTC)")
    create.add_argument("name")
    create.set_defaults(handler=create_token)
    listing = token_cmd.add_parser("list", help="list tokens (never their values)", parents=[JSON_FLAG])
    listing.set_defaults(handler=list_tokens)
    revoke = token_cmd.add_parser("revoke", help="revoke a token by id", parents=[JSON_FLAG])
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=revoke_token)


def _project_or_group(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", help="project id or full path")
    target.add_argument("--group", help="group id or full path")


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> int:
    print(orjson.dumps(data).decode() if args.json else text)
    return 0


def emit_error(args: argparse.Namespace, error: GatewayError) -> None:
    if getattr(args, "json", False):
        print(orjson.dumps({"error": error.error_code, "message": error.message}).decode())
    print(f"mlgateway: {error.message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------- commands
def create_user(args: argparse.Namespace, settings: Settings) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    with prepare_database(settings).unit_of_work() as session:
        user = users.create_user(session, args.name, email=args.email, is_admin=args.admin, password=password)
        data = {"id": user.id, "username": user.username, "is_admin": user.is_admin}
    return emit(args, data, f"created user {user.username} (id {user.id}{', admin' if user.is_admin else ''})")


def set_password(args: argparse.Namespace, settings: Settings) -> int:
    """One line from standard input (a prompt without echo on a terminal), hashed with passlib."""
    with prepare_database(settings).unit_of_work() as session:
        user = _user(session, args.name)
        password = getpass.getpass("New password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        users.set_password(session, user, password)
        data = {"id": user.id, "username": user.username}
    return emit(args, data, f"set the password of {user.username}")


def create_group(args: argparse.Namespace, settings: Settings) -> int:
    with prepare_database(settings).unit_of_work() as session:
        owner_id = _user(session, args.owner).id if args.owner else None
        group = groups.create_group_path(session, args.path, owner_id=owner_id)
        data = {"id": group.id, "full_path": group.full_path}
    return emit(args, data, f"created group {group.full_path} (id {group.id})")


def create_project(args: argparse.Namespace, settings: Settings) -> int:
    namespace_path, _, path = args.full_path.strip("/").rpartition("/")
    if not namespace_path:
        raise InvalidParameter("give the project as NAMESPACE/PATH, e.g. root/my-project or ml/vision/detector")
    max_artifacts_size = check_artifacts_size(args.max_artifacts_size)
    with prepare_database(settings).unit_of_work() as session:
        namespace = groups.find_namespace(session, namespace_path)
        project = projects.create_project(
            session, namespace, path, name=args.name, visibility=args.visibility, creator_id=namespace.owner_id
        )
        if max_artifacts_size is not None:
            projects.update_project(session, project, {"max_artifacts_size": max_artifacts_size})
        data = {
            "id": project.id,
            "full_path": project.full_path,
            "visibility": project.visibility,
            "max_artifacts_size": project.max_artifacts_size,
        }
    return emit(args, data, str(project.id))  # just the id: PROJECT_ID=$(mlgateway projects create …)


def add_member(args: argparse.Namespace, settings: Settings) -> int:
    role = Role.parse(args.role)
    with prepare_database(settings).unit_of_work() as session:
        user = _user(session, args.user)
        if args.project:
            project = _project(session, args.project)
            members.add_member(session, user, role, project_id=project.id)
            where = project.full_path
        else:
            group = _group(session, args.group)
            members.add_member(session, user, role, group_id=group.id)
            where = group.full_path
    data = {"user": user.username, "source": where, "access_level": int(role), "role": role.name.lower()}
    return emit(args, data, f"{user.username} is now {role.name.lower()} of {where}")


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    key = settings.with_secret_key().secret_key_bytes()
    with prepare_database(settings).unit_of_work() as session:
        if args.user:
            issued = access_tokens.issue_personal_token(
                session, key, _user(session, args.user), args.name, args.scopes, args.expires_at
            )
        elif args.project:
            project = _project(session, args.project)
            issued = access_tokens.issue_project_token(
                session,
                key,
                project.id,
                args.name,
                args.scopes,
                Role.parse(args.role),
                granted_by=None,
                expires_at=args.expires_at,
            )
        else:
            group = _group(session, args.group)
            issued = access_tokens.issue_group_token(
                session,
                key,
                group.id,
                args.name,
                args.scopes,
                Role.parse(args.role),
                granted_by=None,
                expires_at=args.expires_at,
            )
        data = _token_row(issued.token, issued.owner.username) | {"token": issued.secret}
    return emit(args, data, issued.secret)


def list_tokens(args: argparse.Namespace, settings: Settings) -> int:
    with prepare_database(settings).unit_of_work(write=False) as session:
        rows = [_token_row(token, owner.username) for token, owner in access_tokens.tokens_of(session)]
    if args.json:
        print(orjson.dumps({"tokens": rows}).decode())
        return 0
    for row in rows:
        state = "revoked" if row["revoked"] else f"expires {row['expires_at'] or 'never'}"
        print(f"{row['id']:>5}  {row['kind']:<8} {row['name']:<24} {row['user']:<32} {row['scopes']:<12} {state}")
    return 0


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    with prepare_database(settings).unit_of_work() as session:
        token = access_tokens.find_token(session, args.id)
        access_tokens.revoke(session, token)
    return emit(args, {"id": args.id, "revoked": True}, f"revoked token {args.id}")


# ---------------------------------------------------------------------------------------- lookups
def _token_row(token: AccessToken, username: str) -> dict[str, Any]:
    return {
        "id": token.id,
        "kind": token.kind,
        "name": token.name,
        "user": username,
        "project_id": token.project_id,
        "group_id": token.group_id,
        "scopes": token.scopes,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked": token.revoked,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


def _user(session: Session, username: str) -> User:
    user = repository.user_by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _project(session: Session, ref: str) -> Project:
    project = repository.project_by_ref(session, ref)
    if project is None:
        raise NotFound(f"no project {ref!r}")
    return project


def _group(session: Session, ref: str) -> Namespace:
    group = repository.group_by_ref(session, ref)
    if group is None:
        raise NotFound(f"no group {ref!r}")
    return group
