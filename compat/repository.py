"""All SQL of the ML domain. Every query takes the project explicitly: tenant scoping lives here,
so a row of another project is never returned, only "not found".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from compat.registry.tables import Model, ModelVersion
from compat.tables import Experiment, ExperimentTag, ProjectCounter
from gateway.db import Base, upsert_insert


def next_iid(session: Session, project_id: int, kind: str) -> int:
    """Bump and return a per-project counter; one upsert, serialised by the row (or SQLite's) lock."""
    statement = (
        upsert_insert(session, ProjectCounter)
        .values(project_id=project_id, kind=kind, value=1)
        .on_conflict_do_update(
            index_elements=[ProjectCounter.project_id, ProjectCounter.kind],
            set_={"value": ProjectCounter.value + 1},
        )
        .returning(ProjectCounter.value)
    )
    value: int = session.execute(statement).scalar_one()
    return value


def experiments_of(project_id: int) -> Select[Experiment]:
    return select(Experiment).where(Experiment.project_id == project_id)


def experiment_by_iid(session: Session, project_id: int, iid: int) -> Experiment | None:
    return session.scalar(experiments_of(project_id).where(Experiment.iid == iid))


def experiment_by_name(session: Session, project_id: int, name: str) -> Experiment | None:
    return session.scalar(experiments_of(project_id).where(Experiment.name == name))


def experiment_tags(session: Session, experiment_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    return key_values_by_parent(session, ExperimentTag, "experiment_id", experiment_ids)


def ids_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)``; on PostgreSQL ``column = ANY(:ids)``, one array parameter instead of one per id.

    A page of runs asks for its children by a hundred ids, in four queries: rendering, sending and
    parsing a hundred cast placeholders each time cost more than the lookups (bench ``search_runs``).
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(BigInteger)))  # type: ignore[no-any-return]
    return column.in_(list(ids))  # type: ignore[no-any-return]


def key_values_by_parent(
    session: Session, model: type[Base], parent: str, parent_ids: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """``parent id -> [(key, value)]`` sorted by key, for many parents in one query (tags of anything)."""
    found: dict[int, list[tuple[str, str]]] = {i: [] for i in parent_ids}
    if parent_ids:
        parent_column = getattr(model, parent)
        rows = session.execute(
            select(parent_column, model.key, model.value)  # type: ignore[attr-defined]
            .where(ids_in(session, parent_column, parent_ids))
            .order_by(model.key)  # type: ignore[attr-defined]
        )
        for parent_id, key, value in rows:
            found[parent_id].append((key, value))
    return found


def upsert_key_values(
    session: Session, model: type[Base], parent: str, parent_id: int, pairs: Sequence[tuple[str, str]]
) -> None:
    """Insert or overwrite ``(parent, key) -> value`` rows (experiment tags, run tags) in one statement."""
    if not pairs:
        return
    statement = upsert_insert(session, model).values([{parent: parent_id, "key": k, "value": v} for k, v in pairs])
    session.execute(
        statement.on_conflict_do_update(index_elements=[parent, "key"], set_={"value": statement.excluded.value})
    )


def model_of_experiment(session: Session, experiment_id: int) -> str | None:
    """The name of the model whose ``[model]`` experiment this is, if any."""
    return session.scalar(select(Model.name).where(Model.experiment_id == experiment_id))


def version_of_candidate(session: Session, candidate_id: int) -> tuple[str, str] | None:
    """``(model name, SemVer)`` of the model version whose run this candidate is, if any."""
    row = session.execute(
        select(Model.name, ModelVersion.version)
        .join(ModelVersion, ModelVersion.model_id == Model.id)
        .where(ModelVersion.candidate_id == candidate_id)
    ).first()
    return None if row is None else (row[0], row[1])
