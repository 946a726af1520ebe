"""MLflow JSON for our entities: the only place ids become MLflow's strings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from compat.candidates import LatestMetric, RunData
from compat.run_inputs import tags_of
from compat.tables import Candidate, CandidateInput, Experiment


def key_values(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in pairs]


def experiment(row: Experiment, tags: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "experiment_id": str(row.iid),
        "name": row.name,
        # Relative to the project's tracking URI: the client keeps the /api/v4/projects/… prefix.
        "artifact_location": f"mlflow-artifacts:/{row.iid}",
        "lifecycle_stage": row.lifecycle_stage,
        "creation_time": row.creation_time,
        "last_update_time": row.last_update_time,
        "tags": key_values(tags),
    }


def metric_value(value: float, is_nan: bool) -> float | str:
    """Protobuf's JSON for doubles: NaN and ±Infinity travel as strings (JSON has no such numbers)."""
    if is_nan or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric(key: str, value: float, is_nan: bool, timestamp: int, step: int) -> dict[str, Any]:
    return {"key": key, "value": metric_value(value, is_nan), "timestamp": timestamp, "step": step}


def latest_metrics(rows: Sequence[LatestMetric | tuple[str, float, bool, int, int]]) -> list[dict[str, Any]]:
    """``metric`` for many rows, inlined: ``v - v == 0`` is false exactly for NaN and ±Infinity."""
    return [
        {
            "key": key,
            "value": value if not is_nan and value - value == 0 else metric_value(value, is_nan),
            "timestamp": timestamp,
            "step": step,
        }
        for key, value, is_nan, timestamp, step in rows
    ]


def run_artifact_uri(experiment_iid: int, candidate: Candidate) -> str:
    """A run's artifact root, relative to the project's tracking URI (``compat.search.runs`` has its SQL twin)."""
    return f"mlflow-artifacts:/{experiment_iid}/{candidate.eid}/artifacts"


def logged_model_artifact_uri(experiment_iid: int, model_id: str) -> str:
    """A logged model's artifact root beside its experiment's runs (SQL twin in ``compat.logged_models.search``)."""
    return f"mlflow-artifacts:/{experiment_iid}/models/{model_id}/artifacts"


def run_info(candidate: Candidate, experiment_iid: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": candidate.eid,
        "run_uuid": candidate.eid,
        "run_name": candidate.name,
        "experiment_id": str(experiment_iid),
        "user_id": candidate.user_name,
        "status": candidate.status,
        "start_time": candidate.start_time,
        # A non-empty path under the project's tracking URI (issue 4's artifact proxy serves it).
        "artifact_uri": run_artifact_uri(experiment_iid, candidate),
        "lifecycle_stage": candidate.lifecycle_stage,
    }
    if candidate.end_time is not None:
        info["end_time"] = candidate.end_time
    return info


def run(candidate: Candidate, experiment_iid: int, data: RunData) -> dict[str, Any]:
    return {
        "info": run_info(candidate, experiment_iid),
        "data": {
            "metrics": latest_metrics(data.metrics),
            "params": key_values(data.params),
            "tags": key_values(data.tags),
        },
        "inputs": run_inputs(data),
        "outputs": run_outputs(data),
    }


def run_inputs(data: RunData) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if data.inputs:
        inputs["dataset_inputs"] = [dataset_input(row) for row in data.inputs]
    if data.models.inputs:
        inputs["model_inputs"] = [{"model_id": model_id} for model_id in data.models.inputs]
    return inputs


def run_outputs(data: RunData) -> dict[str, Any]:
    if not data.models.outputs:
        return {}
    return {"model_outputs": [{"model_id": model_id, "step": step} for model_id, step in data.models.outputs]}


def dataset_input(row: CandidateInput) -> dict[str, Any]:
    dataset: dict[str, Any] = {
        "name": row.name,
        "digest": row.digest,
        "source_type": row.source_type,
        "source": row.source,
    }
    if row.schema is not None:
        dataset["schema"] = row.schema
    if row.profile is not None:
        dataset["profile"] = row.profile
    return {"tags": key_values(tags_of(row)), "dataset": dataset}
