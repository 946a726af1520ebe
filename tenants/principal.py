"""Who is calling: the authenticated identity every permission check takes.

A CI job (an OIDC ID token admitted by a binding) is a principal too: its ``ci`` holds the verified
job and the one project and role the binding grants, which ``tenants.authorization`` honours instead
of memberships.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenants.roles import Role


@dataclass(frozen=True, slots=True)
class CiJob:
    """A CI job, from its verified ID token's claims, and what its binding grants."""

    issuer: str
    ci_project: str
    """The value of the issuer's project claim, e.g. ``group/repo`` (GitLab's ``project_path``)."""
    project_id: int
    """The gateway project the binding grants; the job can see no other."""
    role: Role
    binding_id: int
    job_id: int | None = None
    pipeline_id: str | None = None
    commit_sha: str | None = None
    ref: str | None = None
    server_url: str = ""
    """The CI server's base URL (``GATEWAY_CI_SERVER_URL``), for links to the job."""

    @property
    def job_url(self) -> str | None:
        """GitLab's job page, ``<server>/<project path>/-/jobs/<id>``, when both are known."""
        if not self.server_url or self.job_id is None:
            return None
        return f"{self.server_url.rstrip('/')}/{self.ci_project}/-/jobs/{self.job_id}"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    is_admin: bool
    is_bot: bool
    scopes: frozenset[str]
    """What the credential allows: ``api`` (everything) and/or ``read_api`` (reads only)."""
    token_id: int | None = None
    """The access token used, if any (``None`` for a password or a CI job token)."""
    ci: CiJob | None = None
    """Set when the credential is a CI job's ID token."""

    @property
    def can_write(self) -> bool:
        return "api" in self.scopes
