"""Trusted CI issuers (``GATEWAY_CI_ISSUERS``): whose OIDC ID tokens may authenticate CI jobs.

Owns: the configuration's shape, its defaults and its error messages, checked once at start-up.
Must not: fetch keys or verify tokens (``tenants.ci_tokens`` does), or read the environment
(``gateway.settings`` hands the text in).

The value is a JSON list, or the path of a file holding one (a value not starting with ``[`` or
``{`` is a path)::

    [{"issuer": "https://gitlab.example.com",            # the tokens' exact ``iss``
      "audience": "https://mlflow.example.com",          # or a list: any of them
      "jwks_url": "https://gitlab.example.com/oauth/discovery/keys",  # optional: OIDC discovery
      "project_claim": "project_path",                   # optional: the claim naming the CI project
      "allowed_refs": ["main", "release/*"]}]            # optional: shell-style patterns on ``ref``

Key URLs must be ``https://``; plain ``http://`` is accepted only on loopback (tests, sidecars),
because keys fetched over plain HTTP could be swapped by anyone on the path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_KEYS = ("issuer", "audience", "jwks_url", "project_claim", "allowed_refs")
_CLAIM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,99}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_ISSUERS = 50


class CiIssuerError(ValueError):
    """The issuer configuration cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class CiIssuer:
    issuer: str
    """The exact ``iss`` of the tokens, e.g. ``https://gitlab.example.com``."""
    audience: tuple[str, ...]
    """Accepted ``aud`` values (GitLab CI: the ``aud`` of the job's ``id_tokens:`` entry)."""
    jwks_url: str = ""
    """Where the signing keys are; empty means OIDC discovery from the issuer."""
    project_claim: str = "project_path"
    """The claim that names the CI project (GitHub Actions: ``repository``)."""
    allowed_refs: tuple[str, ...] = ()
    """Shell-style patterns the ``ref`` claim must match; empty allows every ref."""

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def allows_ref(self, ref: object) -> bool:
        if not self.allowed_refs:
            return True
        return isinstance(ref, str) and any(fnmatchcase(ref, pattern) for pattern in self.allowed_refs)


def parse_ci_issuers(text: str) -> tuple[CiIssuer, ...]:
    """The issuers in ``text`` (JSON, or a path to a JSON file); ``()`` for an empty value."""
    source = text.strip()
    if not source:
        return ()
    if source[0] not in "[{":
        try:
            source = Path(source).read_text()
        except OSError as exc:
            raise CiIssuerError(f"cannot read the issuer file {text.strip()!r}: {exc.strerror or exc}") from None
    try:
        loaded = json.loads(source)
    except json.JSONDecodeError as exc:
        raise CiIssuerError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    entries = [loaded] if isinstance(loaded, dict) else loaded
    if not isinstance(entries, list):
        raise CiIssuerError("expected a JSON list of issuer objects")
    if len(entries) > MAX_ISSUERS:
        raise CiIssuerError(f"at most {MAX_ISSUERS} issuers are supported, got {len(entries)}")
    issuers = tuple(_issuer(index, entry) for index, entry in enumerate(entries, start=1))
    seen: set[str] = set()
    for issuer in issuers:
        if issuer.issuer in seen:
            raise CiIssuerError(f"issuer {issuer.issuer!r} is listed twice")
        seen.add(issuer.issuer)
    return issuers


def check_key_url(value: str, *, what: str) -> str:
    """An absolute ``https://`` URL (``http://`` only on loopback), without credentials or fragment."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise CiIssuerError(f"{what} {value!r} is not a URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise CiIssuerError(f"{what} {value!r} must be an absolute https:// URL")
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise CiIssuerError(f"{what} {value!r} must use https:// (plain http:// is accepted only on loopback)")
    if parts.username or parts.password or parts.fragment:
        raise CiIssuerError(f"{what} {value!r} must not carry credentials or a #fragment")
    return value


def _issuer(index: int, entry: Any) -> CiIssuer:
    where = f"issuer {index}"
    if not isinstance(entry, dict):
        raise CiIssuerError(f"{where}: expected an object with {', '.join(_KEYS)}")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise CiIssuerError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; known keys: {', '.join(_KEYS)}")
    issuer = _text(entry, "issuer", where, required=True)
    check_key_url(issuer, what=f"{where}: issuer")
    audience = _texts(entry, "audience", where)
    if not audience:
        raise CiIssuerError(f"{where}: 'audience' is missing: give the aud your CI puts in the token")
    jwks_url = _text(entry, "jwks_url", where)
    if jwks_url:
        check_key_url(jwks_url, what=f"{where}: jwks_url")
    project_claim = _text(entry, "project_claim", where) or "project_path"
    if not _CLAIM_NAME.match(project_claim):
        raise CiIssuerError(f"{where}: project_claim {project_claim!r} is not a claim name")
    return CiIssuer(
        issuer=issuer,
        audience=audience,
        jwks_url=jwks_url,
        project_claim=project_claim,
        allowed_refs=_texts(entry, "allowed_refs", where),
    )


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise CiIssuerError(f"{where}: {key!r} is missing")
        return ""
    if not isinstance(value, str) or len(value) > 2000:
        raise CiIssuerError(f"{where}: {key!r} must be a string (at most 2000 characters)")
    return value


def _texts(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
        raise CiIssuerError(f"{where}: {key!r} must be a non-empty string or a list of them")
    return tuple(items)
