"""``mlgateway ci bind|unbind|list``: which CI projects' jobs may act on which gateway project.

Works on the configured database directly, like the other admin commands, and checks ``--issuer``
against ``GATEWAY_CI_ISSUERS`` (so the CLI needs the same environment as the server). The same
operations are ``/api/v4/admin/ci/bindings`` over HTTP (``tenants.rest.ci_bindings``).
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from gateway.cli_admin import emit
from gateway.cli_serve import JSON_FLAG, prepare_database
from gateway.errors import InvalidParameter, NotFound
from gateway.settings import Settings
from tenants import ci_bindings, repository
from tenants.roles import Role

ALL = repository.Window(offset=0, limit=1_000_000)


def add_commands(commands: Any) -> None:
    ci_cmd = commands.add_parser("ci", help="bind CI projects to gateway projects (OIDC job tokens)")
    actions = ci_cmd.add_subparsers(dest="action", required=True)
    bind = actions.add_parser("bind", help="let a CI project's jobs act on a project", parents=[JSON_FLAG])
    bind.add_argument("--issuer", required=True, help="a configured issuer, exactly as in GATEWAY_CI_ISSUERS")
    bind.add_argument("--ci-project", required=True, help="the CI project's path (the token's project claim)")
    bind.add_argument("--project", required=True, help="gateway project id or full path")
    bind.add_argument("--role", default="developer", help="guest, reporter or developer (default)")
    bind.set_defaults(handler=bind_project)
    unbind = actions.add_parser("unbind", help="refuse a CI project's jobs from now on", parents=[JSON_FLAG])
    unbind.add_argument("id", nargs="?", type=int, help="binding id (or give --issuer and --ci-project)")
    unbind.add_argument("--issuer")
    unbind.add_argument("--ci-project")
    unbind.set_defaults(handler=unbind_project)
    listing = actions.add_parser("list", help="list bindings", parents=[JSON_FLAG])
    listing.add_argument("--project", help="only this gateway project's bindings (id or full path)")
    listing.set_defaults(handler=list_bindings)


def bind_project(args: argparse.Namespace, settings: Settings) -> int:
    role = Role.parse(args.role)
    trusted = [issuer.issuer for issuer in settings.ci_issuers]
    with prepare_database(settings).unit_of_work() as session:
        project = repository.project_by_ref(session, args.project)
        if project is None:
            raise NotFound(f"no project {args.project!r}")
        record, created = ci_bindings.bind(
            session, issuer=args.issuer, ci_project=args.ci_project, project=project, role=role, trusted_issuers=trusted
        )
        data = record.fields()
    verb = "bound" if created else "updated binding of"
    where = f"{data['project_path']} as {data['role']} (id {data['id']})"
    text = f"{verb} {data['ci_project']} ({data['issuer']}) to {where}"
    return emit(args, data | {"created": created}, text)


def unbind_project(args: argparse.Namespace, settings: Settings) -> int:
    if (args.id is None) == (args.issuer is None or args.ci_project is None):
        raise InvalidParameter("give a binding id, or --issuer and --ci-project (not both)")
    with prepare_database(settings).unit_of_work() as session:
        if args.id is not None:
            binding = ci_bindings.find_binding(session, args.id)
        else:
            binding = ci_bindings.find_binding_of(session, args.issuer, args.ci_project)
        data = ci_bindings.record_of(session, binding).fields()
        ci_bindings.unbind(session, binding)
    return emit(args, data | {"deleted": True}, f"unbound {data['ci_project']} ({data['issuer']}), id {data['id']}")


def list_bindings(args: argparse.Namespace, settings: Settings) -> int:
    with prepare_database(settings).unit_of_work(write=False) as session:
        project_id = None
        if args.project:
            project = repository.project_by_ref(session, args.project)
            if project is None:
                raise NotFound(f"no project {args.project!r}")
            project_id = project.id
        records, _ = ci_bindings.bindings_page(session, ALL, project_id=project_id)
        rows = [record.fields() for record in records]
    if args.json:
        print(orjson.dumps({"bindings": rows}).decode())
        return 0
    for row in rows:
        print(f"{row['id']:>5}  {row['issuer']:<32} {row['ci_project']:<32} {row['project_path']:<32} {row['role']}")
    return 0
