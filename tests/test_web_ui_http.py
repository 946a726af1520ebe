"""The web UI over HTTP: sign-in, session cookie flags, CSRF, permissions, 404s across projects, pages.

Browser behaviour (charts drawn, clicks, downloads) is in ``test_web_ui_browser.py``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import httpx
import jwt
import pytest

from gateway.db import Database
from gateway.settings import Settings
from tenants import access_tokens
from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.ui_data import PASSWORD, SeededProject, seed_project
from tests.support.web_client import WebClient, csrf_of
from tests.support.world import UserRef, World


@pytest.fixture(scope="module")
def module_world(database: Database, settings: Settings) -> World:
    return World(database, settings.secret_key_bytes())


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer, module_world: World) -> SeededProject:
    return seed_project(live_server, module_world, steps=5)


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[WebClient]:
    client = WebClient(live_server.base_url)
    yield client
    client.close()


def member(world: World, seeded: SeededProject, role: Role) -> UserRef:
    user = world.user(password=PASSWORD)
    world.member(user, role, project=seeded.project)
    return user


def ml(seeded: SeededProject) -> str:
    return f"/{seeded.project.full_path}/-/ml"


def run_ids_on(page: str) -> list[str]:
    return re.findall(r'name="run" value="([0-9a-f]{32})"', page)


# ---------------------------------------------------------------------------------------- sign-in
def test_password_sign_in_sets_a_signed_httponly_lax_cookie(browser: WebClient, seeded: SeededProject) -> None:
    answer = browser.sign_in(seeded.developer.username, PASSWORD, redirect_to=f"{ml(seeded)}/experiments")
    assert (answer.status_code, answer.headers["location"]) == (303, f"{ml(seeded)}/experiments")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("_mlgateway_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= flags and "secure" not in flags
    value = cookie.split(";")[0].split("=", 1)[1]
    claims = jwt.decode(value, options={"verify_signature": False})
    assert claims["sub"] == str(seeded.developer.id) and claims["exp"] > claims["iat"]
    assert seeded.developer_token not in value and PASSWORD not in value
    page = browser.get(f"{ml(seeded)}/experiments")
    assert page.status_code == 200 and seeded.experiment_name in page.text


def test_every_sign_in_issues_a_new_session(browser: WebClient, seeded: SeededProject) -> None:
    first = browser.sign_in(seeded.developer.username, PASSWORD).cookies["_mlgateway_session"]
    second = browser.sign_in(seeded.developer.username, PASSWORD).cookies["_mlgateway_session"]
    assert first != second
    decoded = [jwt.decode(v, options={"verify_signature": False}) for v in (first, second)]
    assert decoded[0]["csrf"] != decoded[1]["csrf"] and decoded[0]["jti"] != decoded[1]["jti"]


def test_the_cookie_is_secure_behind_https(live_server: LiveServer, seeded: SeededProject) -> None:
    """Behind a TLS-terminating proxy (``X-Forwarded-Proto: https`` from a trusted address)."""
    headers = {"X-Forwarded-Proto": "https"}
    form = httpx.get(live_server.base_url + "/users/sign_in", headers=headers)
    (sign_in_cookie,) = form.headers.get_list("set-cookie")
    assert "secure" in sign_in_cookie.lower()
    body = {"_csrf": csrf_of(form.text), "username": seeded.developer.username, "password": PASSWORD}
    cookie_header = {"Cookie": sign_in_cookie.split(";")[0]}  # sent by hand: httpx keeps Secure cookies for https
    answer = httpx.post(live_server.base_url + "/users/sign_in", data=body, headers={**headers, **cookie_header})
    assert answer.status_code == 303, answer.text
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("_mlgateway_session="))
    assert "secure" in cookie.lower()


def test_wrong_password_unknown_user_and_bot_tokens_cannot_sign_in(
    browser: WebClient, seeded: SeededProject, module_world: World
) -> None:
    bot_token = module_world.project_token(seeded.project)
    someone_else = module_world.user()
    for username, secret in (
        (seeded.developer.username, "wrong-password"),
        ("nobody-at-all", PASSWORD),
        (seeded.developer.username, bot_token),
        (someone_else.username, seeded.developer_token),  # another person's token
    ):
        answer = browser.sign_in(username, secret)
        assert answer.status_code == 401, (username, answer.text)
        assert "Invalid username or password" in answer.text
        assert "_mlgateway_session" not in answer.cookies


def test_a_user_without_password_signs_in_with_a_personal_token(
    browser: WebClient, seeded: SeededProject, module_world: World
) -> None:
    user = module_world.user()
    module_world.member(user, Role.DEVELOPER, project=seeded.project)
    token = module_world.token(user)
    assert browser.sign_in(user.username, token).status_code == 303
    assert browser.get(f"{ml(seeded)}/experiments").status_code == 200


def test_a_read_api_token_gives_a_read_only_session_that_ends_with_the_token(
    browser: WebClient, seeded: SeededProject, module_world: World, live_server: LiveServer
) -> None:
    user = module_world.user()
    module_world.member(user, Role.DEVELOPER, project=seeded.project)
    token = module_world.token(user, scopes=("read_api",))
    browser.signed_in(user.username, token)
    run = seeded.runs[0]
    page = browser.get(f"{ml(seeded)}/candidates/{run.run_id}")
    assert page.status_code == 200 and 'id="rename"' not in page.text
    refused = browser.http.post(
        f"{ml(seeded)}/candidates/{run.run_id}", data={"_csrf": csrf_of(page.text), "action": "delete"}
    )
    assert refused.status_code == 403
    token_id = httpx.get(live_server.api("personal_access_tokens/self"), headers={"PRIVATE-TOKEN": token}).json()["id"]
    with module_world.database.unit_of_work() as session:
        access_tokens.revoke(session, access_tokens.find_token(session, token_id))
    ended = browser.get(f"{ml(seeded)}/experiments")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/users/sign_in")


def test_sign_in_needs_the_forms_csrf_cookie(live_server: LiveServer, seeded: SeededProject) -> None:
    body = {"_csrf": "made-up", "username": seeded.developer.username, "password": PASSWORD}
    answer = httpx.post(live_server.base_url + "/users/sign_in", data=body, cookies={"_mlgateway_sign_in": "other"})
    assert answer.status_code == 403 and "_mlgateway_session" not in answer.cookies


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_sign_in_redirects_only_within_the_site(browser: WebClient, seeded: SeededProject, target: str) -> None:
    answer = browser.sign_in(seeded.developer.username, PASSWORD, redirect_to=target)
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


def test_sign_out_needs_csrf_and_clears_the_cookie(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    assert browser.http.post("/users/sign_out", data={"_csrf": "nope"}).status_code == 403
    answer = browser.http.post("/users/sign_out", data={"_csrf": browser.csrf_from_home})
    assert answer.status_code == 303 and "Max-Age=0" in answer.headers["set-cookie"]
    assert browser.get(f"{ml(seeded)}/experiments").status_code == 303


# ---------------------------------------------------------------------------------------- sessions
def test_pages_without_a_session_go_to_sign_in(browser: WebClient, seeded: SeededProject) -> None:
    answer = browser.get(f"{ml(seeded)}/experiments/{seeded.experiment_id}", filter="metrics.r2 > 0")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/users/sign_in?redirect_to={ml(seeded)}/experiments/")
    browser.http.cookies.set("_mlgateway_session", "forged.cookie.value")
    assert browser.get(f"{ml(seeded)}/experiments").status_code == 303


def test_a_session_signed_with_another_key_is_refused(browser: WebClient, seeded: SeededProject) -> None:
    claims = {"aud": "mlgateway-web", "sub": str(seeded.developer.id), "scp": ["api"], "csrf": "x", "exp": 2**40}
    browser.http.cookies.set("_mlgateway_session", jwt.encode(claims, "some-other-key-" * 4, algorithm="HS256"))
    assert browser.get(f"{ml(seeded)}/experiments").status_code == 303


def test_the_session_cookie_does_not_authenticate_the_apis(
    browser: WebClient, seeded: SeededProject, live_server: LiveServer
) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    search = browser.http.post(
        f"/api/v4/projects/{seeded.project.id}/ml/mlflow/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [seeded.experiment_id]},
    )
    assert search.status_code == 401 and search.json()["error_code"] == "UNAUTHENTICATED"
    assert browser.http.get("/api/v4/user").status_code == 401


# ---------------------------------------------------------------------------------------- permissions
def test_a_guest_sees_the_pages_but_no_controls_and_cannot_change_anything(
    browser: WebClient, seeded: SeededProject, module_world: World
) -> None:
    guest = member(module_world, seeded, Role.GUEST)
    browser.signed_in(guest.username, PASSWORD)
    experiment = browser.get(f"{ml(seeded)}/experiments/{seeded.experiment_id}")
    assert experiment.status_code == 200 and "delete-selected" not in experiment.text
    run = seeded.runs[0]
    page = browser.get(f"{ml(seeded)}/candidates/{run.run_id}")
    assert page.status_code == 200 and "add-tag" not in page.text and "loss" in page.text
    for path, data in (
        (f"{ml(seeded)}/experiments/{seeded.experiment_id}/runs", {"action": "delete", "run": run.run_id}),
        (f"{ml(seeded)}/candidates/{run.run_id}", {"action": "set_tag", "key": "k", "value": "v"}),
    ):
        answer = browser.http.post(path, data={"_csrf": csrf_of(page.text), **data})
        assert answer.status_code == 403, answer.text
    assert "k</td>" not in browser.get(f"{ml(seeded)}/candidates/{run.run_id}").text


def test_forms_without_the_sessions_csrf_token_change_nothing(
    browser: WebClient, seeded: SeededProject, live_server: LiveServer
) -> None:
    http = MlflowHttp(live_server, seeded.project.id, seeded.developer_token)
    run_id = http.run(seeded.experiment_id)["info"]["run_id"]
    browser.signed_in(seeded.developer.username, PASSWORD)
    path = f"{ml(seeded)}/experiments/{seeded.experiment_id}/runs"
    for data in ({}, {"_csrf": ""}, {"_csrf": "guessed-token"}):
        answer = browser.http.post(path, data={**data, "action": "delete", "run": run_id})
        assert answer.status_code == 403 and "did not come from this site" in answer.text
    assert http.fetch(run_id)["info"]["lifecycle_stage"] == "active"
    other = WebClient(browser.base_url).signed_in(seeded.developer.username, PASSWORD)
    try:  # another session's token is not this session's
        answer = browser.http.post(path, data={"_csrf": other.csrf_from_home, "action": "delete", "run": run_id})
    finally:
        other.close()
    assert answer.status_code == 403
    done = browser.post_form("/", path, {"action": "delete", "run": run_id})
    assert done.status_code == 303
    assert http.fetch(run_id)["info"]["lifecycle_stage"] == "deleted"


def test_another_projects_pages_answer_404_like_missing_ones(
    browser: WebClient, seeded: SeededProject, module_world: World, live_server: LiveServer
) -> None:
    outsider_project = module_world.project()
    outsider = module_world.user(password=PASSWORD)
    module_world.member(outsider, Role.OWNER, project=outsider_project)
    browser.signed_in(outsider.username, PASSWORD)
    theirs, own = ml(seeded), f"/{outsider_project.full_path}/-/ml"
    run = seeded.runs[0]
    models = browser.get(f"{theirs}/models")
    assert models.status_code == 404
    http = MlflowHttp(live_server, seeded.project.id, seeded.developer_token)
    model_id = re.search(r"/models/(\d+)", seeded_models_page(live_server, seeded))
    assert model_id
    for path in (
        f"{theirs}/experiments",
        f"{theirs}/experiments/{seeded.experiment_id}",
        f"{theirs}/candidates/{run.run_id}",
        "/no-such-group/no-such-project/-/ml/experiments",
        f"{own}/candidates/{run.run_id}",  # their run id under my project's URL
        f"{own}/candidates/999999",
        f"{own}/experiments/{seeded.experiment_id}/runs.csv?run={run.run_id}",
        f"{own}/candidates/{run.run_id}/artifacts/confusion.csv",
        f"{own}/metric-history?run={run.run_id}",
        f"{own}/compare?run={run.run_id}&run={seeded.runs[1].run_id}",
        f"{own}/models/{model_id.group(1)}",
    ):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text and seeded.experiment_name not in answer.text
    missing = browser.get(f"{own}/experiments/424242")
    assert missing.status_code == 404
    forged = browser.http.post(
        f"{own}/experiments/0/runs", data={"_csrf": browser.csrf_from_home, "action": "delete", "run": run.run_id}
    )
    assert forged.status_code == 404
    assert http.fetch(run.run_id)["info"]["lifecycle_stage"] == "active"


def seeded_models_page(live_server: LiveServer, seeded: SeededProject) -> str:
    client = WebClient(live_server.base_url).signed_in(seeded.developer.username, PASSWORD)
    try:
        return client.get(f"{ml(seeded)}/models").text
    finally:
        client.close()


# ---------------------------------------------------------------------------------------- pages
def test_a_bad_filter_is_a_readable_400_on_the_page(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    answer = browser.get(f"{ml(seeded)}/experiments/{seeded.experiment_id}", filter="metrics.r2 >> 0.3")
    assert answer.status_code == 400 and 'id="filter-error"' in answer.text
    assert "metrics.r2 &gt;&gt; 0.3" in answer.text  # the box keeps what was typed


def test_filter_sort_and_state_on_the_experiment_page(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    page = f"{ml(seeded)}/experiments/{seeded.experiment_id}"
    found = browser.get(page, filter="metrics.r2 > 0.4 AND tags.`team` = 'ml platform'", order="metrics.`r2` DESC")
    names = re.findall(r'class="run-link">([^<]+)<', found.text)
    assert names == ["adam-fast", "adam-slow"]
    assert browser.get(page, state="deleted", filter="params.optimizer = 'adam'").text.count('class="run-link"') == 0


def test_csv_has_seed_004s_columns(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    answer = browser.get(f"{ml(seeded)}/experiments/{seeded.experiment_id}/runs.csv", filter="params.max_depth = '8'")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == [
        "Run ID", "Name", "Source Type", "Source Name", "User", "Status",
        "learning_rate", "max_depth", "optimizer", "accuracy", "loss", "r2",
    ]  # fmt: skip
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"deeper-trees", "adam-fast", "adam-slow"}
    assert by_name["adam-fast"][2:6] == ["JOB", "train.py", seeded.developer.username, "FINISHED"]
    assert by_name["adam-fast"][11] == "0.52"


def test_metric_history_json_and_artifact_download(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    run = seeded.runs[0]
    history = browser.get(f"{ml(seeded)}/metric-history", run=run.run_id, key="loss").json()
    (entry,) = history["runs"]
    assert entry["id"] == run.run_id and list(entry["metrics"]) == ["loss"]
    assert entry["metrics"]["loss"]["step"] == [0, 1, 2, 3, 4]
    download = browser.get(f"{ml(seeded)}/candidates/{run.run_id}/artifacts/confusion.csv")
    assert download.status_code == 200 and download.content.startswith(b"label,predicted")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"] == "application/octet-stream"
    assert browser.get(f"{ml(seeded)}/candidates/{run.run_id}/artifacts/../x").status_code in (400, 404)


def test_tags_rename_and_descriptions_from_the_pages(
    browser: WebClient, seeded: SeededProject, live_server: LiveServer
) -> None:
    http = MlflowHttp(live_server, seeded.project.id, seeded.developer_token)
    run_id = http.run(seeded.experiment_id, run_name="to-edit")["info"]["run_id"]
    browser.signed_in(seeded.developer.username, PASSWORD)
    page = f"{ml(seeded)}/candidates/{run_id}"
    for data in (
        {"action": "set_tag", "key": "stage", "value": "review"},
        {"action": "set_tag", "key": "note", "value": "<b>bold</b>"},
        {"action": "delete_tag", "key": "stage"},
        {"action": "rename", "name": "edited"},
    ):
        assert browser.post_form(page, page, data).status_code == 303
    tags = {t["key"]: t["value"] for t in http.fetch(run_id)["data"]["tags"]}
    assert tags["note"] == "<b>bold</b>" and "stage" not in tags and tags["mlflow.runName"] == "edited"
    assert "&lt;b&gt;bold&lt;/b&gt;" in browser.get(page).text
    bad = browser.post_form(page, page, {"action": "set_tag", "key": "", "value": "x"})
    assert bad.status_code == 400
    models_page = browser.get(f"{ml(seeded)}/models").text
    model_path = re.search(r'href="(/[^"]+/-/ml/models/\d+)"', models_page)
    assert model_path
    done = browser.post_form(model_path.group(1), model_path.group(1), {"action": "describe", "description": "New."})
    assert done.status_code == 303
    described = http.get("/registered-models/get", name=seeded.model_name).json()["registered_model"]
    assert described["description"] == "New."


def test_static_assets_are_versioned_cached_and_compressed(browser: WebClient, seeded: SeededProject) -> None:
    browser.signed_in(seeded.developer.username, PASSWORD)
    page = browser.get(f"{ml(seeded)}/candidates/{seeded.runs[0].run_id}").text
    plotly = re.search(r'src="(/-/static/[0-9a-f]{16}/plotly\.min\.js)"', page)
    assert plotly
    answer = browser.http.get(plotly.group(1), headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert b"plotly" in answer.content[:2000] and len(answer.content) > 1_000_000
    assert browser.http.get(plotly.group(1).replace("plotly.min.js", "secret.py")).status_code == 404
    assert browser.http.get("/-/static/0000000000000000/plotly.min.js").status_code == 404
    assert "script-src 'self'" in browser.get(f"{ml(seeded)}/experiments").headers["content-security-policy"]
