"""What runs record about logged models: outputs (``runs/outputs``), model inputs (``runs/log-inputs``),
metrics logged with a ``model_id``, and MLflow 2's ``mlflow.log-model.history`` tag (``runs/log-model``).

A ``model_id`` a run names must be a logged model of the run's project (another project's is "not
found", like a made-up one). A metric logged with a ``model_id`` goes to the run's history as any
metric does, and to the model's metrics; MLflow 3's ``log_model`` re-sends the run's existing points
with the new ``model_id``, so a point already in the run's history (same key, value, timestamp and
step) is not added there twice — MLflow's primary key drops such repeats the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from compat import candidates
from compat.logged_models.tables import CandidateModelLink, LoggedModel, LoggedModelMetric
from compat.metrics import MetricPoint
from compat.tables import Candidate, CandidateMetadata, CandidateMetric
from gateway.db import upsert_insert
from gateway.errors import InvalidParameter, NotFound
from tenants.principal import CiJob

LOGGED_MODELS_HISTORY_TAG = "mlflow.log-model.history"
MAX_TAG_VALUE_LENGTH = 8000
_HISTORY_FIELDS = ("run_id", "utc_time_created", "artifact_path", "model_uuid")
_REQUIRED_MODEL_FIELDS = ("artifact_path", "flavors", "utc_time_created", "run_id")


@dataclass(frozen=True, slots=True)
class ModelMetric:
    """A metric point sent with ``model_id`` (and maybe the dataset it was computed on)."""

    point: MetricPoint
    model_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


def models_by_id(session: Session, project_id: int, model_ids: Sequence[str]) -> dict[str, LoggedModel]:
    """The project's logged models named in ``model_ids``; ``NotFound`` for the first unknown one."""
    wanted = sorted(set(model_ids))
    found: dict[str, LoggedModel] = {}
    if wanted:
        query = select(LoggedModel).where(LoggedModel.project_id == project_id, LoggedModel.eid.in_(wanted))
        found = {model.eid: model for model in session.scalars(query)}
    for model_id in wanted:
        if model_id not in found:
            raise NotFound(f"Logged model with ID '{model_id}' not found.")
    return found


def log_outputs(session: Session, candidate: Candidate, outputs: Sequence[tuple[str, int]]) -> None:
    candidates.require_active(candidate)
    models = models_by_id(session, candidate.project_id, [model_id for model_id, _ in outputs])
    _link(session, candidate, "output", [(models[model_id].id, step) for model_id, step in outputs])


def log_model_inputs(session: Session, candidate: Candidate, model_ids: Sequence[str]) -> None:
    candidates.require_active(candidate)
    models = models_by_id(session, candidate.project_id, model_ids)
    _link(session, candidate, "input", [(models[model_id].id, 0) for model_id in model_ids])


def log_batch_with_models(
    session: Session,
    candidate: Candidate,
    *,
    metrics: Sequence[MetricPoint],
    model_metrics: Sequence[ModelMetric],
    params: Sequence[tuple[str, str]] = (),
    tags: Sequence[tuple[str, str]] = (),
    ci: CiJob | None = None,
) -> None:
    """``runs/log-batch`` (or ``log-metric``) whose metrics name logged models: the run's batch as usual,
    then the model's points. One transaction, so an unknown ``model_id`` leaves nothing behind.
    """
    models = models_by_id(session, candidate.project_id, [m.model_id for m in model_metrics])
    repeats = _already_logged(session, candidate, [m.point for m in model_metrics])
    new_points = [m.point for m in model_metrics if _identity(m.point) not in repeats]
    candidates.log_batch(session, candidate, metrics=[*metrics, *new_points], params=params, tags=tags, ci=ci)
    rows = [
        {
            "logged_model_id": models[m.model_id].id,
            "candidate_id": candidate.id,
            "key": m.point.key,
            "value": 0.0 if math.isnan(m.point.value) else m.point.value,
            "is_nan": math.isnan(m.point.value),
            "timestamp": m.point.timestamp,
            "step": m.point.step,
            "dataset_name": m.dataset_name,
            "dataset_digest": m.dataset_digest,
        }
        for m in model_metrics
    ]
    statement = upsert_insert(session, LoggedModelMetric).values(rows)
    session.execute(
        statement.on_conflict_do_nothing(index_elements=["logged_model_id", "key", "timestamp", "step", "candidate_id"])
    )


def record_model_history(session: Session, candidate: Candidate, model_json: str) -> None:
    """2.7.1's ``runs/log-model``: append the model's summary to the run's history tag, as MLflow's server does."""
    try:
        model = orjson.loads(model_json)
    except orjson.JSONDecodeError:
        raise InvalidParameter(f"Malformed model info. \n {model_json[:200]} \n is not a valid JSON.") from None
    if not isinstance(model, dict):
        raise InvalidParameter("Malformed model info: model_json must be a JSON object.")
    missing = sorted(set(_REQUIRED_MODEL_FIELDS) - set(model))
    if missing:
        raise InvalidParameter(f"Model json is missing mandatory fields: {', '.join(missing)}")
    candidates.require_active(candidate)
    current = session.scalar(
        select(CandidateMetadata.value).where(
            CandidateMetadata.candidate_id == candidate.id, CandidateMetadata.key == LOGGED_MODELS_HISTORY_TAG
        )
    )
    history = _history(current)
    history.append(_summary(model))
    value = orjson.dumps(history).decode()
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"The {LOGGED_MODELS_HISTORY_TAG} tag of run {candidate.eid} would be {len(value)} characters long; "
            f"the limit is {MAX_TAG_VALUE_LENGTH}."
        )
    candidates.log_batch(session, candidate, tags=[(LOGGED_MODELS_HISTORY_TAG, value)])


# ---------------------------------------------------------------------------------------- helpers
def _link(session: Session, candidate: Candidate, direction: str, pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    rows = [{"candidate_id": candidate.id, "logged_model_id": m, "direction": direction, "step": s} for m, s in pairs]
    statement = upsert_insert(session, CandidateModelLink).values(rows)
    session.execute(statement.on_conflict_do_nothing())


def _identity(point: MetricPoint) -> tuple[str, int, int, float | None]:
    return (point.key, point.timestamp, point.step, None if math.isnan(point.value) else point.value)


def _already_logged(session: Session, candidate: Candidate, points: Sequence[MetricPoint]) -> set[Any]:
    """Which of ``points`` the run's history already holds (key, timestamp, step and value all equal)."""
    if not points:
        return set()
    metric = CandidateMetric
    rows = session.execute(
        select(metric.key, metric.timestamp, metric.step, metric.value, metric.is_nan).where(
            metric.candidate_id == candidate.id,
            metric.key.in_({p.key for p in points}),
            metric.step.in_({p.step for p in points}),
        )
    )
    return {(key, timestamp, step, None if is_nan else value) for key, timestamp, step, value, is_nan in rows}


def _history(current: str | None) -> list[Any]:
    if not current:
        return []
    try:
        loaded = orjson.loads(current)
    except orjson.JSONDecodeError:
        return []  # someone set the tag by hand; MLflow's server would fail here, we start a new list
    return loaded if isinstance(loaded, list) else []


def _summary(model: dict[str, Any]) -> dict[str, Any]:
    """MLflow's ``Model.get_tags_dict()``: four fields and the flavors without their ``config``."""
    summary = {key: model[key] for key in _HISTORY_FIELDS if key in model}
    flavors = model.get("flavors")
    if isinstance(flavors, dict):
        summary["flavors"] = {
            name: {k: v for k, v in config.items() if k != "config"} if isinstance(config, dict) else config
            for name, config in flavors.items()
        }
    else:
        summary["flavors"] = flavors
    return summary
