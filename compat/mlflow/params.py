"""Reading MLflow request parameters: required/optional, int64-as-string, and MLflow's limits.

Every failure is an ``InvalidParameter`` whose message names the field and what was wrong, in the
words of MLflow's own server where it has them ("Missing value for required parameter 'name'").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from gateway.errors import InvalidParameter

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
# MLflow's key rule: alphanumerics, underscores, periods, dashes, spaces, slashes (and colons in 3.x).
_KEY = re.compile(r"^[/\w.\- :]*$")
_INT64 = re.compile(r"^-?\d{1,19}$")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def required_str(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected a string.")
    return value


def optional_str(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected a string.")
    return value


def optional_int(params: Mapping[str, Any], name: str, *, minimum: int | None = None) -> int | None:
    """An int64 that may arrive as a JSON number or a string of digits (protobuf's JSON form)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected an integer.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT64.match(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': expected an integer.")
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': out of the int64 range.")
    if minimum is not None and number < minimum:
        raise InvalidParameter(f"Invalid value {number} for parameter '{name}': must be at least {minimum}.")
    return number


def required_int(params: Mapping[str, Any], name: str, *, minimum: int | None = None) -> int:
    number = optional_int(params, name, minimum=minimum)
    if number is None:
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    return number


def entity_id(params: Mapping[str, Any], name: str) -> int:
    """An MLflow id that is a per-project integer here (``experiment_id``): digits only."""
    value = params.get(name)
    if value is None or value == "":
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or len(text) > 18:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': ids are positive integers.")
    return int(text)


def check_key(key: object, *, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameter(f"Missing value for required parameter 'key' of the {what}.")
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidParameter(
            f"{what.capitalize()} key '{key[:40]}…' is {len(key)} characters long; the limit is "
            f"{MAX_ENTITY_KEY_LENGTH}."
        )
    if not _valid_key(key):
        raise InvalidParameter(
            f"Invalid {what} name: '{key}'. Names may only contain alphanumerics, underscores (_), "
            "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)."
        )
    return key


@lru_cache(maxsize=4096)
def _valid_key(key: str) -> bool:
    """Keys repeat (a batch logs the same few keys at many steps): remember the verdicts."""
    return bool(_KEY.match(key)) and not key.startswith("/") and ".." not in key.split("/")


def check_value(value: object, *, what: str, limit: int, key: str) -> str:
    if value is None:
        raise InvalidParameter(f"Missing value for required parameter 'value' of {what} '{key}'.")
    if not isinstance(value, str):
        raise InvalidParameter(f"Invalid value {value!r} for {what} '{key}': expected a string.")
    if len(value) > limit:
        raise InvalidParameter(
            f"{what.capitalize()} '{key}' has a value of {len(value)} characters; the limit is {limit}."
        )
    return value


def tag(params: Mapping[str, Any]) -> tuple[str, str]:
    """The ``key`` and ``value`` of a ``set-tag`` call (runs, experiments, models, versions), validated."""
    key = check_key(params.get("key"), what="tag")
    return key, check_value(params.get("value"), what="tag", limit=MAX_TAG_VALUE_LENGTH, key=key)


def key_values(params: Mapping[str, Any], name: str, *, what: str, limit: int) -> list[tuple[str, str]]:
    """A list of ``{"key", "value"}`` objects (tags), validated."""
    raw = params.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidParameter(f"Invalid value for parameter '{name}': expected a list of {{key, value}} objects.")
    pairs = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidParameter(f"Invalid entry {item!r} in '{name}': expected an object with key and value.")
        key = check_key(item.get("key"), what=what)
        pairs.append((key, check_value(item.get("value"), what=what, limit=limit, key=key)))
    return pairs


def run_id(params: Mapping[str, Any]) -> str:
    """``run_id``, or the older ``run_uuid`` that clients still send beside it."""
    value = params.get("run_id") or params.get("run_uuid")
    if not value:
        raise InvalidParameter("Missing value for required parameter 'run_id'.")
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidParameter(f"Invalid value {value!r} for parameter 'run_id'.")
    return value


def order_by(params: Mapping[str, Any]) -> list[str]:
    """``order_by`` as MLflow sends it (a list of clauses) or as GitLab takes it (one string)."""
    raw = params.get("order_by")
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InvalidParameter(f"Invalid value {raw!r} for parameter 'order_by': expected a list of strings.")
    return raw


def max_results(params: Mapping[str, Any], *, default: int, limit: int) -> int:
    value = optional_int(params, "max_results")
    if value is None:
        return default
    if not 1 <= value <= limit:
        raise InvalidParameter(f"Invalid value {value} for parameter 'max_results': it must be between 1 and {limit}.")
    return value


def required_str_or_int(params: Mapping[str, Any], name: str) -> str:
    """A field MLflow types as a string that hand-written clients send as a number (``version``)."""
    value = params.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return required_str(params, name)


VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")


def view_type(params: Mapping[str, Any], name: str) -> str:
    """MLflow's ``ViewType`` (``view_type``, ``run_view_type``); ``ACTIVE_ONLY`` when absent."""
    value = optional_str(params, name) or "ACTIVE_ONLY"
    if value not in VIEW_TYPES:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': use one of {', '.join(VIEW_TYPES)}.")
    return value
