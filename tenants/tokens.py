"""Access-token secrets: how they look, how they are generated and how they are digested.

A token is ``glpat-`` + 32 URL-safe random characters (the prefix makes leaked tokens easy to
spot by secret scanners, as GitLab's are). The database keeps only HMAC-SHA256(secret key, token):
a database dump alone cannot be turned back into working credentials, and a lookup is one indexed
equality on the digest, fast enough to run on every request (no slow KDF).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "glpat-"
SCOPES = ("api", "read_api")


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def token_digest(secret_key: bytes, token: str) -> str:
    return hmac.new(secret_key, token.encode(), hashlib.sha256).hexdigest()


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 128
