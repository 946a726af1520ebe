"""GitLab's JSON shapes (``lib/api/entities``) built from our rows; one function per entity.

Fields GitLab has but this gateway has no notion of (issues, repositories, runners…) are present
with their "off" values, because python-gitlab users read them by attribute. URLs are absolute and
start with ``base`` (the request's own base URL), or python-gitlab warns and pagination breaks.
Must not: query the database (callers hand in everything) or decide permissions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tenants.access_tokens import IssuedToken
from tenants.authentication import token_is_active
from tenants.groups import GroupRecord
from tenants.members import Member
from tenants.projects import ProjectRecord
from tenants.tables import AccessToken, Namespace, User

Json = dict[str, Any]


def timestamp(value: datetime | None) -> str | None:
    """GitLab's ``2024-01-01T00:00:00.000Z``."""
    if value is None:
        return None
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# ---------------------------------------------------------------------------------------- users
def user_basic(user: User, base: str) -> Json:
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": None,
        "web_url": f"{base}/{user.username}",
    }


def user(user: User, base: str, *, private: bool, admin: bool, namespace_id: int | None = None) -> Json:
    """GitLab's User; ``private`` adds UserPublic's fields (``GET /user``: one's own e-mail and
    settings), ``admin`` UserWithAdmin's (what administrators see, and ``POST /users`` answers)."""
    shape: Json = {
        **user_basic(user, base),
        "created_at": timestamp(user.created_at),
        "bio": "",
        "location": "",
        "public_email": None,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "discord": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "pronouns": None,
        "bot": user.is_bot,
        "work_information": None,
        "followers": 0,
        "following": 0,
        "local_time": None,
        "is_followed": False,
    }
    if private:
        shape |= {
            "last_sign_in_at": None,
            "confirmed_at": timestamp(user.created_at),
            "last_activity_on": None,
            "email": user.email,
            "theme_id": 1,
            "color_scheme_id": 1,
            "projects_limit": 100000,
            "current_sign_in_at": None,
            "identities": [],
            "can_create_group": not user.is_bot,
            "can_create_project": not user.is_bot,
            "two_factor_enabled": False,
            "external": False,
            "private_profile": False,
            "commit_email": user.email,
        }
    if admin:
        shape |= {
            "is_admin": user.is_admin,
            "note": None,
            "namespace_id": namespace_id,
            "created_by": None,
            "email_reset_offered_at": None,
            "current_sign_in_ip": None,
            "last_sign_in_ip": None,
        }
    return shape


# ---------------------------------------------------------------------------------------- projects
_OFF_FEATURES: tuple[str, ...] = ("issues", "repository", "merge_requests", "forking", "wiki", "builds", "snippets")
_OFF_FEATURES += ("pages", "operations", "analytics", "container_registry", "security_and_compliance")
_OFF_FEATURES += ("environments", "feature_flags", "infrastructure", "releases")
"""GitLab features this gateway does not have: their ``*_access_level`` is always ``disabled``."""


def namespace_basic(namespace: Namespace, base: str) -> Json:
    is_group = namespace.kind == "group"
    return {
        "id": namespace.id,
        "name": namespace.name,
        "path": namespace.path,
        "kind": namespace.kind,
        "full_path": namespace.full_path,
        "parent_id": namespace.parent_id,
        "avatar_url": None,
        "web_url": f"{base}/groups/{namespace.full_path}" if is_group else f"{base}/{namespace.full_path}",
    }


def project(record: ProjectRecord, base: str, *, simple: bool = False) -> Json:
    p, host = record.project, base.split("://", 1)[-1].split("/", 1)[0]
    shape: Json = {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{record.namespace_full_name} / {p.name}",
        "path": p.path,
        "path_with_namespace": p.full_path,
        "created_at": timestamp(p.created_at),
        "default_branch": None,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{host.split(':', 1)[0]}:{p.full_path}.git",
        "http_url_to_repo": f"{base}/{p.full_path}.git",
        "web_url": f"{base}/{p.full_path}",
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": timestamp(p.updated_at),
        "namespace": namespace_basic(record.namespace, base),
    }
    if simple:
        return shape
    api = f"{base}/api/v4/projects/{p.id}"
    shape |= {
        "container_registry_image_prefix": None,
        "_links": {
            "self": api,
            "issues": f"{api}/issues",
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "labels": f"{api}/labels",
            "events": f"{api}/events",
            "members": f"{api}/members",
            "cluster_agents": f"{api}/cluster_agents",
        },
        "packages_enabled": True,
        "empty_repo": True,
        "archived": False,
        "visibility": p.visibility,
        **({"owner": user_basic(record.owner, base)} if record.owner is not None else {}),
        "resolve_outdated_diff_discussions": False,
        **{f"{feature}_enabled": False for feature in ("issues", "merge_requests", "wiki", "jobs", "snippets")},
        "container_registry_enabled": False,
        "service_desk_enabled": False,
        "can_create_merge_request_in": False,
        **{f"{feature}_access_level": "disabled" for feature in _OFF_FEATURES},
        "model_experiments_access_level": "enabled" if p.model_experiments_enabled else "disabled",
        "model_registry_access_level": "enabled" if p.model_registry_enabled else "disabled",
        "max_artifacts_size": p.max_artifacts_size,
        "emails_disabled": False,
        "emails_enabled": True,
        "shared_runners_enabled": False,
        "lfs_enabled": False,
        "creator_id": p.creator_id,
        "import_status": "none",
        "open_issues_count": 0,
        "ci_default_git_depth": 20,
        "ci_forward_deployment_enabled": True,
        "ci_job_token_scope_enabled": False,
        "public_jobs": True,
        "build_timeout": 3600,
        "auto_cancel_pending_pipelines": "enabled",
        "ci_config_path": None,
        "shared_with_groups": [],
        "only_allow_merge_if_pipeline_succeeds": False,
        "allow_merge_on_skipped_pipeline": None,
        "restrict_user_defined_variables": False,
        "request_access_enabled": False,
        "only_allow_merge_if_all_discussions_are_resolved": False,
        "remove_source_branch_after_merge": True,
        "printing_merge_request_link_enabled": True,
        "merge_method": "merge",
        "squash_option": "default_off",
        "auto_devops_enabled": False,
        "auto_devops_deploy_strategy": "continuous",
        "autoclose_referenced_issues": True,
        "keep_latest_artifact": True,
        "updated_at": timestamp(p.updated_at),
        "marked_for_deletion_at": None,
        "marked_for_deletion_on": None,
    }
    return shape


def permissions(project_level: int | None, group_level: int | None) -> Json:
    """The ``permissions`` block of a single ``GET /projects/:id``."""

    def access(level: int | None) -> Json | None:
        return None if level is None else {"access_level": level, "notification_level": 3}

    return {"project_access": access(project_level), "group_access": access(group_level)}


# ---------------------------------------------------------------------------------------- groups
def group(record: GroupRecord, base: str, *, detail: list[Json] | None = None) -> Json:
    """A group; ``detail`` (its projects) makes it GroupDetail, the single GET and create shape."""
    g = record.group
    shape: Json = {
        "id": g.id,
        "web_url": f"{base}/groups/{g.full_path}",
        "name": g.name,
        "path": g.path,
        "description": g.description,
        "visibility": g.visibility,
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": False,
        "emails_enabled": True,
        "show_diff_preview_in_email": True,
        "mentions_disabled": None,
        "lfs_enabled": False,
        "archived": False,
        "math_rendering_limits_enabled": True,
        "lock_math_rendering_limits_enabled": False,
        "default_branch": None,
        "default_branch_protection": 2,
        "default_branch_protection_defaults": {},
        "avatar_url": None,
        "request_access_enabled": False,
        "full_name": record.full_name,
        "full_path": g.full_path,
        "created_at": timestamp(g.created_at),
        "parent_id": g.parent_id,
        "organization_id": 1,
        "shared_runners_setting": "enabled",
        "max_artifacts_size": None,
        "marked_for_deletion_on": None,
    }
    if detail is not None:
        shape |= {"shared_with_groups": [], "projects": detail, "shared_projects": []}
        if g.parent_id is None:
            shape["prevent_sharing_groups_outside_hierarchy"] = False
    return shape


# ---------------------------------------------------------------------------------------- members
def member(row: Member, user: User, base: str) -> Json:
    return {
        **user_basic(user, base),
        "access_level": row.access_level,
        "created_at": timestamp(row.created_at),
        "expires_at": day(row.expires_at),
        "membership_state": "active",
    }


# ---------------------------------------------------------------------------------------- tokens
def token(row: AccessToken, *, access_level: int | None = None, now: datetime) -> Json:
    """PersonalAccessToken; project and group tokens add ``access_level`` and their resource."""
    shape: Json = {
        "id": row.id,
        "name": row.name,
        "revoked": row.revoked,
        "created_at": timestamp(row.created_at),
        "description": "",
        "scopes": row.scope_list,
        "user_id": row.user_id,
        "last_used_at": timestamp(row.last_used_at),
        "active": token_is_active(row, now),
        "expires_at": day(row.expires_at),
    }
    if row.kind != "personal":
        shape |= {
            "access_level": access_level,
            "resource_type": row.kind,
            "resource_id": row.project_id if row.kind == "project" else row.group_id,
        }
    return shape


def issued_token(issued: IssuedToken, *, now: datetime) -> Json:
    """The create and rotate answers: the only place the secret ever appears."""
    level = None if issued.role is None else int(issued.role)
    return {**token(issued.token, access_level=level, now=now), "token": issued.secret}
