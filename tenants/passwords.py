"""Optional user passwords, hashed with passlib's pbkdf2_sha256 (pure Python, no bcrypt pinning)."""

from __future__ import annotations

from passlib.context import CryptContext

from gateway.errors import InvalidParameter

_context = CryptContext(schemes=["pbkdf2_sha256"], deprecated="auto")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameter(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return str(_context.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    return bool(_context.verify(password, password_hash))
