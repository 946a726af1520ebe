"""The token cache: hits skip the database, and revocation still takes effect (SPEC §9, auth < 1 ms).

In the process that revokes (or blocks, or deletes), the next request is refused; a change made
elsewhere (another worker, the admin CLI) is seen once the entry's TTL runs out — here simulated by a
bulk ``UPDATE`` that the ORM listener cannot see.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from gateway.db import Database
from gateway.errors import Unauthenticated
from tenants import access_tokens
from tenants.authentication import Authenticator, Credentials
from tenants.tables import AccessToken, User
from tenants.token_cache import CachedToken, TokenCache
from tests.support.live_server import LiveServer
from tests.support.world import World


def cached_authenticator(world: World, ttl_s: float = 60.0) -> Authenticator:
    return Authenticator(world.database, world.secret_key, 600, cache_ttl_s=ttl_s)


def test_a_seen_token_is_answered_from_memory(world: World, database: Database) -> None:
    user = world.user()
    token = world.token(user)
    authenticator = cached_authenticator(world)
    assert authenticator.cached(Credentials(token)) is None  # never seen: the caller must look it up
    principal = authenticator.authenticate(Credentials(token))
    assert authenticator.cached(Credentials(token)) == principal
    # A revocation this process's ORM never saw (another process's) is served until the TTL runs out…
    with database.unit_of_work() as session:
        session.execute(update(AccessToken).where(AccessToken.user_id == user.id).values(revoked=True))
    assert authenticator.authenticate(Credentials(token)) == principal
    # …and with the cache off it is seen at once.
    with pytest.raises(Unauthenticated):
        cached_authenticator(world, ttl_s=0).authenticate(Credentials(token))


@pytest.mark.parametrize("change", ["revoke", "rotate", "block-owner", "delete-owner"])
def test_credential_changes_in_this_process_apply_at_once(world: World, database: Database, change: str) -> None:
    user = world.user()
    token = world.token(user)
    authenticator = cached_authenticator(world)
    authenticator.authenticate(Credentials(token))
    with database.unit_of_work() as session:
        row = session.query(AccessToken).filter_by(user_id=user.id).one()
        owner = session.get(User, user.id)
        assert owner is not None
        if change == "revoke":
            access_tokens.revoke(session, row)
        elif change == "rotate":
            access_tokens.rotate(session, world.secret_key, row)
        elif change == "block-owner":
            owner.state = "blocked"
        else:
            session.delete(owner)
    assert authenticator.cached(Credentials(token)) is None
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(Credentials(token))


def test_a_rolled_back_change_keeps_the_cache(world: World, database: Database) -> None:
    token = world.token(world.user())
    authenticator = cached_authenticator(world)
    principal = authenticator.authenticate(Credentials(token))
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        access_tokens.revoke(session, session.query(AccessToken).filter_by(id=principal.token_id).one())
        session.flush()
        raise RuntimeError("roll back")
    assert authenticator.cached(Credentials(token)) == principal


def test_a_lookup_older_than_a_clear_is_not_stored(world: World) -> None:
    cache = TokenCache(60)
    principal = cached_authenticator(world).authenticate(Credentials(world.token(world.user())))
    generation = cache.generation
    cache.clear()  # a revocation committed while the lookup was in flight
    cache.put("digest", CachedToken(principal, None, None), generation)
    assert cache.get("digest") is None
    cache.put("digest", CachedToken(principal, None, None), cache.generation)
    assert cache.get("digest") is not None


def test_revocation_over_http_is_refused_on_the_next_request(live_server: LiveServer, world: World) -> None:
    user = world.user()
    project = world.project(owner=user)
    token = world.token(user)
    url = live_server.project_url(project.id) + "/api/2.0/mlflow/experiments/search"
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(url, headers=headers).status_code == 200
    assert httpx.get(url, headers=headers).status_code == 200  # now answered from the cache
    tokens = httpx.get(live_server.base_url + "/api/v4/personal_access_tokens", headers={"PRIVATE-TOKEN": token})
    token_id = next(t["id"] for t in tokens.json() if t["active"])
    revoked = httpx.delete(
        live_server.base_url + f"/api/v4/personal_access_tokens/{token_id}", headers={"PRIVATE-TOKEN": token}
    )
    assert revoked.status_code == 204
    refused = httpx.get(url, headers=headers)
    assert (refused.status_code, refused.json()["error_code"]) == (401, "UNAUTHENTICATED")
