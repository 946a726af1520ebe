"""GitLab's offset pagination: ``page`` / ``per_page`` in, a JSON array plus ``X-*`` and ``Link`` out.

python-gitlab's ``list(get_all=True)`` follows only ``Link: <absolute url>; rel="next"`` and warns
when ``X-Total`` is missing, so every list answer carries both (see notes/python-gitlab-shapes §1.3).
The rows themselves are paged in SQL (``repository.Window``); this module never slices in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from gateway.errors import InvalidParameter
from gateway.http import JSONResponse
from tenants.repository import Window
from tenants.rest.params import Params, integer

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    per_page: int

    @property
    def window(self) -> Window:
        return Window(offset=(self.page - 1) * self.per_page, limit=self.per_page)


def page_request(params: Params) -> PageRequest:
    page = integer(params, "page") or 1
    per_page = integer(params, "per_page")
    if per_page is None:
        per_page = DEFAULT_PER_PAGE
    if per_page < 1:
        raise InvalidParameter("per_page must be at least 1")
    if page > 10_000_000:
        raise InvalidParameter("page is too large")
    # GitLab caps rather than rejects an oversized per_page.
    return PageRequest(page=page, per_page=min(per_page, MAX_PER_PAGE))


def paginated(request: Request, items: list[dict[str, Any]], total: int, page: PageRequest) -> JSONResponse:
    total_pages = max(1, -(-total // page.per_page))
    next_page = page.page + 1 if page.page < total_pages else None
    prev_page = page.page - 1 if 1 < page.page <= total_pages + 1 else None
    links = {"prev": prev_page, "next": next_page, "first": 1, "last": total_pages}
    link_header = ", ".join(
        f'<{request.url.include_query_params(page=number, per_page=page.per_page)}>; rel="{rel}"'
        for rel, number in links.items()
        if number is not None
    )
    headers = {
        "X-Page": str(page.page),
        "X-Per-Page": str(page.per_page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "X-Total": str(total),
        "X-Total-Pages": str(total_pages),
        "Link": link_header,
    }
    return JSONResponse(items, headers=headers)
