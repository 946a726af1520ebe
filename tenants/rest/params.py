"""Typed reads of GitLab API parameters (query string or JSON body), each failing as a 400 that names
the parameter — so a wrong type is the caller's error, never a 500 deeper down.

Must not: decide defaults that are domain policy (services do) or touch the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.errors import InvalidParameter, NotFound
from tenants.repository import MAX_ID
from tenants.roles import Role
from tenants.validation import check_bool

Params = Mapping[str, Any]


def text(params: Params, key: str, *, required: bool = False) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise InvalidParameter(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{key} must be a string, not {type(value).__name__}")
    return value


def integer(params: Params, key: str, *, required: bool = False) -> int | None:
    """An int, or a string of digits (query strings and forms carry only strings)."""
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise InvalidParameter(f"{key} is missing")
        return None
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 0:
        raise InvalidParameter(f"{key} must be a non-negative integer, not {value!r}")
    if number > MAX_ID:
        raise InvalidParameter(f"{key} {number} is too large")
    return number


def integers(params: Params, key: str) -> list[int]:
    """``user_ids[]=1&user_ids[]=2`` (python-gitlab's array form), ``user_ids=1,2`` or a JSON list."""
    value = params.get(f"{key}[]", params.get(key))
    if value is None:
        return []
    items: Sequence[Any] = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    return [number for item in items if (number := integer({key: item}, key)) is not None]


def flag(params: Params, key: str, default: bool = False) -> bool:
    value = params.get(key)
    return default if value is None or value == "" else check_bool(value, what=key)


def choice(params: Params, key: str, choices: Sequence[str], default: str) -> str:
    value = params.get(key, default)
    if value not in choices:
        raise InvalidParameter(f"{key} {value!r} is not valid: use one of {', '.join(c for c in choices if c)}")
    assert isinstance(value, str)
    return value


def access_level(params: Params, key: str = "access_level", *, default: Role | None = None) -> Role:
    """A GitLab access level (10, 20, 30, 40, 50; role names work too)."""
    value = params.get(key)
    if value is None or value == "":
        if default is None:
            raise InvalidParameter(f"{key} is missing: give 10, 20, 30, 40 or 50")
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidParameter(f"{key} must be an access level such as 30, not {value!r}")
    return Role.parse(value)


def path_number(value: str, *, what: str) -> int:
    """A numeric id from the URL; anything else names nothing, so it is a 404 like a missing id."""
    if not value.isdigit() or int(value) > MAX_ID:
        raise NotFound(f"404 {what} Not Found: {value!r} is not an id")
    return int(value)
