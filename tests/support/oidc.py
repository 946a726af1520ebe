"""A CI issuer for tests: local RSA and EC keys, GitLab-shaped ID tokens, and a JWKS on loopback.

``JwksServer`` is a tiny threaded HTTP server that serves, per issuer name, ``/<name>/jwks`` and
``/<name>/.well-known/openid-configuration``; tests publish and withdraw keys while it runs (key
rotation) and count fetches (caching). ``blackhole()`` is a port that accepts connections and never
answers (a hung issuer); ``closed_port()`` refuses them (an issuer that is down).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "https://mlgateway.test"
CI_SERVER_URL = "https://gitlab.example.com"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: Any
    public_jwk: dict[str, Any]

    @property
    def public_pem(self) -> bytes:
        return bytes(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def rsa_key(kid: str) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return SigningKey(kid, "RS256", private, {**jwk, "kid": kid, "use": "sig", "alg": "RS256"})


def ec_key(kid: str) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return SigningKey(kid, "ES256", private, {**jwk, "kid": kid, "use": "sig", "alg": "ES256"})


def gitlab_claims(issuer: str, project_path: str, job_id: int, /, **overrides: Any) -> dict[str, Any]:
    """The claims GitLab CI puts in an ``id_tokens:`` token (``None`` in ``overrides`` drops one)."""
    now = int(time.time())
    namespace = project_path.rpartition("/")[0]
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": f"project_path:{project_path}:ref_type:branch:ref:main",
        "namespace_id": "72",
        "namespace_path": namespace,
        "project_id": "20",
        "project_path": project_path,
        "user_id": "5",
        "user_login": "alice",
        "user_email": "alice@example.com",
        "pipeline_id": "3141",
        "pipeline_source": "push",
        "job_id": str(job_id),
        "ref": "main",
        "ref_type": "branch",
        "ref_path": "refs/heads/main",
        "ref_protected": "true",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "runner_id": 1,
        "jti": f"jti-{job_id}-{now}",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def sign(key: SigningKey, claims: dict[str, Any], **headers: Any) -> str:
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, **headers})


@dataclass
class JwksServer:
    base_url: str
    keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    discovery_issuer: dict[str, str] = field(default_factory=dict)
    """Per issuer name: the ``issuer`` its OpenID configuration claims (defaults to the real one)."""
    fetches: Counter[str] = field(default_factory=Counter)

    def issuer(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def jwks_url(self, name: str) -> str:
        return f"{self.issuer(name)}/jwks"

    def publish(self, name: str, *keys: SigningKey) -> None:
        self.keys[name] = [key.public_jwk for key in keys]


@contextmanager
def jwks_server() -> Iterator[JwksServer]:
    state: list[JwksServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server = state[0]
            name, _, rest = self.path.strip("/").partition("/")
            server.fetches[self.path] += 1
            if rest == "jwks" and name in server.keys:
                self._send({"keys": server.keys[name]})
            elif rest == ".well-known/openid-configuration" and name in server.keys:
                issuer = server.discovery_issuer.get(name, server.issuer(name))
                self._send({"issuer": issuer, "jwks_uri": server.jwks_url(name)})
            else:
                self.send_error(404)

        def _send(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(JwksServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL whose port completes TCP handshakes and then never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/jwks"
    finally:
        sock.close()


def closed_port() -> str:
    """A loopback URL nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks"
