"""Registered models: create (with the ``[model]<name>`` experiment), find, rename, describe, delete;
tags and aliases.

Rules (SPEC §4 and §5): names follow GitLab's model-name pattern; creating ``X`` needs the experiment name
``[model]X`` to be free; deleting a model removes its versions, their runs and its experiment.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compat import experiments, repository
from compat.experiments import now_ms
from compat.registry.tables import Model, ModelAlias, ModelTag, ModelVersion
from compat.tables import Candidate, Experiment
from gateway.errors import AlreadyExists, InvalidParameter, NotFound

EXPERIMENT_PREFIX = "[model]"
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 10_000
# GitLab's ml_model_name_regex (= its package name pattern): no spaces; '/' and one '@' allowed.
_NAME = re.compile(r"^@?(?:[\w\-.+]*/)*[\w\-.]+@?(?:[\w\-.+]*/)*[\w\-.]*$")
_ALIAS = re.compile(r"^[\w\-]+$")  # MLflow's alias rule
RESERVED_ALIAS = re.compile(r"^(latest|[vV]\d+)$")


def check_name(name: str) -> str:
    if not name:
        raise InvalidParameter("Missing value for required parameter 'name'.")
    if len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise InvalidParameter(
            f"Invalid model name {name!r}: use at most {MAX_NAME_LENGTH} letters, digits, '_', '-', '.', "
            "with optional '/' separators and one '@' — no spaces."
        )
    return name


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidParameter(f"Description is {len(description)} characters long; the limit is 10000.")
    return description


def experiment_name(model_name: str) -> str:
    return EXPERIMENT_PREFIX + model_name


def create_model(session: Session, project_id: int, user_id: int | None, name: str, description: str) -> Model:
    check_name(name)
    check_description(description)
    if _by_name(session, project_id, name) is not None:
        raise AlreadyExists(f"Registered Model (name={name}) already exists.")
    if repository.experiment_by_name(session, project_id, experiment_name(name)) is not None:
        raise AlreadyExists(
            f"Cannot create model {name!r}: an experiment named '{experiment_name(name)}' already exists "
            "in this project. Rename or delete that experiment first."
        )
    experiment = experiments.create_experiment(session, project_id, user_id, experiment_name(name))
    created = now_ms()
    model = Model(
        project_id=project_id,
        name=name,
        description=description,
        experiment_id=experiment.id,
        user_id=user_id,
        creation_time=created,
        last_update_time=created,
    )
    try:
        with session.begin_nested():
            session.add(model)
            session.flush()
    except IntegrityError:  # a concurrent create of the same name won
        raise AlreadyExists(f"Registered Model (name={name}) already exists.") from None
    return model


def get_model(session: Session, project_id: int, name: str) -> Model:
    model = _by_name(session, project_id, name)
    if model is None:
        raise NotFound(f"Registered Model with name={name} not found")
    return model


def rename_model(session: Session, model: Model, new_name: str) -> None:
    check_name(new_name)
    if new_name == model.name:
        return
    if _by_name(session, model.project_id, new_name) is not None:
        raise AlreadyExists(f"Registered Model (name={new_name}) already exists.")
    experiment = session.get(Experiment, model.experiment_id)
    assert experiment is not None
    experiments.rename_experiment(session, experiment, experiment_name(new_name), by_model=True)
    model.name = new_name
    model.last_update_time = now_ms()
    session.flush()


def update_model(session: Session, model: Model, description: str | None) -> None:
    if description is not None:
        model.description = check_description(description)
    model.last_update_time = now_ms()
    session.flush()


def delete_model(session: Session, model: Model) -> list[int]:
    """Remove the model, its versions and its experiment with all their runs; returns the runs' ids."""
    run_ids = list(session.scalars(select(Candidate.id).where(Candidate.experiment_id == model.experiment_id)))
    session.execute(delete(ModelVersion).where(ModelVersion.model_id == model.id))
    session.execute(delete(Model).where(Model.id == model.id))
    session.execute(delete(Experiment).where(Experiment.id == model.experiment_id))
    return run_ids


def set_tag(session: Session, model: Model, key: str, value: str) -> None:
    repository.upsert_key_values(session, ModelTag, "model_id", model.id, [(key, value)])
    model.last_update_time = now_ms()


def delete_tag(session: Session, model: Model, key: str) -> None:
    deleted = session.execute(delete(ModelTag).where(ModelTag.model_id == model.id, ModelTag.key == key))
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No tag with name: {key} on registered model {model.name}")


def tags_of(session: Session, model_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    return repository.key_values_by_parent(session, ModelTag, "model_id", model_ids)


# ---------------------------------------------------------------------------------------- aliases
def check_alias(alias: str) -> str:
    if not alias or len(alias) > 255 or not _ALIAS.match(alias):
        raise InvalidParameter(f"Invalid alias {alias!r}: use letters, digits, '_' and '-' (at most 255).")
    if RESERVED_ALIAS.match(alias):
        raise InvalidParameter(f"Invalid alias {alias!r}: 'latest' and 'v<number>' are reserved by MLflow.")
    return alias


def set_alias(session: Session, model: Model, alias: str, version: ModelVersion) -> None:
    check_alias(alias)
    existing = session.get(ModelAlias, (model.id, alias))
    if existing is None:
        session.add(ModelAlias(model_id=model.id, alias=alias, version_id=version.id))
    else:
        existing.version_id = version.id
    session.flush()


def delete_alias(session: Session, model: Model, alias: str) -> None:
    deleted = session.execute(delete(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias))
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"Registered model alias {alias} not found.")


def aliases_of(session: Session, model_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """``model id -> [(alias, version id)]``."""
    found: dict[int, list[tuple[str, int]]] = {i: [] for i in model_ids}
    if model_ids:
        rows = session.execute(
            select(ModelAlias.model_id, ModelAlias.alias, ModelAlias.version_id)
            .where(ModelAlias.model_id.in_(model_ids))
            .order_by(ModelAlias.alias)
        )
        for model_id, alias, version_id in rows:
            found[model_id].append((alias, version_id))
    return found


def _by_name(session: Session, project_id: int, name: str) -> Model | None:
    return session.scalar(select(Model).where(Model.project_id == project_id, Model.name == name))
