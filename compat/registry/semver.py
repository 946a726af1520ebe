"""Semantic versions (semver.org 2.0.0): validate, order, and bump the patch.

Ordering follows the spec where it matters for "latest": a release is above its prereleases.
Prereleases of the same release order by their text (a simplification of the spec's
dot-separated comparison). Build metadata (``+…``) is kept in the text and ignored for order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidParameter

INITIAL_VERSION = "1.0.0"
MAX_LENGTH = 255
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_MAX_PART = 2**63 - 1


@dataclass(frozen=True, slots=True)
class SemVer:
    text: str
    major: int
    minor: int
    patch: int
    prerelease: str

    @property
    def is_release(self) -> int:
        return 0 if self.prerelease else 1

    def next_patch(self) -> SemVer:
        """The release after this one: ``1.2.3`` → ``1.2.4``; a prerelease ``1.3.0-rc1`` → ``1.3.0``."""
        if self.prerelease:
            return parse(f"{self.major}.{self.minor}.{self.patch}")
        return parse(f"{self.major}.{self.minor}.{self.patch + 1}")


def is_semver(text: str) -> bool:
    return len(text) <= MAX_LENGTH and _SEMVER.match(text) is not None


def parse(text: str) -> SemVer:
    match = _SEMVER.match(text) if len(text) <= MAX_LENGTH else None
    if match is None:
        raise InvalidParameter(
            f"Version must be semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.3 or 2.0.0-rc.1): got {text!r}."
        )
    major, minor, patch = (int(part) for part in match.group(1, 2, 3))
    if max(major, minor, patch) > _MAX_PART:
        raise InvalidParameter(f"Version {text!r} has a number too large to store.")
    return SemVer(text, major, minor, patch, match.group(4) or "")
