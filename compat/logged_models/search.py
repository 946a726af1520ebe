"""``logged-models/search`` compiled to one SQL query: filter, datasets, order and page in the database.

MLflow's semantics (``SqlAlchemyStore.search_logged_models``): deleted models never match; a metric
clause matches a model with *any* point of that key satisfying it (optionally only points on the
requested datasets); a param or tag clause needs the key present (``!=`` included); ordering by a
metric uses each model's latest point (newest timestamp, then highest step); missing values sort
last; ties fall back to newest creation time, then ``model_id``. ``status`` compares MLflow's names
(``READY``), and the wire names (``LOGGED_MODEL_READY``) are accepted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, exists, literal, not_, or_, select
from sqlalchemy.orm import Session

from compat.logged_models.tables import LoggedModel, LoggedModelMetric, LoggedModelParam, LoggedModelTag
from compat.search.grammar import Value
from compat.search.sql import compare, dialect_of, key_value_condition
from compat.search.vocabulary import Clause, Vocabulary
from compat.tables import Candidate, Experiment
from gateway.db import planned_each_time

VOCABULARY = Vocabulary(
    name="logged models",
    kinds=frozenset({"metric", "param", "tag", "attribute"}),
    string_attributes=frozenset({"model_id", "name", "model_type", "status", "source_run_id", "artifact_uri"}),
    number_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    list_attributes=frozenset({"model_id", "name", "model_type", "status", "source_run_id"}),
    aliases={
        "creation_time": "creation_timestamp",
        "creation_timestamp_ms": "creation_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp",
        "artifact_location": "artifact_uri",
    },
)
WIRE_STATUSES = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
}


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    digest: str | None


@dataclass(frozen=True, slots=True)
class ModelOrder:
    kind: str
    """``attribute`` or ``metric``."""
    key: str
    ascending: bool
    dataset: Dataset | None = None


@dataclass(frozen=True, slots=True)
class ModelQuery:
    experiment_iids: Sequence[int]
    clauses: Sequence[Clause] = ()
    datasets: Sequence[Dataset] = ()
    orders: Sequence[ModelOrder] = ()


def search_logged_models(
    session: Session, project_id: int, query: ModelQuery, *, offset: int, limit: int
) -> list[LoggedModel]:
    dialect = dialect_of(session)
    statement: Select[LoggedModel] = (
        select(LoggedModel)
        .join(Experiment, Experiment.id == LoggedModel.experiment_id)
        .where(
            LoggedModel.project_id == project_id,
            Experiment.project_id == project_id,
            Experiment.iid.in_(list(query.experiment_iids)),
            LoggedModel.lifecycle_stage == "active",
        )
    )
    on_datasets = _on_datasets(query.datasets)
    has_metric_clause = False
    for clause in query.clauses:
        has_metric_clause |= clause.kind == "metric"
        statement = statement.where(_condition(clause, dialect, on_datasets))
    if on_datasets is not None and not has_metric_clause:
        statement = statement.where(exists().where(LoggedModelMetric.logged_model_id == LoggedModel.id, on_datasets))
    order: list[Any] = []
    for item in query.orders:
        value: Any = _attribute(item.key) if item.kind == "attribute" else _latest_metric(item)
        order += [case((value.is_(None), 1), else_=0), value if item.ascending else value.desc()]
    if not any(o.kind == "attribute" and o.key == "creation_timestamp" for o in query.orders):
        order.append(LoggedModel.creation_time.desc())
    if not any(o.kind == "attribute" and o.key == "model_id" for o in query.orders):
        order.append(LoggedModel.eid)
    with planned_each_time(session):  # the best plan depends on the values compared
        return list(session.scalars(statement.order_by(*order).offset(offset).limit(limit)))


# ---------------------------------------------------------------------------------------- helpers
def _attribute(key: str) -> Any:
    if key == "source_run_id":
        return select(Candidate.eid).where(Candidate.id == LoggedModel.candidate_id).scalar_subquery()
    if key == "artifact_uri":
        return (
            literal("mlflow-artifacts:/") + cast(Experiment.iid, String) + "/models/" + LoggedModel.eid + "/artifacts"
        )
    columns: dict[str, Any] = {
        "model_id": LoggedModel.eid,
        "name": LoggedModel.name,
        "model_type": LoggedModel.model_type,
        "status": LoggedModel.status,
        "creation_timestamp": LoggedModel.creation_time,
        "last_updated_timestamp": LoggedModel.last_update_time,
    }
    return columns[key]


def _status_value(value: Value) -> Value:
    if isinstance(value, str):
        return WIRE_STATUSES.get(value, value)
    if isinstance(value, tuple):
        return tuple(WIRE_STATUSES.get(v, v) for v in value)
    return value


def _condition(clause: Clause, dialect: str, on_datasets: ColumnElement[bool] | None) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        value = _status_value(clause.value) if clause.key == "status" else clause.value
        return compare(_attribute(clause.key), clause.operator, value, dialect)
    if clause.kind == "metric":
        metric = LoggedModelMetric
        if clause.operator == "!=":
            value_matches = or_(metric.is_nan, metric.value != clause.value)
        else:
            value_matches = and_(not_(metric.is_nan), compare(metric.value, clause.operator, clause.value, dialect))
        conditions = [metric.logged_model_id == LoggedModel.id, metric.key == clause.key, value_matches]
        if on_datasets is not None:
            conditions.append(on_datasets)
        return exists().where(*conditions)
    table = LoggedModelParam if clause.kind == "param" else LoggedModelTag
    return key_value_condition(table, table.logged_model_id == LoggedModel.id, clause, dialect)


def _on_datasets(datasets: Sequence[Dataset]) -> ColumnElement[bool] | None:
    if not datasets:
        return None
    return or_(*(_on_dataset(d) for d in datasets))


def _on_dataset(dataset: Dataset) -> ColumnElement[bool]:
    if dataset.digest is None:
        return LoggedModelMetric.dataset_name == dataset.name
    return and_(LoggedModelMetric.dataset_name == dataset.name, LoggedModelMetric.dataset_digest == dataset.digest)


def _latest_metric(order: ModelOrder) -> Any:
    """The model's latest point of the metric (on the order's dataset, if it names one); NaN counts as missing."""
    metric = LoggedModelMetric
    conditions = [metric.logged_model_id == LoggedModel.id, metric.key == order.key]
    if order.dataset is not None:
        conditions.append(_on_dataset(order.dataset))
    latest = (
        select(case((metric.is_nan, None), else_=metric.value))
        .where(*conditions)
        .order_by(metric.timestamp.desc(), metric.step.desc(), metric.id.desc())
        .limit(1)
    )
    return latest.scalar_subquery()
