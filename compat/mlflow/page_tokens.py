"""Opaque page tokens: base64url JSON of where the next page starts, validated on the way back in.

A token names the endpoint it belongs to, so a token from one listing is refused by another, and a
tampered or truncated token is a 400 naming the parameter rather than a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

from gateway.errors import InvalidParameter


def encode(kind: str, position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"k": kind, **position})).decode().rstrip("=")


def decode(kind: str, token: object, fields: dict[str, type]) -> dict[str, Any] | None:
    """``None`` for no token; the position for a valid one; 400 for anything else."""
    if token is None or token == "":
        return None
    try:
        if not isinstance(token, str):
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = orjson.loads(raw)
        if not isinstance(position, dict) or position.pop("k", None) != kind:
            raise ValueError
        if set(position) != set(fields) or not all(
            isinstance(position[name], wanted) and not isinstance(position[name], bool)
            for name, wanted in fields.items()
        ):
            raise ValueError
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidParameter(
            f"Invalid page_token {str(token)[:40]!r}: pass back the next_page_token of the previous page unchanged."
        ) from None
    return position


# ---------------------------------------------------------------------------------------- search pages
def fingerprint(*parts: Any) -> str:
    """A short digest of a search's inputs, so its page tokens only page that search."""
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


def offset_token(kind: str, offset: int, search: str) -> str:
    return encode(kind, {"offset": offset, "q": search})


def offset_of(kind: str, token: object, search: str) -> int:
    """The offset a search page token points at (0 without one); 400 for another search's token."""
    position = decode(kind, token, {"offset": int, "q": str})
    if position is None:
        return 0
    if position["q"] != search or position["offset"] < 0:
        raise InvalidParameter(
            "Invalid page_token: it belongs to a search with another filter, order or experiment list. "
            "Repeat the same search to page through it, or start again without a page_token."
        )
    return int(position["offset"])
