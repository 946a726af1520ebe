"""GitLab-compatible admin REST subset under ``/api/v4`` (python-gitlab works against it)."""

from __future__ import annotations

from starlette.routing import Route


def admin_routes() -> list[Route]:
    return []
