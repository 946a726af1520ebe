"""CI job ID tokens (SPEC §6): what is accepted, what is refused with a 401 and nothing written, and
how the issuer's keys are fetched — cached, rotated without a restart, failing fast when the issuer
is down or hangs, never blocking the event loop, never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tenants.roles import Role
from tests.support.ci_gateway import JWKS_TIMEOUT_S, REFRESH_COOLDOWN_S, CiGateway
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.oidc import gitlab_claims, rsa_key, sign
from tests.support.world import Ref, World, unique


def now() -> int:
    return int(time.time())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def experiment_names(gw: CiGateway, world: World, project: Ref) -> list[str]:
    observer = MlflowHttp(gw.server, project.id, world.member_token(project, Role.REPORTER))
    answer = observer.ok("/experiments/search", {"max_results": 100})
    return [experiment["name"] for experiment in answer.get("experiments", [])]


def test_a_bound_job_token_writes_to_its_project(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    for key in ("main-rsa", "main-ec"):
        client = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 7001, key=key))
        client.experiment(f"from-{key}")
    assert sorted(experiment_names(ci_gateway, world, project)) == ["from-main-ec", "from-main-rsa"]


# Each case builds a token for a bound CI project; every one must be a 401 and write nothing.
Case = Callable[[CiGateway, str], str]


def _tampered(gw: CiGateway, ci_project: str) -> str:
    header, _, signature = gw.token(ci_project, 1).split(".")
    forged = gitlab_claims(gw.issuer(), ci_project, 999)  # another job id, same (now wrong) signature
    return f"{header}.{b64(json.dumps(forged).encode())}.{signature}"


def _hs256_with_public_key(gw: CiGateway, ci_project: str) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's *public* key, which anyone has."""
    signing_input = unsigned(
        {"alg": "HS256", "typ": "JWT", "kid": "main-rsa"}, gitlab_claims(gw.issuer(), ci_project, 1)
    )
    mac = hmac.new(gw.keys["main-rsa"].public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


REJECTED: dict[str, tuple[Case, str]] = {
    "wrong audience": (lambda gw, p: gw.token(p, 1, aud="https://other.example"), "audience is not"),
    "wrong issuer": (lambda gw, p: gw.token(p, 1, iss="https://evil.example.com"), "is not trusted"),
    "expired": (lambda gw, p: gw.token(p, 1, iat=now() - 900, nbf=now() - 900, exp=now() - 120), "has expired"),
    "not yet valid": (lambda gw, p: gw.token(p, 1, nbf=now() + 600), "not valid yet"),
    "issued in the future": (lambda gw, p: gw.token(p, 1, iat=now() + 600), "not valid yet"),
    "alg none": (
        lambda gw, p: unsigned({"alg": "none", "kid": "main-rsa"}, gitlab_claims(gw.issuer(), p, 1)) + ".",
        "only RS256 and ES256",
    ),
    "HS256 keyed with the public key": (_hs256_with_public_key, "only RS256 and ES256"),
    "unknown kid": (lambda gw, p: sign(rsa_key("nobody"), gitlab_claims(gw.issuer(), p, 1)), "no RS256/ES256"),
    "tampered payload": (_tampered, "signature does not verify"),
    "no exp claim": (lambda gw, p: gw.token(p, 1, exp=None), "has no 'exp' claim"),
    "no project claim": (lambda gw, p: gw.token(p, 1, project_path=None), "no usable 'project_path' claim"),
    "no binding": (lambda gw, p: gw.token(unique("nobody") + "/repo", 1), "is not bound"),
    "ref not allowed": (lambda gw, p: gw.token(p, 1, issuer="refs", ref="feature/x"), "may not authenticate"),
    "not a JWT": (lambda gw, p: "eyJub3QiOiJqc29uIn0.garbage.x", "not a well-formed JWT"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_a_token_that_fails_any_check_is_a_401_and_writes_nothing(
    ci_gateway: CiGateway, world: World, case: str
) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    ci_gateway.bind(project, ci_project, issuer="refs")
    build, message = REJECTED[case]
    client = MlflowHttp(ci_gateway.server, project.id, build(ci_gateway, ci_project))
    answer = client.post("/experiments/create", {"name": "should-not-exist"})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert message in answer.json()["message"]
    assert experiment_names(ci_gateway, world, project) == []


def test_an_unknown_kid_refreshes_the_keys_once_per_cooldown(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    assert (
        MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1))
        .post("/experiments/search", {})
        .status_code
        == 200
    )
    time.sleep(REFRESH_COOLDOWN_S)  # past the cooldown, an unknown kid may refresh the key set
    before = ci_gateway.jwks.fetches["/main/jwks"]
    for kid in ("not-published", "made-up"):  # the second comes within the cooldown: no second fetch
        token = sign(rsa_key(kid), gitlab_claims(ci_gateway.issuer(), ci_project, 1))
        answer = MlflowHttp(ci_gateway.server, project.id, token).post("/experiments/create", {"name": "x"})
        assert answer.status_code == 401 and kid in answer.json()["message"]
    assert ci_gateway.jwks.fetches["/main/jwks"] == before + 1
    assert experiment_names(ci_gateway, world, project) == []


def test_keys_are_fetched_once_and_then_served_from_the_cache(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    client = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1))
    client.experiment()
    before = ci_gateway.jwks.fetches["/main/jwks"]
    for _ in range(5):
        assert client.post("/experiments/search", {}).status_code == 200
    assert ci_gateway.jwks.fetches["/main/jwks"] == before


def test_a_rotated_key_is_picked_up_without_a_restart(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    ci_gateway.bind(project, ci_project, issuer="rotation")
    old = ci_gateway.token(ci_project, 1, issuer="rotation")
    assert MlflowHttp(ci_gateway.server, project.id, old).post("/experiments/search", {}).status_code == 200

    new_key = rsa_key("rotation-2")
    ci_gateway.jwks.publish("rotation", ci_gateway.keys["rotation-rsa"], new_key)
    time.sleep(REFRESH_COOLDOWN_S)
    new = sign(new_key, gitlab_claims(ci_gateway.issuer("rotation"), ci_project, 2))
    answer = MlflowHttp(ci_gateway.server, project.id, new).post("/experiments/create", {"name": "after-rotation"})
    assert answer.status_code == 200, answer.text


def test_keys_found_through_openid_discovery(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    ci_gateway.bind(project, ci_project, issuer="discovery")
    ci_gateway.bind(project, ci_project, issuer="liar")
    good = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1, issuer="discovery"))
    assert good.post("/experiments/search", {}).status_code == 200
    liar = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1, issuer="liar"))
    answer = liar.post("/experiments/search", {})
    assert answer.status_code == 401 and "names issuer 'https://somebody-else.example.com'" in answer.json()["message"]


def test_an_issuer_that_is_down_fails_closed_at_once(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    client = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1, issuer="down"))
    started = time.monotonic()
    answer = client.post("/experiments/create", {"name": "x"})
    assert time.monotonic() - started < JWKS_TIMEOUT_S
    assert answer.status_code == 401
    assert "cannot verify CI job tokens of" in answer.json()["message"] and "right now" in answer.json()["message"]


def test_an_issuer_that_hangs_times_out_without_blocking_other_requests(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    client = MlflowHttp(ci_gateway.server, project.id, ci_gateway.token(ci_project, 1, issuer="slow"))
    answers: list[httpx.Response] = []
    hung = threading.Thread(target=lambda: answers.append(client.post("/experiments/search", {})))
    started = time.monotonic()
    hung.start()
    time.sleep(0.2)
    health = httpx.get(ci_gateway.server.base_url + "/-/health")  # the event loop is free meanwhile
    assert health.status_code == 200 and not answers, "health waited for the hung issuer"
    hung.join(timeout=10)
    assert answers[0].status_code == 401 and "timed out" in answers[0].json()["message"]
    assert JWKS_TIMEOUT_S <= time.monotonic() - started < JWKS_TIMEOUT_S + 2

    started = time.monotonic()  # right after a failure, lookups fail at once instead of queueing
    assert client.post("/experiments/search", {}).status_code == 401
    assert time.monotonic() - started < JWKS_TIMEOUT_S / 2


def test_a_job_token_works_as_the_basic_auth_password(ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    url = ci_gateway.server.project_url(project.id) + "/api/2.0/mlflow/experiments/search"
    answer = httpx.post(url, json={}, auth=("whoever", ci_gateway.token(ci_project, 1)))
    assert answer.status_code == 200, answer.text


def test_a_gateway_that_trusts_no_issuer_says_so(live_server: LiveServer, ci_gateway: CiGateway, world: World) -> None:
    project, ci_project = ci_gateway.bound_project(world)
    answer = MlflowHttp(live_server, project.id, ci_gateway.token(ci_project, 1)).post("/experiments/search", {})
    assert answer.status_code == 401 and "trusts no CI issuer" in answer.json()["message"]


def test_tokens_never_reach_the_logs(ci_gateway: CiGateway, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    project, ci_project = ci_gateway.bound_project(world)
    good, bad = ci_gateway.token(ci_project, 1), ci_gateway.token(ci_project, 1, aud="https://other.example")
    url = ci_gateway.server.project_url(project.id) + "/api/2.0/mlflow/experiments/search"
    for request_id, token in (("ci-log-good", good), ("ci-log-bad", bad)):
        httpx.post(url, json={}, headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id})
    # The server writes the access-log line just after the response: wait for both before looking.
    deadline = time.monotonic() + 5
    while not {"ci-log-good", "ci-log-bad"} <= {getattr(r, "request_id", None) for r in caplog.records}:
        assert time.monotonic() < deadline, "no access log lines for the requests"
        time.sleep(0.01)
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "CI token rejected" in logged and "audience" in logged
    assert good not in logged and bad not in logged
    assert good.split(".")[2] not in logged and bad.split(".")[1] not in logged
