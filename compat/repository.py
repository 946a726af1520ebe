"""All SQL of the ML domain. Every query takes the project explicitly: tenant scoping lives here,
so a row of another project is never returned, only "not found".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Engine, Select, any_, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from compat.registry.tables import Model, ModelVersion
from compat.tables import Experiment, ExperimentTag, ProjectCounter
from gateway.db import Base, Prepared, table_of, table_upsert


def _bump_counter(dialect: str) -> Any:
    statement = table_upsert(dialect, ProjectCounter)
    counters = statement.table.c
    return (
        statement.values(project_id=bindparam("project_id"), kind=bindparam("kind"), value=1)
        .on_conflict_do_update(index_elements=[counters.project_id, counters.kind], set_={"value": counters.value + 1})
        .returning(counters.value)
    )


_BUMP_COUNTER = Prepared(_bump_counter)


def next_iid(session: Session, project_id: int, kind: str, *, skippable: bool = False) -> int:
    """Bump and return a per-project counter (one upsert, serialised by the counter row's lock).

    By default inside the caller's transaction: the row stays locked until the caller commits, and a
    failed transaction takes its number back, so ids have no gaps. ``skippable`` (run iids, on
    PostgreSQL): in a short transaction of its own, so the row is locked for one statement and
    concurrent run creations in a project no longer queue behind each other's whole transaction.
    That commit does not wait for the WAL flush: the caller's own commit, later in the WAL, flushes
    it too, so an iid in use is never lost in a crash. The cost, as with a sequence: a number is
    skipped when the caller's transaction fails after taking it. On SQLite the caller's write lock
    serialises all writers anyway, so it always bumps in place.
    """
    parameters = {"project_id": project_id, "kind": kind}
    bind = session.get_bind()
    if not skippable or bind.dialect.name != "postgresql" or not isinstance(bind, Engine):
        value: int = session.execute(_BUMP_COUNTER(session), parameters).scalar_one()
        return value
    with bind.connect() as connection:
        connection.execute(_ASYNCHRONOUS_COMMIT)
        value = connection.execute(_BUMP_COUNTER.for_dialect("postgresql"), parameters).scalar_one()
        connection.commit()
    return value


_ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit = off")


def experiments_of(project_id: int) -> Select[Experiment]:
    return select(Experiment).where(Experiment.project_id == project_id)


_EXPERIMENT_BY_IID = select(Experiment).where(
    Experiment.project_id == bindparam("project_id"), Experiment.iid == bindparam("iid")
)


def experiment_by_iid(session: Session, project_id: int, iid: int) -> Experiment | None:
    return session.scalar(_EXPERIMENT_BY_IID, {"project_id": project_id, "iid": iid})


def experiment_by_name(session: Session, project_id: int, name: str) -> Experiment | None:
    return session.scalar(experiments_of(project_id).where(Experiment.name == name))


def experiment_tags(session: Session, experiment_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    return key_values_by_parent(session, ExperimentTag, "experiment_id", experiment_ids)


def ids_param(dialect: str, column: Any) -> ColumnElement[bool]:
    """``column IN (:ids)`` for a ``Prepared`` statement, whose ``ids`` parameter (a list) comes later.

    On PostgreSQL ``column = ANY(:ids)``, one array parameter instead of one per id: a page of runs
    asks for its children by a hundred ids, in four queries, and rendering, sending and parsing a
    hundred cast placeholders each time cost more than the lookups (bench ``search_runs``).
    """
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))  # type: ignore[no-any-return]
    return column.in_(bindparam("ids", expanding=True))  # type: ignore[no-any-return]


@functools.cache
def _key_value_read(model: type[Base], parent: str) -> Prepared[Any]:
    """``(parent id, key, value)`` of many parents of a key/value table, one statement per table."""
    table = table_of(model)
    parent_column = table.c[parent]
    columns = (parent_column, table.c.key, table.c.value)
    return Prepared(lambda dialect: select(*columns).where(ids_param(dialect, parent_column)).order_by(table.c.key))


@functools.cache
def _key_value_upsert(model: type[Base], parent: str) -> Prepared[Any]:
    def build(dialect: str) -> Any:
        statement = table_upsert(dialect, model)
        return statement.on_conflict_do_update(index_elements=[parent, "key"], set_={"value": statement.excluded.value})

    return Prepared(build)


def key_values_by_parent(
    session: Session, model: type[Base], parent: str, parent_ids: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """``parent id -> [(key, value)]`` sorted by key, for many parents in one query (tags of anything)."""
    found: dict[int, list[tuple[str, str]]] = {i: [] for i in parent_ids}
    if parent_ids:
        rows = session.execute(_key_value_read(model, parent)(session), {"ids": list(parent_ids)})
        for parent_id, key, value in rows:
            found[parent_id].append((key, value))
    return found


def upsert_key_values(
    session: Session, model: type[Base], parent: str, parent_id: int, pairs: Sequence[tuple[str, str]]
) -> None:
    """Insert or overwrite ``(parent, key) -> value`` rows (experiment tags, run tags) in one statement."""
    if not pairs:
        return
    rows = [{parent: parent_id, "key": k, "value": v} for k, v in pairs]
    session.execute(_key_value_upsert(model, parent)(session), rows)


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
