"""Bindings of CI projects to gateway projects, and the principal a verified CI job token becomes.

A binding is an administrator's grant: "jobs of CI project ``group/repo`` at issuer ``I`` act on
gateway project ``P`` with role ``R``". Without one, a perfectly valid token is still a 401.

- One gateway project per CI project and issuer: the job's rights never depend on which binding a
  lookup happened to find. Binding the same pair again to the same project changes its role.
- Roles go up to Developer, no further: ML reads and writes need no more, and a job token must never
  manage a project's members or tokens.
- Each binding has its own bot user (GitLab's ``project_<id>_bot`` shape, ``ci_<id>_bot`` here) so
  runs record who wrote them. The bot has *no* membership: the binding holds the role, so nothing done
  through the members API can widen, narrow or break it. Unbinding deletes the bot (runs keep its name).

Must not: verify tokens (``tenants.ci_tokens``) or decide permissions (``tenants.authorization``
reads ``Principal.ci``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.errors import AlreadyExists, InvalidParameter, NotFound, Unauthenticated
from tenants import repository
from tenants.ci_tokens import MAX_PROJECT_LENGTH, CiClaims
from tenants.principal import CiJob, Principal
from tenants.roles import Role
from tenants.tables import CiProjectBinding, Project, User

MAX_CI_ROLE = Role.DEVELOPER


@dataclass(frozen=True, slots=True)
class BindingRecord:
    binding: CiProjectBinding
    project_path: str
    username: str

    def fields(self) -> dict[str, Any]:
        """The binding as the CLI and the admin API show it."""
        binding = self.binding
        return {
            "id": binding.id,
            "issuer": binding.issuer,
            "ci_project": binding.ci_project,
            "project_id": binding.project_id,
            "project_path": self.project_path,
            "access_level": binding.access_level,
            "role": Role(binding.access_level).name.lower(),
            "username": self.username,
        }


def bind(
    session: Session, *, issuer: str, ci_project: str, project: Project, role: Role, trusted_issuers: Sequence[str]
) -> tuple[BindingRecord, bool]:
    """Create the binding, or change the role of an identical one; ``True`` when it is new."""
    _check_issuer(issuer, trusted_issuers)
    ci_project = _check_ci_project(ci_project)
    if role > MAX_CI_ROLE:
        raise InvalidParameter(
            f"role {role.name.lower()} is too high for CI jobs: use guest, reporter or developer (the most a job needs)"
        )
    existing = session.scalar(
        select(CiProjectBinding).where(
            CiProjectBinding.issuer == issuer, CiProjectBinding.ci_project_key == ci_project.lower()
        )
    )
    if existing is not None:
        if existing.project_id != project.id:
            raise AlreadyExists(
                f"CI project {existing.ci_project!r} of {issuer} is already bound to project {existing.project_id} "
                f"(binding {existing.id}); unbind it first"
            )
        existing.access_level = int(role)
        session.flush()
        return _record(session, existing), False
    username = f"ci_{project.id}_bot_{secrets.token_hex(8)}"
    bot = User(username=username, username_key=username, name=f"CI {ci_project}"[:255], bot_kind="project_bot")
    session.add(bot)
    session.flush()
    binding = CiProjectBinding(
        issuer=issuer,
        ci_project=ci_project,
        ci_project_key=ci_project.lower(),
        project_id=project.id,
        access_level=int(role),
        user_id=bot.id,
    )
    try:
        with session.begin_nested():  # a concurrent bind of the same CI project loses here, not with a 500
            session.add(binding)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(f"CI project {ci_project!r} of {issuer} has just been bound by someone else") from None
    return BindingRecord(binding, project.full_path, bot.username), True


def find_binding(session: Session, binding_id: int) -> CiProjectBinding:
    binding = session.get(CiProjectBinding, binding_id)
    if binding is None:
        raise NotFound(f"404 CI binding Not Found: no CI project binding {binding_id}")
    return binding


def find_binding_of(session: Session, issuer: str, ci_project: str) -> CiProjectBinding:
    binding = session.scalar(
        select(CiProjectBinding).where(
            CiProjectBinding.issuer == issuer, CiProjectBinding.ci_project_key == ci_project.strip().lower()
        )
    )
    if binding is None:
        raise NotFound(f"404 CI binding Not Found: CI project {ci_project!r} of {issuer} is not bound")
    return binding


def unbind(session: Session, binding: CiProjectBinding) -> None:
    """Delete the binding and its bot user; jobs of that CI project are refused from now on."""
    bot = session.get(User, binding.user_id)
    session.delete(binding)
    if bot is not None:
        session.delete(bot)
    session.flush()


def bindings_page(
    session: Session, window: repository.Window, *, project_id: int | None = None
) -> tuple[list[BindingRecord], int]:
    """One page of bindings (all projects', or one project's) in creation order, and the total."""
    query: repository.AnySelect = (
        select(CiProjectBinding, Project.full_path, User.username)
        .join(Project, Project.id == CiProjectBinding.project_id)
        .join(User, User.id == CiProjectBinding.user_id)
        .order_by(CiProjectBinding.id)
    )
    if project_id is not None:
        query = query.where(CiProjectBinding.project_id == project_id)
    rows, total = repository.page_of(session, query, window)
    return [BindingRecord(row[0], row[1], row[2]) for row in rows], total


def record_of(session: Session, binding: CiProjectBinding) -> BindingRecord:
    return _record(session, binding)


def ci_principal(session: Session, claims: CiClaims, *, server_url: str) -> Principal:
    """The principal of a verified token: its binding's bot, role and project, and the job."""
    row = session.execute(
        select(CiProjectBinding, User)
        .join(User, User.id == CiProjectBinding.user_id)
        .where(CiProjectBinding.issuer == claims.issuer, CiProjectBinding.ci_project_key == claims.ci_project.lower())
    ).first()
    if row is None:
        raise Unauthenticated(
            f"401 Unauthorized: CI project {claims.ci_project!r} of {claims.issuer} is not bound to a gateway "
            f"project; an administrator can bind it with: mlgateway ci bind --issuer {claims.issuer} "
            f"--ci-project {claims.ci_project} --project <project>",
            reason="invalid_ci_token",
        )
    binding, bot = row[0], row[1]
    job = CiJob(
        issuer=claims.issuer,
        ci_project=claims.ci_project,
        project_id=binding.project_id,
        role=Role(binding.access_level),
        binding_id=binding.id,
        job_id=claims.job_id,
        pipeline_id=claims.pipeline_id,
        commit_sha=claims.commit_sha,
        ref=claims.ref,
        server_url=server_url,
    )
    return Principal(
        user_id=bot.id, username=bot.username, is_admin=False, is_bot=True, scopes=frozenset({"api"}), ci=job
    )


def _record(session: Session, binding: CiProjectBinding) -> BindingRecord:
    project = session.get(Project, binding.project_id)
    bot = session.get(User, binding.user_id)
    assert project is not None and bot is not None, "both are foreign keys with ON DELETE CASCADE"
    return BindingRecord(binding, project.full_path, bot.username)


def _check_issuer(issuer: str, trusted: Sequence[str]) -> None:
    if issuer in trusted:
        return
    if not trusted:
        raise InvalidParameter(
            "no CI issuer is configured: set GATEWAY_CI_ISSUERS (for the CLI too, as for the server) before binding"
        )
    raise InvalidParameter(f"issuer {issuer!r} is not configured; configured issuers: {', '.join(trusted)}")


def _check_ci_project(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter("ci_project is missing: give the CI project's path, e.g. group/repo")
    text = value.strip()
    if len(text) > MAX_PROJECT_LENGTH or any(char.isspace() or ord(char) < 32 for char in text):
        raise InvalidParameter(
            f"ci_project {text[:100]!r} is invalid: a project path without spaces, at most {MAX_PROJECT_LENGTH} "
            "characters"
        )
    return text
