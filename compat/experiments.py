"""Experiments: create, find, rename, soft-delete and restore, and their tags.

Services raise domain errors (``gateway.errors``) and never touch HTTP. Ids here are the
per-project ``iid``; a database id never leaves the package.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compat import repository
from compat.tables import Experiment, ExperimentTag
from gateway.errors import AlreadyExists, InvalidParameter, NotFound

MAX_NAME_LENGTH = 500


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_name(name: str) -> str:
    if not name.strip():
        raise InvalidParameter("Invalid experiment name: the name must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter(f"Invalid experiment name: longer than {MAX_NAME_LENGTH} characters.")
    return name


def create_experiment(
    session: Session, project_id: int, user_id: int | None, name: str, tags: Sequence[tuple[str, str]] = ()
) -> Experiment:
    """A new experiment with the next per-project id; a taken name (even of a deleted one) is refused."""
    _check_name(name)
    if repository.experiment_by_name(session, project_id, name) is not None:
        raise AlreadyExists(f"Experiment(name={name}) already exists.")
    created = now_ms()
    experiment = Experiment(
        project_id=project_id,
        iid=repository.next_iid(session, project_id, "experiment"),
        name=name,
        creation_time=created,
        last_update_time=created,
        user_id=user_id,
    )
    try:
        with session.begin_nested():
            session.add(experiment)
            session.flush()
    except IntegrityError:  # a concurrent create won the race for the name
        raise AlreadyExists(f"Experiment(name={name}) already exists.") from None
    # The last value of a repeated key wins.
    repository.upsert_key_values(session, ExperimentTag, "experiment_id", experiment.id, list(dict(tags).items()))
    return experiment


def get_experiment(session: Session, project_id: int, iid: int) -> Experiment:
    experiment = repository.experiment_by_iid(session, project_id, iid)
    if experiment is None:
        raise NotFound(f"No Experiment with id={iid} exists")
    return experiment


def get_experiment_by_name(session: Session, project_id: int, name: str) -> Experiment:
    experiment = repository.experiment_by_name(session, project_id, name)
    if experiment is None:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return experiment


def rename_experiment(session: Session, experiment: Experiment, new_name: str, *, by_model: bool = False) -> None:
    _check_name(new_name)
    if not by_model:
        _refuse_if_model_experiment(session, experiment, "renamed")
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter("Cannot rename a non-active experiment; restore it first.")
    if new_name == experiment.name:
        return
    if repository.experiment_by_name(session, experiment.project_id, new_name) is not None:
        raise AlreadyExists(f"Experiment(name={new_name}) already exists.")
    experiment.name = new_name
    experiment.last_update_time = now_ms()
    session.flush()


def delete_experiment(session: Session, experiment: Experiment) -> None:
    """Soft delete (MLflow's semantics): the experiment and its runs stay until ``mlgateway gc``."""
    if experiment.lifecycle_stage == "deleted":
        return
    _refuse_if_model_experiment(session, experiment, "deleted")
    experiment.lifecycle_stage = "deleted"
    experiment.deleted_time = experiment.last_update_time = now_ms()
    session.flush()


def restore_experiment(session: Session, experiment: Experiment) -> None:
    if experiment.lifecycle_stage == "active":
        return
    experiment.lifecycle_stage = "active"
    experiment.deleted_time = None
    experiment.last_update_time = now_ms()
    session.flush()


def set_experiment_tag(session: Session, experiment: Experiment, key: str, value: str) -> None:
    """Upsert (MLflow), not GitLab's "already taken" error."""
    _require_active(experiment)
    repository.upsert_key_values(session, ExperimentTag, "experiment_id", experiment.id, [(key, value)])


def delete_experiment_tag(session: Session, experiment: Experiment, key: str) -> None:
    _require_active(experiment)
    deleted = session.execute(
        delete(ExperimentTag).where(ExperimentTag.experiment_id == experiment.id, ExperimentTag.key == key)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No tag with name: {key} in experiment with id {experiment.iid}")


def list_experiments(session: Session, project_id: int, view_type: str) -> list[Experiment]:
    query = repository.experiments_of(project_id).order_by(Experiment.iid)
    if view_type == "ACTIVE_ONLY":
        query = query.where(Experiment.lifecycle_stage == "active")
    elif view_type == "DELETED_ONLY":
        query = query.where(Experiment.lifecycle_stage == "deleted")
    return list(session.scalars(query))


def tags_of(session: Session, experiments: Sequence[Experiment]) -> dict[int, list[tuple[str, str]]]:
    return repository.experiment_tags(session, [e.id for e in experiments])


def _refuse_if_model_experiment(session: Session, experiment: Experiment, what: str) -> None:
    model = repository.model_of_experiment(session, experiment.id)
    if model is not None:
        raise InvalidParameter(
            f"Experiment {experiment.iid} belongs to the registered model {model!r} and cannot be {what} on its "
            "own; rename or delete the model instead."
        )


def _require_active(experiment: Experiment) -> None:
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state; it is '{experiment.lifecycle_stage}'."
        )


DEFAULT_EXPERIMENT_NAME = "Default"


def create_default_experiment(session: Session, project_id: int) -> Experiment:
    """The project's experiment ``0``, as a stock MLflow server has, made when a run first asks for it."""
    if repository.experiment_by_name(session, project_id, DEFAULT_EXPERIMENT_NAME) is not None:
        raise NotFound(
            "No Experiment with id=0 exists, and the name 'Default' is taken by another experiment: "
            "call mlflow.set_experiment(...) before starting a run"
        )
    created = now_ms()
    experiment = Experiment(
        project_id=project_id, iid=0, name=DEFAULT_EXPERIMENT_NAME, creation_time=created, last_update_time=created
    )
    try:
        with session.begin_nested():
            session.add(experiment)
            session.flush()
    except IntegrityError:  # a concurrent first run made it a moment ago
        return get_experiment(session, project_id, 0)
    return experiment
