"""Who is calling: the authenticated identity every permission check takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    is_admin: bool
    is_bot: bool
    scopes: frozenset[str]
    """What the credential allows: ``api`` (everything) and/or ``read_api`` (reads only)."""
    token_id: int | None = None
    """The access token used, if any (``None`` for a password)."""

    @property
    def can_write(self) -> bool:
        return "api" in self.scopes
