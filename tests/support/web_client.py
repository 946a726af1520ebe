"""A browser-like httpx client for the web UI: a cookie jar, the sign-in form, CSRF tokens from pages."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

CSRF = re.compile(r'name="_csrf" value="([^"]*)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


class WebClient:
    def __init__(self, base_url: str, **headers: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=headers, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def sign_in(self, username: str, password: str, *, redirect_to: str = "/") -> httpx.Response:
        form = self.http.get("/users/sign_in")
        assert form.status_code == 200, form.text
        body = {"_csrf": csrf_of(form.text), "username": username, "password": password, "redirect_to": redirect_to}
        return self.http.post("/users/sign_in", data=body)

    def signed_in(self, username: str, password: str) -> WebClient:
        answer = self.sign_in(username, password)
        assert answer.status_code == 303, answer.text
        return self

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post_form(self, page_path: str, action_path: str, data: dict[str, Any]) -> httpx.Response:
        """POST a form the way a browser does: with the CSRF token of the page that shows it."""
        page = self.http.get(page_path)
        assert page.status_code == 200, page.text
        return self.http.post(action_path, data={"_csrf": csrf_of(page.text), **data})

    @property
    def csrf_from_home(self) -> str:
        return csrf_of(self.http.get("/").text)
