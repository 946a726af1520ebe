"""``mlgateway`` command line: serve, migrate, and the admin commands that work on the database.

Composition root (like ``gateway.app``): it may import every layer; nothing imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gateway import cli_admin, cli_ci, cli_gc, cli_serve
from gateway.errors import GatewayError
from gateway.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlgateway", description="GitLab-style multi-tenant MLflow gateway")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_serve.add_commands(commands)
    cli_admin.add_commands(commands)
    cli_gc.add_commands(commands)
    cli_ci.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        result: int = args.handler(args, settings)
        return result
    except (SettingsError, cli_serve.SchemaOutdated) as exc:
        print(f"mlgateway: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        cli_admin.emit_error(args, exc)
        return 1


def app_from_env():  # type: ignore[no-untyped-def]
    """Kept for deployments that point uvicorn here; ``gateway.cli_serve.app_from_env`` is leaner."""
    return cli_serve.app_from_env()


if __name__ == "__main__":
    sys.exit(main())
