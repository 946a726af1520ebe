"""GitLab-compatible admin REST subset under ``/api/v4`` (python-gitlab works against it).

``{project}`` / ``{group}`` is a numeric id or a URL-encoded full path: ``EncodedPathSegments``
keeps ``%2F`` encoded in that one segment and ``tenants.authorization`` unquotes it.
"""

from __future__ import annotations

from starlette.routing import Route

from tenants.rest import groups, personal_tokens, projects, users
from tenants.rest.access_tokens import access_token_routes
from tenants.rest.ci_bindings import ci_binding_routes
from tenants.rest.members import member_routes

API = "/api/v4"


def admin_routes() -> list[Route]:
    return [
        Route(f"{API}/user", users.current_user, methods=["GET"]),
        Route(f"{API}/users", users.create_user, methods=["POST"]),
        Route(f"{API}/users/{{user_id}}", users.get_user, methods=["GET"]),
        Route(f"{API}/users/{{user_id}}/personal_access_tokens", personal_tokens.create_for_user, methods=["POST"]),
        Route(f"{API}/personal_access_tokens", personal_tokens.list_tokens, methods=["GET"]),
        Route(f"{API}/personal_access_tokens/{{token_id}}", personal_tokens.get_token, methods=["GET"]),
        Route(f"{API}/personal_access_tokens/{{token_id}}", personal_tokens.revoke_token, methods=["DELETE"]),
        Route(f"{API}/personal_access_tokens/{{token_id}}/rotate", personal_tokens.rotate_token, methods=["POST"]),
        Route(f"{API}/projects", projects.list_projects, methods=["GET"]),
        Route(f"{API}/projects", projects.create_project, methods=["POST"]),
        Route(f"{API}/projects/{{project}}", projects.get_project, methods=["GET"]),
        Route(f"{API}/projects/{{project}}", projects.update_project, methods=["PUT"]),
        Route(f"{API}/projects/{{project}}", projects.delete_project, methods=["DELETE"]),
        Route(f"{API}/groups", groups.list_groups, methods=["GET"]),
        Route(f"{API}/groups", groups.create_group, methods=["POST"]),
        Route(f"{API}/groups/{{group}}", groups.get_group, methods=["GET"]),
        Route(f"{API}/groups/{{group}}", groups.delete_group, methods=["DELETE"]),
        *member_routes("projects"),
        *member_routes("groups"),
        *access_token_routes("projects"),
        *access_token_routes("groups"),
        *ci_binding_routes(),
    ]
