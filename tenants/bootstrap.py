"""First start on an empty database: an instance admin ``root``, project ``root/default`` and a token.

Only the embedded default does this (``GATEWAY_BOOTSTRAP=false`` turns it off for production, where
admins are made with ``mlgateway users create NAME --admin``).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenants.access_tokens import IssuedToken, issue_personal_token
from tenants.projects import create_project
from tenants.tables import Namespace, Project, User
from tenants.users import create_user

ROOT_USERNAME = "root"
DEFAULT_PROJECT = "default"


def bootstrap_instance(session: Session, secret_key: bytes) -> tuple[IssuedToken, Project] | None:
    """Create the first admin, project and token if the instance has no users; else do nothing."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    root = create_user(session, ROOT_USERNAME, name="Administrator", is_admin=True)
    namespace = session.scalar(select(Namespace).where(Namespace.owner_id == root.id))
    assert namespace is not None
    project = create_project(session, namespace, DEFAULT_PROJECT, name="Default", creator_id=root.id)
    issued = issue_personal_token(session, secret_key, root, "bootstrap", ["api"])
    return issued, project
