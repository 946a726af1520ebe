"""``registered-models/search`` and ``model-versions/search`` compiled to SQL.

The vocabulary is MLflow's registry one. One difference from run search, also MLflow's: a tag
``!=`` matches entities that lack the tag, so MLflow 3's ever-present
``tag.`mlflow.prompt.is_prompt` != 'true'`` keeps every ordinary model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compat.registry.tables import Model, ModelTag, ModelVersion, ModelVersionTag
from compat.search.sql import compare, dialect_of, key_value_condition
from compat.search.vocabulary import Clause, Vocabulary
from compat.tables import Candidate
from gateway.db import planned_each_time

MODELS = Vocabulary(
    name="registered models",
    kinds=frozenset({"tag", "attribute"}),
    string_attributes=frozenset({"name"}),
    number_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    aliases={"timestamp": "creation_timestamp"},
)
VERSIONS = Vocabulary(
    name="model versions",
    kinds=frozenset({"tag", "attribute"}),
    string_attributes=frozenset({"name", "run_id", "source_path"}),
    number_attributes=frozenset({"version_number", "creation_timestamp", "last_updated_timestamp"}),
    list_attributes=frozenset({"run_id"}),
    aliases={"timestamp": "creation_timestamp"},
)


@dataclass(frozen=True, slots=True)
class Order:
    key: str
    ascending: bool


def search_models(
    session: Session, project_id: int, clauses: Sequence[Clause], orders: Sequence[Order], offset: int, limit: int
) -> list[Model]:
    dialect = dialect_of(session)
    columns: dict[str, Any] = {
        "name": Model.name,
        "creation_timestamp": Model.creation_time,
        "last_updated_timestamp": Model.last_update_time,
    }
    statement = select(Model).where(Model.project_id == project_id)
    for clause in clauses:
        if clause.kind == "attribute":
            statement = statement.where(compare(columns[clause.key], clause.operator, clause.value, dialect))
        else:
            statement = statement.where(
                key_value_condition(ModelTag, ModelTag.model_id == Model.id, clause, dialect, missing_is_unequal=True)
            )
    order = [columns[o.key] if o.ascending else columns[o.key].desc() for o in orders]
    statement = statement.order_by(*order, Model.name, Model.id).offset(offset).limit(limit)
    with planned_each_time(session):  # the best plan depends on the values compared
        return list(session.scalars(statement))


def search_versions(
    session: Session, project_id: int, clauses: Sequence[Clause], orders: Sequence[Order], offset: int, limit: int
) -> list[tuple[ModelVersion, Model, Candidate]]:
    dialect = dialect_of(session)
    columns: dict[str, Any] = {
        "name": Model.name,
        "run_id": Candidate.eid,
        "source_path": ModelVersion.source,
        "version_number": ModelVersion.sequence,
        "creation_timestamp": ModelVersion.creation_time,
        "last_updated_timestamp": ModelVersion.last_update_time,
    }
    statement = (
        select(ModelVersion, Model, Candidate)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(Candidate, Candidate.id == ModelVersion.candidate_id)
        .where(ModelVersion.project_id == project_id, Model.project_id == project_id)
    )
    for clause in clauses:
        if clause.kind == "attribute":
            statement = statement.where(compare(columns[clause.key], clause.operator, clause.value, dialect))
        else:
            owner = ModelVersionTag.version_id == ModelVersion.id
            statement = statement.where(
                key_value_condition(ModelVersionTag, owner, clause, dialect, missing_is_unequal=True)
            )
    order = [columns[o.key] if o.ascending else columns[o.key].desc() for o in orders]
    statement = statement.order_by(*order, Model.name, ModelVersion.sequence.desc()).offset(offset).limit(limit)
    with planned_each_time(session):  # the best plan depends on the values compared
        return [(version, model, candidate) for version, model, candidate in session.execute(statement)]
