"""Searching and projects with the real MLflow clients (2.7.1 and 3.17.2): ``search_runs`` from the
client and from pandas, filters, ``order_by`` lists, pagination, ``search_experiments``, dataset
inputs, and ``mlflow run`` of an MLproject from a git checkout.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import MlflowClientRunner
from tests.support.world import World

pytestmark = pytest.mark.slow

SEARCH_SNIPPET = r"""
import mlflow
import pandas as pd
from mlflow import MlflowClient

client = MlflowClient()
exp = mlflow.set_experiment("searching").experiment_id
for i, (acc, alpha) in enumerate([(0.1, "0.1"), (0.6, "0.5"), (0.9, "0.9")]):
    with mlflow.start_run(run_name=f"search-{i}"):
        mlflow.log_metric("acc", acc)
        mlflow.log_param("alpha", alpha)
        mlflow.set_tag("gitlab.CI_JOB_ID", str(1000 + i))
with mlflow.start_run(run_name="with-data"):
    frame = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    mlflow.log_input(mlflow.data.from_pandas(frame, name="train-frame"), context="training")
doomed = client.create_run(exp, run_name="doomed")
client.delete_run(doomed.info.run_id)

names = lambda runs: [r.info.run_name for r in runs]
out = {}
out["metric_filter"] = names(client.search_runs([exp], "metrics.acc > 0.5"))
out["param_filter"] = names(client.search_runs([exp], "params.alpha = '0.5'"))
out["tag_filter"] = names(client.search_runs([exp], "tags.`gitlab.CI_JOB_ID` = '1001'"))
out["name_filter"] = names(client.search_runs([exp], "attributes.run_name LIKE 'search-%' AND metrics.acc < 0.5"))
out["order_metric"] = names(client.search_runs([exp], order_by=["metrics.acc DESC"]))
out["order_two"] = names(client.search_runs([exp], order_by=["params.alpha DESC", "attributes.start_time ASC"]))
out["all_views"] = len(client.search_runs([exp], run_view_type=mlflow.entities.ViewType.ALL))
out["deleted_only"] = names(client.search_runs([exp], run_view_type=mlflow.entities.ViewType.DELETED_ONLY))
pages, token = [], None
while True:
    page = client.search_runs([exp], max_results=2, order_by=["attributes.start_time ASC"], page_token=token)
    pages.append(names(page))
    token = page.token
    if not token:
        break
out["pages"] = pages
frame = mlflow.search_runs(experiment_ids=[exp], filter_string="metrics.acc > 0", order_by=["metrics.acc ASC"])
out["pandas"] = list(frame["tags.mlflow.runName"])
out["pandas_columns"] = sorted(c for c in frame.columns if c.startswith(("metrics.", "params.")))
out["by_name"] = len(mlflow.search_runs(experiment_names=["searching"]))
out["as_list"] = names(mlflow.search_runs([exp], max_results=1, order_by=["metrics.acc DESC"], output_format="list"))
out["dataset"] = [
    (d.dataset.name, [(t.key, t.value) for t in d.tags])
    for r in client.search_runs([exp], "datasets.context = 'training'")
    for d in r.inputs.dataset_inputs
]
out["bad_filter"] = error_of(lambda: client.search_runs([exp], "metrics.acc >> 1"))
mlflow.set_experiment("searching-too")
client.set_experiment_tag(mlflow.get_experiment_by_name("searching-too").experiment_id, "team", "vision")
found = client.search_experiments(filter_string="name LIKE 'searching%'", order_by=["name DESC"])
out["experiments"] = [e.name for e in found]
out["experiments_by_tag"] = [e.name for e in mlflow.search_experiments(filter_string="tags.team = 'vision'")]
emit(out)
"""


def test_search_from_the_client_and_pandas(
    mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(SEARCH_SNIPPET, tracking_uri=live_server.project_url(project.id), token=token)
    assert out["metric_filter"] == ["search-2", "search-1"]
    assert out["param_filter"] == ["search-1"]
    assert out["tag_filter"] == ["search-1"]
    assert out["name_filter"] == ["search-0"]
    assert out["order_metric"] == ["search-2", "search-1", "search-0", "with-data"]
    assert out["order_two"] == ["search-2", "search-1", "search-0", "with-data"]
    assert (out["all_views"], out["deleted_only"]) == (5, ["doomed"])
    assert out["pages"] == [["search-0", "search-1"], ["search-2", "with-data"]]
    assert out["pandas"] == ["search-0", "search-1", "search-2"]
    assert out["pandas_columns"] == ["metrics.acc", "params.alpha"]
    assert out["by_name"] == 4
    assert out["as_list"] == ["search-2"]
    assert out["dataset"] == [["train-frame", [["mlflow.data.context", "training"]]]]
    assert out["bad_filter"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "position" in out["bad_filter"]["message"]
    assert out["experiments"] == ["searching-too", "searching"]
    assert out["experiments_by_tag"] == ["searching-too"]


MLPROJECT = """\
name: tiny
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.1}
    command: "python train.py {alpha}"
"""

TRAIN = """\
import sys
import mlflow

with mlflow.start_run():
    mlflow.log_metric("rmse", float(sys.argv[1]) / 10)
"""

PROJECT_SNIPPET = r"""
import os
import subprocess
import sys
from mlflow import MlflowClient

bin_dir = os.path.dirname(sys.executable)
env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
command = [os.path.join(bin_dir, "mlflow"), "run", os.environ["PROJECT_DIR"], "--env-manager", "local",
           "-P", "alpha=0.5", "--experiment-name", "projects"]
done = subprocess.run(command, env=env, capture_output=True, text=True)
if done.returncode != 0:
    raise SystemExit(done.stdout + done.stderr)
client = MlflowClient()
[run] = client.search_runs([client.get_experiment_by_name("projects").experiment_id])
emit({"status": run.info.status, "params": run.data.params, "metrics": run.data.metrics, "tags": run.data.tags})
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="mlflow run needs git for the commit it records")
def test_mlflow_run_of_an_mlproject_from_a_git_checkout(
    mlflow_client: MlflowClientRunner, live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    project_dir = tmp_path / "tiny-project"
    project_dir.mkdir()
    (project_dir / "MLproject").write_text(MLPROJECT)
    (project_dir / "train.py").write_text(TRAIN)
    git = ["git", "-C", str(project_dir), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "tiny"]):
        subprocess.run([*git, *args], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(
        PROJECT_SNIPPET,
        tracking_uri=live_server.project_url(project.id),
        token=token,
        env={"PROJECT_DIR": str(project_dir)},
        timeout=240,
    )
    assert out["status"] == "FINISHED"
    assert out["params"] == {"alpha": "0.5"}
    assert out["metrics"] == {"rmse": 0.05}
    tags = out["tags"]
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.source.git.commit"] == commit
