"""MLflow JSON for our entities: the only place ids become MLflow's strings."""

from __future__ import annotations

from typing import Any

from compat.tables import Experiment


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
