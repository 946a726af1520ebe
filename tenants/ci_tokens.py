"""Verifying CI job ID tokens: OIDC JWTs from GitLab CI ``id_tokens:`` (GitHub Actions' work alike).

A token is accepted only when every check passes, in this order:

1. it is a JWS whose header names ``RS256`` or ``ES256`` and a ``kid`` (never ``none``, never an HMAC
   algorithm, so a public key can never be used as an HMAC secret);
2. its ``iss`` is a configured issuer (``GATEWAY_CI_ISSUERS``);
3. that issuer publishes a key with the ``kid`` (``tenants.ci_keys``: cached, refreshed on an unknown
   ``kid``, fetched with a timeout);
4. the signature verifies with that key, ``aud`` is one of the issuer's audiences, and ``exp``,
   ``nbf`` and ``iat`` hold with ``LEEWAY_S`` of leeway (``exp``, ``iat``, ``iss``, ``aud`` and ``sub``
   are required);
5. the issuer's project claim is a non-empty string and the ``ref`` is one the issuer allows.

Any failure is a 401 whose message names the failed check — never the token. Rejections are logged
with the reason and issuer only. Must not: touch the database (``tenants.ci_bindings`` maps the
verified claims to a project) or decide permissions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.ci_issuers import CiIssuer
from gateway.errors import Unauthenticated

if TYPE_CHECKING:
    import jwt

# PyJWT and cryptography (~10 MB per process) are imported only where a CI token is verified: most
# deployments trust no issuer, and every worker would carry them for nothing.

log = logging.getLogger("tenants.ci_tokens")

LEEWAY_S = 30
MAX_TOKEN_LENGTH = 16_384
MAX_PROJECT_LENGTH = 1000
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
_JOB_ID = re.compile(r"^[1-9][0-9]{0,18}$")


def looks_like_jwt(secret: str) -> bool:
    """Cheap and exact enough: a compact JWS is three base64url parts and its header starts ``{"``.

    Access tokens start ``glpat-`` and contain no dots, so the two kinds never overlap."""
    return secret.startswith("eyJ") and secret.count(".") == 2


@dataclass(frozen=True, slots=True)
class CiClaims:
    """What the gateway takes from a verified token."""

    issuer: str
    ci_project: str
    subject: str
    job_id: int | None
    pipeline_id: str | None
    commit_sha: str | None
    ref: str | None


class CiTokenVerifier:
    """Verifies ID tokens against the configured issuers; one per app, shared by all threads."""

    def __init__(self, issuers: Sequence[CiIssuer], *, timeout_s: float, refresh_cooldown_s: float) -> None:
        if issuers:
            from tenants.ci_keys import IssuerKeys
        self._issuers = {
            issuer.issuer: (issuer, IssuerKeys(issuer, timeout_s=timeout_s, refresh_cooldown_s=refresh_cooldown_s))
            for issuer in issuers
        }

    @property
    def issuers(self) -> list[str]:
        return list(self._issuers)

    def verify(self, token: str) -> CiClaims:
        try:
            return self._verify(token)
        except Unauthenticated as exc:
            log.info("CI token rejected", extra={"reason": exc.message})
            raise

    def _verify(self, token: str) -> CiClaims:
        if not self._issuers:
            raise _rejected("CI job tokens are not accepted here: the gateway trusts no CI issuer")
        if len(token) > MAX_TOKEN_LENGTH:
            raise _rejected(f"the CI job token is longer than {MAX_TOKEN_LENGTH} characters")
        import jwt

        from tenants.ci_keys import SIGNING_ALGORITHMS, KeysUnavailable, UnknownKey

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _rejected("the CI job token is not a well-formed JWT") from None
        algorithm, kid, issuer_name = header.get("alg"), header.get("kid"), unverified.get("iss")
        if algorithm not in SIGNING_ALGORITHMS:
            raise _rejected(f"the CI job token is signed with {_short(algorithm)}; only RS256 and ES256 are accepted")
        if not isinstance(kid, str) or not kid:
            raise _rejected("the CI job token's header has no 'kid'")
        if not isinstance(issuer_name, str) or issuer_name not in self._issuers:
            raise _rejected(f"the CI job token's issuer {_short(issuer_name)} is not trusted by this gateway")
        issuer, keys = self._issuers[issuer_name]
        try:
            key = keys.signing_key(kid)
        except KeysUnavailable as exc:
            raise _rejected(f"cannot verify CI job tokens of {issuer.issuer} right now: {exc}") from None
        except UnknownKey:
            raise _rejected(f"{issuer.issuer} publishes no RS256/ES256 signing key with kid {_short(kid)}") from None
        claims = _decode(token, key, issuer)
        return _claims(claims, issuer)


def _decode(token: str, key: jwt.PyJWK, issuer: CiIssuer) -> dict[str, Any]:
    import jwt

    from tenants.ci_keys import SIGNING_ALGORITHMS

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(SIGNING_ALGORITHMS),
            audience=list(issuer.audience),
            issuer=issuer.issuer,
            leeway=LEEWAY_S,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise _rejected("the CI job token has expired") from None
    except jwt.ImmatureSignatureError:
        raise _rejected("the CI job token is not valid yet (nbf or iat lies in the future)") from None
    except jwt.InvalidAudienceError:
        expected = " or ".join(map(repr, issuer.audience))
        raise _rejected(f"the CI job token's audience is not {expected} (set aud in the job's id_tokens:)") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _rejected(f"the CI job token has no {exc.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise _rejected("the CI job token's signature does not verify") from None
    except jwt.InvalidTokenError as exc:
        raise _rejected(f"the CI job token is invalid: {exc}") from None
    return claims


def _claims(claims: Mapping[str, Any], issuer: CiIssuer) -> CiClaims:
    project = claims.get(issuer.project_claim)
    if not isinstance(project, str) or not project.strip() or len(project) > MAX_PROJECT_LENGTH:
        raise _rejected(f"the CI job token has no usable {issuer.project_claim!r} claim naming its project")
    ref = _optional_text(claims, "ref")
    if not issuer.allows_ref(ref):
        raise _rejected(f"CI jobs of {issuer.issuer} may not authenticate from ref {ref!r}")
    raw_job = claims.get("job_id")
    if raw_job is not None and not _JOB_ID.match(str(raw_job)):
        raise _rejected(f"the CI job token's job_id claim {raw_job!r} is not a job id")
    return CiClaims(
        issuer=issuer.issuer,
        ci_project=project,
        subject=str(claims["sub"]),
        job_id=None if raw_job is None else int(str(raw_job)),
        pipeline_id=_optional_text(claims, "pipeline_id"),
        commit_sha=_optional_text(claims, "sha"),
        ref=ref,
    )


def _optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)[:500]


def _short(value: object) -> str:
    """Unverified header and claim values are the caller's words: quoted, and cut short."""
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _rejected(reason: str) -> Unauthenticated:
    return Unauthenticated(f"401 Unauthorized: {reason}", reason="invalid_ci_token")
