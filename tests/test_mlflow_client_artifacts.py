"""Artifacts through the real MLflow clients (2.7.1 and 3.17.2), on the local store and on S3 (moto).

One snippet per case drives many calls (each client subprocess costs seconds to start). Covered:
GitLab's documented artifact calls with ``artifact_path`` empty, the caveat's message for directories,
2.7.1's ``log_model(…, artifact_path="")`` + ``load_model("runs:/<id>")``, the ``allow`` switch, and
3.x multipart uploads (presigned parts on S3, MLflow's 501 fallback on the local store).
"""

from __future__ import annotations

import pytest

from tenants.roles import Role
from tests.support.artifact_servers import S3_BUCKET, S3_PREFIX, ServerFarm
from tests.support.live_server import LiveServer
from tests.support.mlflow_clients import CURRENT_VERSION, MlflowClientRunner, prepare_mlflow_client
from tests.support.world import World

pytestmark = pytest.mark.slow

PRELUDE = r"""
import json, os, pathlib, tempfile
import mlflow
from mlflow import MlflowClient

def failure(call):
    try:
        call()
    except Exception as error:  # the client raises requests' HTTPError or an MlflowException
        return f"{type(error).__name__}: {error}"
    return None

work = pathlib.Path(tempfile.mkdtemp())
"""

DOCUMENTED_SNIPPET = (
    PRELUDE
    + r"""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

(work / "hello.txt").write_text("hello artifact\n")
(work / "data.csv").write_text("a,b\n1,2\n")
blob = work / "blob.bin"
blob.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
flat = work / "flat"
flat.mkdir()
(flat / "top.txt").write_text("top")
(flat / "other.json").write_text('{"x": 1}')

mlflow.set_experiment("artifacts")
with mlflow.start_run() as run:
    mlflow.log_artifact(str(work / "hello.txt"))
    mlflow.log_artifact(str(work / "data.csv"), "")
    mlflow.log_artifact(str(blob))
    mlflow.log_artifacts(str(flat))
    mlflow.log_text("some notes", "notes.txt")
    mlflow.log_dict({"alpha": 0.5, "layers": [1, 2]}, "config.json")
    mlflow.log_dict({"alpha": 0.5}, "config.yaml")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    mlflow.log_figure(figure, "figure.png")
    mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "image.png")

run_id = run.info.run_id
out = {"listing": sorted([f.path, f.is_dir, f.file_size] for f in MlflowClient().list_artifacts(run_id))}
out["hello"] = pathlib.Path(
    mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="hello.txt", dst_path=str(work / "one"))
).read_text()
everything = pathlib.Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(work / "all")))
out["downloaded"] = sorted(p.name for p in everything.iterdir())
out["blob_intact"] = (everything / "blob.bin").read_bytes() == blob.read_bytes()
out["config"] = json.loads((everything / "config.json").read_text())
out["figure_is_png"] = (everything / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

nested = work / "nested"
(nested / "sub").mkdir(parents=True)
(nested / "sub" / "inner.txt").write_text("i")
with mlflow.start_run() as refused:
    out["artifact_in_a_directory"] = failure(lambda: mlflow.log_artifact(str(work / "hello.txt"), "some/dir"))
    out["nested_folder"] = failure(lambda: mlflow.log_artifacts(str(nested)))
    out["text_in_a_directory"] = failure(lambda: mlflow.log_text("x", "texts/notes.txt"))
out["refused_run_listing"] = [f.path for f in MlflowClient().list_artifacts(refused.info.run_id)]
emit(out)
"""
)

CAVEAT = "artifact_path must be empty"


@pytest.fixture(scope="module")
def client_version(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MlflowClientRunner]:
    """Runners by version, for the cases that concern one client version only."""
    return {
        version: prepare_mlflow_client(version, tmp_path_factory.mktemp(f"mlflow-{version}-artifacts"))
        for version in ("2.7.1", CURRENT_VERSION)
    }


def test_documented_artifact_calls(
    mlflow_client: MlflowClientRunner, artifact_server: LiveServer, world: World
) -> None:
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(DOCUMENTED_SNIPPET, tracking_uri=artifact_server.project_url(project.id), token=token)

    listing = {path: (is_dir, size) for path, is_dir, size in out["listing"]}
    assert sorted(listing) == [
        "blob.bin",
        "config.json",
        "config.yaml",
        "data.csv",
        "figure.png",
        "hello.txt",
        "image.png",
        "notes.txt",
        "other.json",
        "top.txt",
    ]
    assert not any(is_dir for is_dir, _ in listing.values())
    assert listing["hello.txt"] == (False, 15) and listing["blob.bin"] == (False, 3 * 1024 * 1024 + 17)
    assert out["hello"] == "hello artifact\n"
    assert out["downloaded"] == sorted(listing)
    assert out["blob_intact"] and out["figure_is_png"]
    assert out["config"] == {"alpha": 0.5, "layers": [1, 2]}

    for call in ("artifact_in_a_directory", "nested_folder", "text_in_a_directory"):
        assert out[call] is not None and CAVEAT in out[call], (call, out[call])
        assert "directories are not supported" in out[call]
    assert out["refused_run_listing"] == []


MODEL_SNIPPET_2_7_1 = (
    PRELUDE
    + r"""
import numpy as np
from sklearn.linear_model import LinearRegression

features = np.array([[0.0], [1.0], [2.0]])
model = LinearRegression().fit(features, np.array([0.0, 1.0, 2.0]))
with mlflow.start_run() as run:
    mlflow.sklearn.log_model(model, artifact_path="", pip_requirements=["scikit-learn"])
loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/")  # the model_uri log_model returns
out = {"predictions": [round(float(v), 6) for v in loaded.predict(features)]}
out["files"] = sorted(f.path for f in MlflowClient().list_artifacts(run.info.run_id))
with mlflow.start_run():
    out["in_a_directory"] = failure(
        lambda: mlflow.sklearn.log_model(model, artifact_path="model", pip_requirements=["scikit-learn"])
    )
emit(out)
"""
)


def test_mlflow_2_7_1_logs_and_loads_a_model_at_the_run_root(
    client_version: dict[str, MlflowClientRunner], artifact_server: LiveServer, world: World
) -> None:
    """2.7.1's ``log_model`` needs only artifacts (MLflow 3's logged models: test_mlflow_client_logged_models.py)."""
    mlflow_client = client_version["2.7.1"]
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(MODEL_SNIPPET_2_7_1, tracking_uri=artifact_server.project_url(project.id), token=token)
    assert out["predictions"] == [0.0, 1.0, 2.0]
    assert "MLmodel" in out["files"] and "model.pkl" in out["files"]
    assert out["in_a_directory"] is not None and CAVEAT in out["in_a_directory"]


ALLOW_SNIPPET = (
    PRELUDE
    + r"""
nested = work / "nested"
(nested / "sub").mkdir(parents=True)
(nested / "top.txt").write_text("t")
(nested / "sub" / "inner.txt").write_text("i")
with mlflow.start_run() as run:
    mlflow.log_artifacts(str(nested), "outdir")
    mlflow.log_text("x", "texts/notes.txt")

def names_below(path):  # (3.x asks logged-models/search for a model named after the path first)
    infos = MlflowClient().list_artifacts(run.info.run_id, path)
    return sorted([os.path.basename(f.path), f.is_dir] for f in infos)

out = {"root": sorted([f.path, f.is_dir] for f in MlflowClient().list_artifacts(run.info.run_id))}
out["outdir"] = names_below("outdir")
got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="outdir", dst_path=str(work / "dl"))
got = pathlib.Path(got)
out["inner"] = (got / "sub" / "inner.txt").read_text()
if mlflow.__version__.startswith("2."):
    import numpy as np
    from sklearn.linear_model import LinearRegression

    features = np.array([[0.0], [1.0]])
    model = LinearRegression().fit(features, np.array([1.0, 3.0]))
    with mlflow.start_run() as model_run:
        mlflow.sklearn.log_model(model, artifact_path="model", pip_requirements=["scikit-learn"])
    loaded = mlflow.pyfunc.load_model(f"runs:/{model_run.info.run_id}/model")
    out["predictions"] = [round(float(v), 6) for v in loaded.predict(features)]
emit(out)
"""
)


@pytest.mark.parametrize(("version", "store"), [("2.7.1", "local"), (CURRENT_VERSION, "local"), ("2.7.1", "s3")])
def test_allow_mode_lifts_the_caveat(
    client_version: dict[str, MlflowClientRunner], servers: ServerFarm, world: World, version: str, store: str
) -> None:
    mlflow_client = client_version[version]
    server = servers.get(store, artifact_directories="allow")
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = mlflow_client.run(ALLOW_SNIPPET, tracking_uri=server.project_url(project.id), token=token)
    assert out["root"] == [["outdir", True], ["texts", True]]
    assert out["outdir"] == [["sub", True], ["top.txt", False]]
    assert out["inner"] == "i"
    if mlflow_client.version == "2.7.1":
        assert out["predictions"] == [1.0, 3.0]


MULTIPART_SNIPPET = (
    PRELUDE
    + r"""
big = work / "weights.bin"
big.write_bytes(os.urandom(5 * 1024 * 1024 + 100))
with mlflow.start_run() as run:
    mlflow.log_artifact(str(big))
got = pathlib.Path(
    mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="weights.bin", dst_path=str(work / "dl"))
)
emit({"intact": got != big and got.read_bytes() == big.read_bytes()})
"""
)
MULTIPART_ENV = {
    "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE": str(1024 * 1024),
    "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE": str(5 * 1024 * 1024),  # S3's smallest part
}


def test_mlflow_3_multipart_upload_on_both_stores(
    client_version: dict[str, MlflowClientRunner], servers: ServerFarm, world: World
) -> None:
    """S3: ``server-info`` turns multipart on and the parts go to the bucket by presigned URL. Local: the
    client is forced to try it and falls back on MLflow's own 501 message. (2.7.1 has no multipart.)"""
    mlflow_client = client_version[CURRENT_VERSION]
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    s3 = servers.get("s3")
    out = mlflow_client.run(MULTIPART_SNIPPET, tracking_uri=s3.project_url(project.id), token=token, env=MULTIPART_ENV)
    assert out["intact"]
    [name] = [n for n in servers.s3.object_names(f"projects/{project.id}/") if n.endswith("/weights.bin")]
    etag = servers.s3.client().stat_object(S3_BUCKET, f"{S3_PREFIX}/{name}").etag
    assert str(etag).endswith("-2"), etag  # S3's mark of an object assembled from two parts

    forced = {**MULTIPART_ENV, "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD": "true"}
    local = servers.get("local")
    out = mlflow_client.run(MULTIPART_SNIPPET, tracking_uri=local.project_url(project.id), token=token, env=forced)
    assert out["intact"]


LOG_IMAGE_STEP_SNIPPET = (
    PRELUDE
    + r"""
import logging
import numpy as np

class Collect(logging.Handler):  # the upload runs in a background thread, which logs its failure
    messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())

logging.getLogger("mlflow.utils.async_logging").addHandler(Collect())
image = np.zeros((8, 8, 3), dtype=np.uint8)
with mlflow.start_run() as run:
    mlflow.log_image(image, key="sample", step=0)
    mlflow.flush_artifact_async_logging()
logged = " ".join(Collect.messages) or None
# (3.x's list_artifacts with a sub-path asks for logged models first; the root listing does not.)
files = [[f.path, f.is_dir] for f in MlflowClient().list_artifacts(run.info.run_id)]
emit({"error": logged, "files": files})
"""
)


@pytest.mark.parametrize("directories", ["reject", "allow"])
def test_mlflow_3_log_image_with_a_step_writes_below_images(
    client_version: dict[str, MlflowClientRunner], servers: ServerFarm, world: World, directories: str
) -> None:
    """MLflow 3's ``log_image(key=…, step=…)`` writes ``images/<key>/…`` files: a directory, so the caveat
    refuses it by default (the client reports the gateway's message) and ``allow`` lets it through."""
    server = servers.get("local", artifact_directories=directories)
    project = world.project()
    token = world.member_token(project, Role.DEVELOPER)
    out = client_version[CURRENT_VERSION].run(
        LOG_IMAGE_STEP_SNIPPET, tracking_uri=server.project_url(project.id), token=token
    )
    if directories == "reject":
        assert "artifact_path" in (out["error"] or "") and out["files"] == [], out
    else:
        assert out["error"] is None and out["files"] == [["images", True]], out
