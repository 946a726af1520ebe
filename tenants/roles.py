"""GitLab's access levels and the names people type for them."""

from __future__ import annotations

from enum import IntEnum

from gateway.errors import InvalidParameter


class Role(IntEnum):
    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50

    @classmethod
    def parse(cls, value: str | int) -> Role:
        """Accept ``developer``, ``Developer`` or ``30``; anything else is a 400 naming the choices."""
        text = str(value).strip()
        if text.isdigit():
            try:
                return cls(int(text))
            except ValueError:
                pass
        else:
            try:
                return cls[text.upper()]
            except KeyError:
                pass
        choices = ", ".join(f"{r.name.lower()} ({r.value})" for r in cls)
        raise InvalidParameter(f"unknown role {value!r}: use one of {choices}")
