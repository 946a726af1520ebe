"""The shape of an ML page: session → (CSRF-checked form) → ``require`` → one unit of work → HTML.

``project_work`` is the web twin of ``compat.mlflow.endpoint``: it reads the signed-in session (no
session → the sign-in page), checks the CSRF token of a POST, resolves the URL's project with the one
permission function the API uses (``tenants.authorization.require``: another project's page and a
missing one are the same 404), and runs the handler's work in one transaction. Handlers render after.

Owns: the URL layout (GitLab's ``/<namespace>/<project>/-/ml/…``), the asset list (this package's JS
and plotly.js from the ``plotly`` package), and small helpers the page modules share.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.errors import InvalidParameter
from gateway.http import run_in_unit_of_work
from tenants.authorization import Permission, ProjectContext
from tenants.roles import Role
from tenants.web import pages, require_project, sessions
from tenants.web.pages import PageTemplates

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
ML = "/{project:path}/-/ml"
READ_EXPERIMENTS = Permission.READ_MODEL_EXPERIMENTS
WRITE_EXPERIMENTS = Permission.WRITE_MODEL_EXPERIMENTS
READ_REGISTRY = Permission.READ_MODEL_REGISTRY
WRITE_REGISTRY = Permission.WRITE_MODEL_REGISTRY


def plotly_js() -> Path:
    """plotly.js as the ``plotly`` Python package ships it (found without importing the package)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise RuntimeError("the plotly package is missing: it ships the web UI's charts (pip install plotly)")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


def assets() -> dict[str, Path]:
    return {"ml.js": HERE / "static" / "ml.js", "plotly.min.js": plotly_js()}


def templates() -> PageTemplates:
    return pages.page_templates(HERE / "templates")


@dataclass(frozen=True, slots=True)
class Work:
    """What a page's work function gets: the open session, the authorised project, the POSTed form."""

    session: Session
    project: ProjectContext
    form: FormData | None

    @property
    def ml(self) -> str:
        """The project's ML pages' base URL, ``/<full path>/-/ml``."""
        return ml_url(self.project)

    @property
    def can_write(self) -> bool:
        return can_write(self.project)


def ml_url(project: ProjectContext) -> str:
    return f"/{project.full_path}/-/ml"


def can_write(project: ProjectContext) -> bool:
    """Whether to show the controls that change things (the POST is authorised again regardless)."""
    return project.role is not None and project.role >= Role.DEVELOPER and project.principal.can_write


async def project_work(
    request: Request,
    permission: Permission | Callable[[FormData], Permission],
    work: Callable[[Work], T],
) -> T:
    web_session = sessions.require_session(request)
    request.state.web_session = web_session
    form = await pages.checked_form(request, web_session) if request.method == "POST" else None
    if callable(permission):
        assert form is not None, "a permission that depends on the form is for POSTs"
        permission = permission(form)
    wanted = permission

    def unit(session: Session) -> T:
        principal = sessions.session_principal(session, web_session)
        request.state.viewer = principal.username
        project = require_project(request, session, principal, wanted)
        return work(Work(session, project, form))

    return await run_in_unit_of_work(request, unit, write=wanted.value.write)


def render(
    page_templates: PageTemplates, request: Request, name: str, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    return pages.render(page_templates, request, name, context, status_code)


def redirect(url: str, *, keep: str = "", **query: Any) -> Response:
    """303 after a POST, back to a page: ``keep`` is the page's own query string (its filter, state…)."""
    pairs = [(k, v) for k, v in parse_qsl(keep) if k not in ("done", "count", *query)]
    pairs += [(k, v) for k, value in query.items() for v in (value if isinstance(value, list) else [value])]
    pairs = [(k, v) for k, v in pairs if v not in (None, "")]
    return RedirectResponse(url + ("?" + urlencode(pairs) if pairs else ""), status_code=303)


def form_text(form: FormData | None, name: str, *, limit: int = 10_000, required: bool = True) -> str:
    value = form.get(name) if form is not None else None
    if not isinstance(value, str) or (required and not value.strip()):
        if required:
            raise InvalidParameter(f"Fill in the field '{name}'.")
        return ""
    if len(value) > limit:
        raise InvalidParameter(f"The field '{name}' is longer than {limit} characters.")
    return value


def form_list(form: FormData | None, name: str) -> list[str]:
    return [] if form is None else [v for v in form.getlist(name) if isinstance(v, str) and v]


def web_link(url: str | None) -> str | None:
    """A tag value shown as a link only if it is an http(s) URL (never ``javascript:`` and friends)."""
    if url and url.startswith(("https://", "http://")) and not any(ord(c) < 33 for c in url):
        return url
    return None


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 1


def with_query(request: Request, **changes: str | list[str] | None) -> str:
    """This page's URL with some query parameters replaced (``None`` drops one): sort and page links."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if isinstance(value, list):
            kept += [(key, v) for v in value]
        elif value is not None and value != "":
            kept.append((key, value))
    return request.url.path + ("?" + urlencode(kept) if kept else "")


NOTICES = {
    "deleted": "Deleted {count} run(s).",
    "restored": "Restored {count} run(s).",
    "bulk_deleted": "Deleted {count} run(s) created at or before that time.",
    "bulk_restored": "Restored {count} run(s) deleted at or after that time.",
    "renamed": "Renamed the run.",
    "tag_saved": "Saved the tag.",
    "tag_deleted": "Deleted the tag.",
    "run_deleted": "Deleted the run.",
    "run_restored": "Restored the run.",
    "described": "Saved the description.",
}


def notice(request: Request) -> str:
    """A fixed message for ``?done=<code>&count=<n>`` (never text taken from the URL)."""
    template = NOTICES.get(request.query_params.get("done", ""))
    count = request.query_params.get("count", "")
    return template.format(count=int(count) if count.isdigit() else 0) if template else ""
