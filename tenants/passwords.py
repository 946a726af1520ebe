"""Optional user passwords, hashed with passlib's pbkdf2_sha256 (pure Python, no bcrypt pinning)."""

from __future__ import annotations

from functools import cache
from typing import Any

from gateway.errors import InvalidParameter

MIN_PASSWORD_LENGTH = 8


@cache
def _context() -> Any:
    """Built on first use: passlib is a few MB that token-only deployments never need in their workers."""
    from passlib.context import CryptContext

    return CryptContext(schemes=["pbkdf2_sha256"], deprecated="auto")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameter(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return str(_context().hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    return bool(_context().verify(password, password_hash))
