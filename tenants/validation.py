"""Input rules for tenancy names and paths, GitLab's, with messages a person can act on."""

from __future__ import annotations

import re
from datetime import date

from gateway.errors import InvalidParameter
from tenants.tokens import SCOPES

_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_RESERVED_SUFFIXES = (".git", ".atom")
_RESERVED_TOP_LEVEL = {"-", "api", "admin", "help", "users", "groups", "projects", "explore", "dashboard"}
VISIBILITIES = ("private", "internal", "public")


def check_path(path: object, *, what: str = "path", top_level: bool = False) -> str:
    if not isinstance(path, str) or not path:
        raise InvalidParameter(f"{what} is missing: give a path such as 'my-project'")
    if len(path) > 255:
        raise InvalidParameter(f"{what} is longer than 255 characters")
    if not _PATH.match(path) or path.endswith(_RESERVED_SUFFIXES) or ".." in path:
        raise InvalidParameter(
            f"{what} {path!r} is invalid: use letters, digits, '_', '-' and '.', start with a letter, "
            "digit or '_', and do not end in '.git' or '.atom'"
        )
    if top_level and path.lower() in _RESERVED_TOP_LEVEL:
        raise InvalidParameter(f"{what} {path!r} is reserved; choose another")
    return path


def check_name(name: object, *, what: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(f"{what} is missing")
    if len(name) > 255:
        raise InvalidParameter(f"{what} is longer than 255 characters")
    return name.strip()


def check_visibility(value: object) -> str:
    if value not in VISIBILITIES:
        raise InvalidParameter(f"visibility {value!r} is invalid: use one of {', '.join(VISIBILITIES)}")
    assert isinstance(value, str)
    return value


def check_scopes(value: object) -> list[str]:
    """A list, or a comma-separated string, of ``api`` / ``read_api``."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InvalidParameter("scopes is missing: give api and/or read_api")
    scopes: list[str] = []
    for item in items:
        scope = str(item).strip()
        if scope not in SCOPES:
            raise InvalidParameter(f"scope {scope!r} is not supported: use api or read_api")
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def check_expiry(value: object, today: date) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value))
        except ValueError:
            raise InvalidParameter(f"expires_at {value!r} is not a date in YYYY-MM-DD form") from None
    if parsed < today:
        raise InvalidParameter(f"expires_at {parsed.isoformat()} is in the past")
    return parsed


def check_bool(value: object, *, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise InvalidParameter(f"{what} must be true or false, not {value!r}")


MAX_ARTIFACTS_SIZE_MB = 5 * 1024 * 1024  # 5 TB: S3's largest object


def check_artifacts_size(value: object) -> int | None:
    """``max_artifacts_size`` in megabytes; ``None`` or ``""`` resets the project to the instance default."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ARTIFACTS_SIZE_MB:
        raise InvalidParameter(
            f"max_artifacts_size must be a whole number of megabytes from 1 to {MAX_ARTIFACTS_SIZE_MB}, "
            f"or null for the instance default; got {value!r}"
        )
    return value


def check_visibility_within(visibility: str, parent_visibility: str, *, parent: str) -> str:
    """GitLab's rule: nothing inside a group is more open than the group itself."""
    if VISIBILITIES.index(visibility) > VISIBILITIES.index(parent_visibility):
        raise InvalidParameter(
            f"visibility {visibility!r} is not allowed: {parent} is {parent_visibility}; "
            f"use {parent_visibility} or less"
        )
    return visibility


def path_from_name(name: str) -> str:
    """The path GitLab derives when only a name is given: ``"My Model 2"`` → ``"my-model-2"``."""
    path = re.sub(r"[^a-z0-9_.\-]+", "-", name.strip().lower()).strip("-.")
    return check_path(path or None, what=f"path derived from name {name!r}")
