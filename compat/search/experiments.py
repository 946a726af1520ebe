"""``experiments/search`` compiled to one SQL query (filter on name, id, times and tags; order; page).

MLflow's default order is newest first (``creation_time DESC``), ties by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, select
from sqlalchemy.orm import Session

from compat.search.sql import compare, dialect_of, key_value_condition
from compat.search.vocabulary import Clause
from compat.tables import Experiment, ExperimentTag
from gateway.db import planned_each_time


@dataclass(frozen=True, slots=True)
class ExperimentOrder:
    key: str
    ascending: bool


def _attribute(key: str) -> ColumnElement[Any]:
    columns: dict[str, Any] = {
        "name": Experiment.name,
        "experiment_id": cast(Experiment.iid, String),
        "creation_time": Experiment.creation_time,
        "last_update_time": Experiment.last_update_time,
    }
    return columns[key]  # type: ignore[no-any-return]


def _condition(clause: Clause, dialect: str) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        return compare(_attribute(clause.key), clause.operator, clause.value, dialect)
    return key_value_condition(ExperimentTag, ExperimentTag.experiment_id == Experiment.id, clause, dialect)


def search_experiments(
    session: Session,
    project_id: int,
    *,
    clauses: Sequence[Clause],
    orders: Sequence[ExperimentOrder],
    view_type: str,
    offset: int,
    limit: int,
) -> list[Experiment]:
    dialect = dialect_of(session)
    statement = select(Experiment).where(Experiment.project_id == project_id)
    if view_type == "ACTIVE_ONLY":
        statement = statement.where(Experiment.lifecycle_stage == "active")
    elif view_type == "DELETED_ONLY":
        statement = statement.where(Experiment.lifecycle_stage == "deleted")
    for clause in clauses:
        statement = statement.where(_condition(clause, dialect))
    columns: list[Any] = []
    for order in orders:
        column = Experiment.iid if order.key == "experiment_id" else _attribute(order.key)
        columns.append(column if order.ascending else column.desc())
    if not any(order.key == "creation_time" for order in orders):
        columns.append(Experiment.creation_time.desc())
    columns.append(Experiment.iid)
    with planned_each_time(session):  # the best plan depends on the values compared
        return list(session.scalars(statement.order_by(*columns).offset(offset).limit(limit)))
