"""Logged models: create, find, finalize, soft-delete; their tags and params; everything a response
shows about many of them, loaded in a few queries.

Rules (MLflow's, with the gateway's tenancy): a logged model lives in an active experiment of the
caller's project; ``model_id`` is ``m-<32 hex>``; a name may not contain ``/ : . % " '`` (it becomes
part of ``runs:/<run>/<name>`` URIs) and gets a random nickname when absent; the source run must be a
run of the same project; tags upsert; a param, once logged, keeps its value (an identical re-log is
fine), as a run's does. A deleted model answers "not found" to everything except
``get(allow_deleted=True)`` and its artifact files, which stay readable for the registry versions
made from it. Must not: know HTTP or MLflow's wire names (``LOGGED_MODEL_READY`` is the presenter's).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from compat import repository
from compat.experiments import now_ms
from compat.logged_models.tables import (
    STATUSES,
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelRegistration,
    LoggedModelTag,
)
from compat.names import random_run_name
from compat.registry.tables import Model, ModelVersion
from compat.tables import Candidate, Experiment
from gateway.errors import InvalidParameter, NotFound

MAX_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
MAX_MODEL_ID_LENGTH = 64
_FORBIDDEN_NAME_CHARACTERS = ("/", ":", ".", "%", '"', "'")


@dataclass(frozen=True, slots=True)
class LinkedMetric:
    """A metric point of a logged model, as the run logged it."""

    key: str
    value: float
    is_nan: bool
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None
    dataset_digest: str | None


@dataclass(frozen=True, slots=True)
class LoggedModelView:
    model: LoggedModel
    experiment_iid: int
    source_run_id: str | None
    tags: list[tuple[str, str]]
    params: list[tuple[str, str]]
    metrics: list[LinkedMetric]
    registrations: list[tuple[str, int]]
    """``(registered model name, version sequence number)`` of each version made from this model."""


def new_model_id() -> str:
    return f"m-{uuid.uuid4().hex}"


def check_name(name: str) -> str:
    if not name or any(c in name for c in _FORBIDDEN_NAME_CHARACTERS):
        raise InvalidParameter(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {', '.join(_FORBIDDEN_NAME_CHARACTERS)}"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter(f"Invalid model name: {len(name)} characters long; the limit is {MAX_NAME_LENGTH}.")
    return name


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidParameter(f"Invalid logged model status {status!r}: use one of {', '.join(STATUSES)}.")
    return status


def create_logged_model(
    session: Session,
    experiment: Experiment,
    *,
    name: str | None,
    model_type: str | None,
    source_run: Candidate | None,
    user_id: int | None,
    params: Sequence[tuple[str, str]] = (),
    tags: Sequence[tuple[str, str]] = (),
) -> LoggedModel:
    """A new ``PENDING`` model; every check runs before the first write."""
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state; it is '{experiment.lifecycle_stage}'."
        )
    name = check_name(name) if name is not None else random_run_name()
    if model_type is not None and len(model_type) > MAX_MODEL_TYPE_LENGTH:
        raise InvalidParameter(f"Invalid model_type: longer than {MAX_MODEL_TYPE_LENGTH} characters.")
    wanted_params = _distinct_params(params)
    created = now_ms()
    model = LoggedModel(
        eid=new_model_id(),
        project_id=experiment.project_id,
        experiment_id=experiment.id,
        name=name,
        status="PENDING",
        status_message="",
        model_type=model_type,
        candidate_id=source_run.id if source_run is not None else None,
        user_id=user_id,
        lifecycle_stage="active",
        creation_time=created,
        last_update_time=created,
    )
    session.add(model)
    session.flush()
    if wanted_params:
        session.execute(
            insert(LoggedModelParam), [{"logged_model_id": model.id, "key": k, "value": v} for k, v in wanted_params]
        )
    repository.upsert_key_values(session, LoggedModelTag, "logged_model_id", model.id, list(dict(tags).items()))
    return model


def find_model(session: Session, project_id: int, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
    """The logged model ``model_id`` of ``project_id``; another project's is as missing as a made-up id."""
    model = None
    if len(model_id) <= MAX_MODEL_ID_LENGTH:
        model = session.scalar(
            select(LoggedModel).where(LoggedModel.eid == model_id, LoggedModel.project_id == project_id)
        )
    if model is None or (model.lifecycle_stage != "active" and not allow_deleted):
        raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return model


def finalize(session: Session, model: LoggedModel, status: str, status_message: str | None = None) -> None:
    model.status = check_status(status)
    if status_message is not None:
        model.status_message = status_message
    _touch(session, model)


def delete_model(session: Session, model: LoggedModel) -> None:
    """Soft delete (MLflow's): searches and gets stop seeing it; its files stay for registry versions."""
    model.lifecycle_stage = "deleted"
    _touch(session, model)


def set_tags(session: Session, model: LoggedModel, tags: Sequence[tuple[str, str]]) -> None:
    repository.upsert_key_values(session, LoggedModelTag, "logged_model_id", model.id, list(dict(tags).items()))
    _touch(session, model)


def delete_tag(session: Session, model: LoggedModel, key: str) -> None:
    deleted = session.execute(
        delete(LoggedModelTag).where(LoggedModelTag.logged_model_id == model.id, LoggedModelTag.key == key)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No tag with key {key!r} found for model with ID {model.eid!r}.")
    _touch(session, model)


def log_params(session: Session, model: LoggedModel, params: Sequence[tuple[str, str]]) -> None:
    wanted = _distinct_params(params)
    if not wanted:
        return
    existing = dict(_param_rows(session, model, [k for k, _ in wanted]))
    for key, value in wanted:
        if key in existing and existing[key] != value:
            raise InvalidParameter(
                f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                f"value='{existing[key]}' for logged model ID='{model.eid}'. Attempted logging new value '{value}'."
            )
    new = [(k, v) for k, v in wanted if k not in existing]
    if new:
        session.execute(insert(LoggedModelParam), [{"logged_model_id": model.id, "key": k, "value": v} for k, v in new])
    _touch(session, model)


def views(session: Session, models: Sequence[LoggedModel]) -> list[LoggedModelView]:
    """What responses show about ``models``: six queries, whatever their number."""
    if not models:
        return []
    ids = [m.id for m in models]
    iids = dict(
        session.execute(
            select(Experiment.id, Experiment.iid).where(Experiment.id.in_({m.experiment_id for m in models}))
        ).all()
    )
    run_ids = {m.candidate_id for m in models if m.candidate_id is not None}
    eids = dict(session.execute(select(Candidate.id, Candidate.eid).where(Candidate.id.in_(run_ids))).all())
    tags = repository.key_values_by_parent(session, LoggedModelTag, "logged_model_id", ids)
    params = repository.key_values_by_parent(session, LoggedModelParam, "logged_model_id", ids)
    metrics: dict[int, list[LinkedMetric]] = {i: [] for i in ids}
    for row, run_id in session.execute(
        select(LoggedModelMetric, Candidate.eid)
        .join(Candidate, Candidate.id == LoggedModelMetric.candidate_id)
        .where(LoggedModelMetric.logged_model_id.in_(ids))
        .order_by(LoggedModelMetric.key, LoggedModelMetric.step, LoggedModelMetric.timestamp, LoggedModelMetric.id)
    ):
        metrics[row.logged_model_id].append(
            LinkedMetric(
                row.key, row.value, row.is_nan, row.timestamp, row.step, run_id, row.dataset_name, row.dataset_digest
            )
        )
    registrations: dict[int, list[tuple[str, int]]] = {i: [] for i in ids}
    for logged_model_id, name, sequence in session.execute(
        select(LoggedModelRegistration.logged_model_id, Model.name, ModelVersion.sequence)
        .join(ModelVersion, ModelVersion.id == LoggedModelRegistration.version_id)
        .join(Model, Model.id == ModelVersion.model_id)
        .where(LoggedModelRegistration.logged_model_id.in_(ids))
        .order_by(Model.name, ModelVersion.sequence)
    ):
        registrations[logged_model_id].append((name, sequence))
    return [
        LoggedModelView(
            model=m,
            experiment_iid=iids[m.experiment_id],
            source_run_id=eids.get(m.candidate_id) if m.candidate_id is not None else None,
            tags=tags[m.id],
            params=params[m.id],
            metrics=metrics[m.id],
            registrations=registrations[m.id],
        )
        for m in models
    ]


def view(session: Session, model: LoggedModel) -> LoggedModelView:
    return views(session, [model])[0]


# ---------------------------------------------------------------------------------------- helpers
def _touch(session: Session, model: LoggedModel) -> None:
    model.last_update_time = now_ms()
    session.flush()


def _distinct_params(params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted: dict[str, str] = {}
    for key, value in params:
        if key in wanted and wanted[key] != value:
            raise InvalidParameter(f"Duplicate parameter keys have been submitted with different values: '{key}'.")
        wanted[key] = value
    return list(wanted.items())


def _param_rows(session: Session, model: LoggedModel, keys: list[str]) -> list[tuple[str, str]]:
    rows = session.execute(
        select(LoggedModelParam.key, LoggedModelParam.value).where(
            LoggedModelParam.logged_model_id == model.id, LoggedModelParam.key.in_(keys)
        )
    )
    return [(key, value) for key, value in rows]
