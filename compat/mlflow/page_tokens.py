"""Opaque page tokens: base64url JSON of where the next page starts, validated on the way back in.

A token names the endpoint it belongs to, so a token from one listing is refused by another, and a
tampered or truncated token is a 400 naming the parameter rather than a 500.
"""

from __future__ import annotations

import base64
import binascii
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
