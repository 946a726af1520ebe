"""MLflow JSON for registered models and model versions.

``version`` is the per-model sequence number (so ``models:/name/latest`` and ``int(version)`` in
the client work); the SemVer travels in ``aliases`` and in the ``gitlab.version`` tag. ``source``
is where the version's files are: its own run's artifact root, or ``models:/<model_id>`` for a
version registered from an MLflow 3 logged model (``get-download-uri`` then gives that model's root).
"""

from __future__ import annotations

from typing import Any

from compat.mlflow.presenters import key_values, logged_model_artifact_uri, run_artifact_uri
from compat.registry.views import ModelView, VersionView


def version_artifact_uri(view: VersionView) -> str:
    """Where the version's files are: its logged model's root (MLflow 3), else its own run's."""
    if view.logged_model is not None:
        model_id, experiment_iid = view.logged_model
        return logged_model_artifact_uri(experiment_iid, model_id)
    return run_artifact_uri(view.experiment_iid, view.candidate)


def model_version(view: VersionView) -> dict[str, Any]:
    version = view.version
    return {
        "name": view.model.name,
        "version": str(version.sequence),
        "creation_timestamp": version.creation_time,
        "last_updated_timestamp": version.last_update_time,
        "user_id": version.user_name,
        "current_stage": "None",
        "description": version.description,
        # A logged model's version shows MLflow's own source, models:/<model_id>.
        "source": f"models:/{view.logged_model[0]}" if view.logged_model else version_artifact_uri(view),
        "run_id": view.candidate.eid,
        "status": "READY",
        "status_message": "",
        "tags": key_values(view.tags),
        "run_link": "",
        "aliases": [version.version, *view.aliases],
        **({"model_id": view.logged_model[0]} if view.logged_model else {}),
    }


def registered_model(view: ModelView) -> dict[str, Any]:
    model = view.model
    return {
        "name": model.name,
        "creation_timestamp": model.creation_time,
        "last_updated_timestamp": model.last_update_time,
        "description": model.description,
        "tags": key_values(view.tags),
        "latest_versions": [model_version(view.latest)] if view.latest else [],
        "aliases": [{"alias": alias, "version": str(sequence)} for alias, sequence in view.aliases],
    }
