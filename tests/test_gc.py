"""``mlgateway gc``: soft-deleted runs and experiments go for good, with their files; files whose run
is gone (a deleted model) are swept; live runs and not-yet-old deletions stay.
"""

from __future__ import annotations

import argparse

import httpx
import pytest

from gateway import cli_gc
from gateway.errors import InvalidParameter
from gateway.settings import Settings
from tenants.roles import Role
from tests.support.artifact_http import ArtifactHttp
from tests.support.live_server import LiveServer
from tests.support.world import World, unique


def gc(settings: Settings, *options: str) -> None:
    args = argparse.Namespace(older_than="0", dry_run=False, json=True)
    for option in options:
        if option == "--dry-run":
            args.dry_run = True
        else:
            args.older_than = option
    assert cli_gc.run_gc(args, settings) == 0


def test_gc_removes_what_was_deleted_and_sweeps_orphans(
    live_server: LiveServer, world: World, settings: Settings
) -> None:
    project = world.project()
    client = ArtifactHttp(live_server, project.id, world.member_token(project, Role.MAINTAINER))
    tracking = client.tracking
    roots = {name: client.new_run() for name in ("deleted", "kept")}
    doomed_experiment = tracking.experiment()
    roots["in_deleted_experiment"] = client.new_run(doomed_experiment)
    model = unique("model")
    tracking.ok("/registered-models/create", {"name": model})
    version = tracking.ok("/model-versions/create", {"name": model, "source": ""})["model_version"]
    roots["model_version"] = version["source"].removeprefix("mlflow-artifacts:/")
    for root in roots.values():
        assert client.put(f"{root}/file.txt", b"data").status_code == 200
    data = settings.data_dir / "artifacts" / "projects" / str(project.id) / "candidates"
    run_ids = {name: root.split("/")[1] for name, root in roots.items()}
    tracking.ok("/runs/delete", {"run_id": run_ids["deleted"]})
    tracking.ok("/experiments/delete", {"experiment_id": doomed_experiment})
    deleted = httpx.request(
        "DELETE", tracking.base + "/registered-models/delete", json={"name": model}, headers=tracking.headers
    )
    assert deleted.status_code == 200
    assert len(list(data.iterdir())) == 4  # the model's run folder outlives the model until gc

    gc(settings, "--dry-run")
    assert len(list(data.iterdir())) == 4
    gc(settings, "1d")  # the runs were deleted moments ago: too young; the model's orphaned folder goes
    assert tracking.get("/runs/get", run_id=run_ids["deleted"]).status_code == 200
    assert sorted(folder.name for folder in data.iterdir()) == ["1", "2", "3"]

    gc(settings)
    for gone in ("deleted", "in_deleted_experiment"):
        assert tracking.get("/runs/get", run_id=run_ids[gone]).status_code == 404
    assert tracking.get("/experiments/get", experiment_id=doomed_experiment).status_code == 404
    assert client.get(f"{roots['kept']}/file.txt").content == b"data"
    assert len(list(data.iterdir())) == 1


@pytest.mark.parametrize(("text", "seconds"), [("0", 0), ("30d", 2_592_000), ("12h", 43_200), ("90m", 5_400)])
def test_durations(text: str, seconds: int) -> None:
    assert cli_gc.parse_duration(text) == seconds


def test_bad_duration_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="30d"):
        cli_gc.parse_duration("a month")


def test_gc_removes_deleted_logged_models_unless_a_version_serves_their_files(
    live_server: LiveServer, world: World, settings: Settings
) -> None:
    project = world.project()
    client = ArtifactHttp(live_server, project.id, world.member_token(project, Role.MAINTAINER))
    tracking = client.tracking
    experiment = tracking.experiment()
    doomed_experiment = tracking.experiment()
    models = {}
    for name, where in (("deleted", experiment), ("registered", experiment), ("kept", experiment)):
        models[name] = tracking.ok("/logged-models", {"experiment_id": where, "name": name})["model"]["info"]
    models["in_deleted_experiment"] = tracking.ok("/logged-models", {"experiment_id": doomed_experiment, "name": "x"})[
        "model"
    ]["info"]
    for info in models.values():
        root = str(info["artifact_uri"]).removeprefix("mlflow-artifacts:/")
        assert client.put(f"{root}/MLmodel", b"flavors: {}").status_code == 200
    registered_id = models["registered"]["model_id"]
    registry_name = unique("model")
    tracking.ok("/registered-models/create", {"name": registry_name})
    tracking.ok("/model-versions/create", {"name": registry_name, "model_id": registered_id})
    for name in ("deleted", "registered"):
        answer = httpx.delete(tracking.base + f"/logged-models/{models[name]['model_id']}", headers=tracking.headers)
        assert answer.status_code == 200
    tracking.ok("/experiments/delete", {"experiment_id": doomed_experiment})
    data = settings.data_dir / "artifacts" / "projects" / str(project.id) / "logged_models"
    assert len(list(data.iterdir())) == 4

    gc(settings, "1d")  # deleted moments ago: too young
    assert len(list(data.iterdir())) == 4
    gc(settings)
    survivors = {folder.name for folder in data.iterdir()}
    assert survivors == {models["registered"]["model_id"], models["kept"]["model_id"]}
    download = tracking.get("/model-versions/get-download-uri", name=registry_name, version="1").json()
    assert client.get(download["artifact_uri"].removeprefix("mlflow-artifacts:/") + "/MLmodel").content == (
        b"flavors: {}"
    )
    gone = tracking.get(f"/logged-models/{models['deleted']['model_id']}", allow_deleted="true")
    assert gone.status_code == 404
