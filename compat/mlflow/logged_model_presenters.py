"""MLflow JSON for logged models (the ``LoggedModel`` proto: ``info`` and ``data``).

``status`` travels as the proto's enum names (``LOGGED_MODEL_READY``…); ``experiment_id`` is the
experiment's per-project id; ``artifact_uri`` is relative to the project's tracking URI, like a
run's, so the client keeps the ``/api/v4/projects/…`` prefix when it uploads the model's files.
"""

from __future__ import annotations

from typing import Any

from compat.logged_models.models import LoggedModelView
from compat.mlflow.presenters import key_values, logged_model_artifact_uri, metric_value

WIRE_STATUS = {
    "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}
STATUS_OF_WIRE = {wire: status for status, wire in WIRE_STATUS.items()}
STATUS_NUMBERS = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}
"""The proto enum's numbers, which protobuf's JSON parser also accepts."""


def logged_model(view: LoggedModelView) -> dict[str, Any]:
    model = view.model
    info: dict[str, Any] = {
        "model_id": model.eid,
        "experiment_id": str(view.experiment_iid),
        "name": model.name,
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_update_time,
        "artifact_uri": logged_model_artifact_uri(view.experiment_iid, model.eid),
        "status": WIRE_STATUS[model.status],
        "tags": key_values(view.tags),
        "registrations": [{"name": name, "version": str(sequence)} for name, sequence in view.registrations],
    }
    if model.user_id is not None:
        info["creator_id"] = model.user_id
    if model.model_type is not None:
        info["model_type"] = model.model_type
    if view.source_run_id is not None:
        info["source_run_id"] = view.source_run_id
    if model.status_message:
        info["status_message"] = model.status_message
    metrics = []
    for m in view.metrics:
        metric: dict[str, Any] = {
            "key": m.key,
            "value": metric_value(m.value, m.is_nan),
            "timestamp": m.timestamp,
            "step": m.step,
            "model_id": model.eid,
            "run_id": m.run_id,
        }
        if m.dataset_name is not None:
            metric["dataset_name"] = m.dataset_name
        if m.dataset_digest is not None:
            metric["dataset_digest"] = m.dataset_digest
        metrics.append(metric)
    return {"info": info, "data": {"params": key_values(view.params), "metrics": metrics}}
