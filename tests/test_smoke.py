import httpx

from tests.support.live_server import LiveServer
from tests.support.world import World


def test_health_probes_answer(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.base_url}/-/health").status_code == 200
    ready = httpx.get(f"{live_server.base_url}/-/readiness")
    assert ready.status_code == 200
    assert ready.json()["database"] == {"status": "ok"}


def test_member_reaches_the_mlflow_prefix(live_server: LiveServer, world: World) -> None:
    project = world.project()
    token = world.member_token(project, __import__("tenants.roles").roles.Role.GUEST)
    answer = httpx.get(
        live_server.project_url(project.id) + "/api/2.0/mlflow/no-such-thing",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
