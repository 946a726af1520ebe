"""A live gateway that trusts test CI issuers, each served by ``tests.support.oidc.JwksServer``.

Issuers (by name; each is ``<jwks server>/<name>``):

- ``main``: an RSA and an EC key, keys at an explicit ``jwks_url``;
- ``rotation``: keys change while the server runs;
- ``discovery``: no ``jwks_url``, keys found through the OpenID configuration;
- ``liar``: an OpenID configuration that names another issuer;
- ``refs``: only ``main`` and ``release/*`` refs may authenticate;
- ``github``: ``repository`` names the project, and there are no GitLab job claims;
- ``down`` (connection refused) and ``slow`` (never answers): JWKS outages.

It shares the suite's database with the ordinary ``live_server``, so ``World`` data works on both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from gateway.ci_issuers import CiIssuer
from gateway.db import Database
from gateway.settings import Settings
from tenants import ci_bindings
from tenants.roles import Role
from tenants.tables import Project
from tests.support.live_server import LiveServer, start_live_server
from tests.support.oidc import (
    AUDIENCE,
    CI_SERVER_URL,
    JwksServer,
    SigningKey,
    blackhole,
    closed_port,
    ec_key,
    gitlab_claims,
    jwks_server,
    rsa_key,
    sign,
)
from tests.support.world import Ref, unique

JWKS_TIMEOUT_S = 1.0
REFRESH_COOLDOWN_S = 1.0


@dataclass
class CiGateway:
    server: LiveServer
    jwks: JwksServer
    database: Database
    keys: dict[str, SigningKey]

    def issuer(self, name: str = "main") -> str:
        return self.jwks.issuer(name)

    def token(
        self, ci_project: str, job_id: int, /, *, issuer: str = "main", key: str | None = None, **claims: Any
    ) -> str:
        """A signed GitLab-shaped ID token (``claims`` override or, with ``None``, drop claims)."""
        signing_key = self.keys[key or f"{issuer}-rsa"]
        return sign(signing_key, gitlab_claims(self.issuer(issuer), ci_project, job_id, **claims))

    def bind(self, project: Ref, ci_project: str, role: Role = Role.DEVELOPER, *, issuer: str = "main") -> int:
        with self.database.unit_of_work() as session:
            target = session.get(Project, project.id)
            assert target is not None
            record, _ = ci_bindings.bind(
                session,
                issuer=self.issuer(issuer),
                ci_project=ci_project,
                project=target,
                role=role,
                trusted_issuers=[self.issuer(issuer)],
            )
            return record.binding.id

    def bound_project(self, world: Any, role: Role = Role.DEVELOPER, **kwargs: Any) -> tuple[Ref, str]:
        """A fresh project and a fresh CI project path bound to it."""
        project = world.project(**kwargs)
        ci_project = f"{unique('ci-group')}/{unique('repo')}"
        self.bind(project, ci_project, role)
        return project, ci_project


@contextmanager
def start_ci_gateway(settings: Settings, database: Database) -> Iterator[CiGateway]:
    with ExitStack() as stack:
        jwks = stack.enter_context(jwks_server())
        keys = {
            "main-rsa": rsa_key("main-rsa"),
            "main-ec": ec_key("main-ec"),
            "rotation-rsa": rsa_key("rotation-1"),
            "discovery-rsa": rsa_key("discovery-1"),
            "liar-rsa": rsa_key("liar-1"),
            "refs-rsa": rsa_key("refs-1"),
            "github-rsa": rsa_key("github-1"),
            "slow-rsa": rsa_key("slow-1"),
            "down-rsa": rsa_key("down-1"),
        }
        jwks.publish("main", keys["main-rsa"], keys["main-ec"])
        for name in ("rotation", "discovery", "liar", "refs", "github"):
            jwks.publish(name, keys[f"{name}-rsa"])
        jwks.discovery_issuer["liar"] = "https://somebody-else.example.com"
        slow_url = stack.enter_context(blackhole())

        def issuer(name: str, **extra: Any) -> CiIssuer:
            jwks_url = extra.pop("jwks_url", jwks.jwks_url(name))
            return CiIssuer(issuer=jwks.issuer(name), audience=(AUDIENCE,), jwks_url=jwks_url, **extra)

        issuers = (
            issuer("main"),
            issuer("rotation"),
            issuer("discovery", jwks_url=""),
            issuer("liar", jwks_url=""),
            issuer("refs", allowed_refs=("main", "release/*")),
            issuer("github", project_claim="repository"),
            issuer("down", jwks_url=closed_port()),
            issuer("slow", jwks_url=slow_url),
        )
        ci_settings = dataclasses.replace(
            settings,
            ci_issuers=issuers,
            ci_server_url=CI_SERVER_URL,
            ci_jwks_timeout_s=JWKS_TIMEOUT_S,
            ci_jwks_refresh_cooldown_s=REFRESH_COOLDOWN_S,
        )
        server = stack.enter_context(start_live_server(ci_settings, database))
        yield CiGateway(server, jwks, database, keys)
