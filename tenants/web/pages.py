"""The web UI's shell: templates, HTML error pages, sign-in and sign-out, and the home page.

Owns: the page layout (``templates/layout.html``, ``static/gateway.css``), ``page_templates`` (the
Jinja2 environment every UI package renders with, its own templates first, built when the first page
is rendered), ``html_errors`` (the HTML
twin of the JSON exception handlers: 401 → the sign-in page, 403/404/400 → an error page), form
reading with the CSRF check, and the routes ``/``, ``/users/sign_in`` and ``/users/sign_out``.
Must not: know ML (``compat.web`` builds the ML pages on this shell).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.errors import GatewayError, InvalidParameter, NotFound, PermissionDenied, Unauthenticated
from gateway.http import run_in_unit_of_work
from gateway.static_assets import assets_of
from tenants import projects, repository, sign_in
from tenants.principal import Principal
from tenants.web import sessions

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
ASSETS = {"gateway.css": HERE / "static" / "gateway.css", "gateway.js": HERE / "static" / "gateway.js"}
SIGN_IN_PATH = "/users/sign_in"
MAX_FORM_FIELDS = 2000
# Scripts and styles only from the gateway; plotly sets inline styles on the SVG it draws.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PageHandler = Callable[[Request], Awaitable[Response]]


# ---------------------------------------------------------------------------------------- templates
def format_ms(value: int | None) -> str:
    """Epoch milliseconds as ``2024-05-01 12:30:05`` (UTC)."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start: int | None, end: int | None) -> str:
    if start is None or end is None or end < start:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def _context(request: Request) -> dict[str, Any]:
    web_session = getattr(request.state, "web_session", None)
    return {
        "asset": assets_of(request).url,
        "viewer": getattr(request.state, "viewer", None),
        "csrf": web_session.csrf if isinstance(web_session, sessions.WebSession) else "",
        "csrf_field": sessions.CSRF_FIELD,
    }


class PageTemplates:
    """A Jinja2 environment over some directories then the shell's own templates (autoescaped).

    Built when the first page is rendered: a worker that only serves MLflow clients never renders
    one, and importing Jinja2 and building the environment at startup cost each worker ~2 MB of RSS
    (SPEC §9 holds the gateway's process tree to a tenth of a stock MLflow server's).
    """

    def __init__(self, *directories: Path) -> None:
        self.directories = [*directories, TEMPLATES]
        self._environment: Jinja2Templates | None = None
        self._lock = threading.Lock()

    def response(self, request: Request, name: str, context: dict[str, Any], status_code: int) -> Response:
        return self.environment().TemplateResponse(request, name, context, status_code=status_code)

    def environment(self) -> Jinja2Templates:
        if self._environment is None:
            with self._lock:
                if self._environment is None:
                    from starlette.templating import Jinja2Templates

                    templates = Jinja2Templates(directory=self.directories, context_processors=[_context])
                    templates.env.filters["datetime"] = format_ms
                    templates.env.globals["duration"] = format_duration
                    self._environment = templates
        return self._environment


def page_templates(*directories: Path) -> PageTemplates:
    return PageTemplates(*directories)


def render(
    templates: PageTemplates, request: Request, name: str, context: Mapping[str, Any], status_code: int = 200
) -> Response:
    response = templates.response(request, name, dict(context), status_code)
    secure_page(response)
    return response


def secure_page(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")


# ---------------------------------------------------------------------------------------- errors
def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?redirect_to={quote(next_path, safe='/')}"


def safe_redirect(target: str | None) -> str:
    """Only a path on this site (``/…``, never ``//host`` or ``/\\host``) may be a redirect target."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/"
    if any(ord(char) < 32 for char in target):
        return "/"
    return target


def html_errors(templates: PageTemplates, handler: PageHandler) -> PageHandler:
    """Render domain errors of a page as HTML: sign-in for 401, an error page otherwise."""

    async def page(request: Request) -> Response:
        try:
            return await handler(request)
        except Unauthenticated:
            target = request.url.path if request.method == "GET" else "/"
            if request.method == "GET" and request.url.query:
                target += "?" + request.url.query
            response: Response = RedirectResponse(sign_in_url(target), status_code=303)
            if request.cookies.get(sessions.SESSION_COOKIE):
                sessions.clear_session_cookie(request, response)
            return response
        except GatewayError as error:
            return error_page(templates, request, error)

    return page


def error_page(templates: PageTemplates, request: Request, error: GatewayError) -> Response:
    if isinstance(error, NotFound):
        title, message = "Page not found", "The page could not be found, or you do not have access to it."
    elif isinstance(error, PermissionDenied):
        title, message = "Not allowed", error.message
    elif isinstance(error, InvalidParameter):
        title, message = "That did not work", error.message
    else:
        title, message = "Something went wrong", error.message
    status = error.status if error.status < 500 else 500
    return render(templates, request, "error.html", {"title": title, "message": message}, status)


async def read_form(request: Request) -> FormData:
    """A form body (urlencoded or multipart without files); the body size limit applies before this."""
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)


async def checked_form(request: Request, web_session: sessions.WebSession) -> FormData:
    """The form of a POST that changes something, after its CSRF token matched the session's."""
    form = await read_form(request)
    sessions.check_csrf(web_session, form)
    return form


# ---------------------------------------------------------------------------------------- sign-in
def sign_in_routes() -> list[Route]:
    templates = page_templates()

    def show(request: Request, error: str = "", username: str = "", status_code: int = 200) -> Response:
        csrf = request.cookies.get(sessions.SIGN_IN_COOKIE) or sessions.new_csrf_value()
        context = {
            "error": error,
            "username": username,
            "sign_in_csrf": csrf,
            "redirect_to": safe_redirect(request.query_params.get("redirect_to")),
        }
        response = render(templates, request, "sign_in.html", context, status_code)
        sessions.set_sign_in_cookie(request, response, csrf)
        return response

    async def sign_in_page(request: Request) -> Response:
        if request.method == "GET":
            return show(request)
        form = await read_form(request)
        sessions.check_sign_in_csrf(request, form)
        username, secret = str(form.get("username", "")), str(form.get("password", ""))
        key = request.state.settings.secret_key_bytes()

        def check(session: Session) -> Principal:
            return sign_in.sign_in(session, key, username, secret)

        try:  # in a worker thread, like every database call (passlib's pbkdf2 takes a while too)
            principal = await run_in_unit_of_work(request, check, write=False)
        except Unauthenticated as error:
            return show(request, error.message, username, status_code=401)
        target = safe_redirect(str(form.get("redirect_to", "")) or None)
        response = RedirectResponse(target, status_code=303)
        sessions.set_session_cookie(request, response, sessions.web_sessions_of(request).issue(principal))
        response.delete_cookie(sessions.SIGN_IN_COOKIE, path="/users")
        return response

    async def sign_out(request: Request) -> Response:
        web_session = sessions.current_session(request)
        if web_session is not None:
            await checked_form(request, web_session)
        response = RedirectResponse(SIGN_IN_PATH, status_code=303)
        sessions.clear_session_cookie(request, response)
        return response

    async def home(request: Request) -> Response:
        web_session = sessions.require_session(request)
        request.state.web_session = web_session

        def work(session: Session) -> list[projects.ProjectRecord]:
            principal = sessions.session_principal(session, web_session)
            request.state.viewer = principal.username
            filters = repository.ProjectFilters(membership=not principal.is_admin, order_by="name", descending=False)
            return projects.list_visible(session, principal, filters, repository.Window(0, 200))[0]

        records = await run_in_unit_of_work(request, work, write=False)
        return render(templates, request, "home.html", {"records": records})

    return [
        Route(SIGN_IN_PATH, html_errors(templates, sign_in_page), methods=["GET", "POST"]),
        Route("/users/sign_out", html_errors(templates, sign_out), methods=["POST"]),
        Route("/", html_errors(templates, home), methods=["GET"]),
    ]
