"""Datasets logged as run inputs (``runs/log-inputs``): stored, shown in the run, searchable.

Logging the same dataset (name and digest) to a run again updates it instead of adding a row, as
MLflow does. The ``mlflow.data.context`` input tag is copied to a column for ``datasets.context``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from compat import repository
from compat.tables import Candidate, CandidateInput
from gateway.db import Prepared, upsert_insert

CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True, slots=True)
class DatasetInput:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    tags: Sequence[tuple[str, str]]


def log_inputs(session: Session, candidate: Candidate, inputs: Sequence[DatasetInput]) -> None:
    latest = {(i.name, i.digest): i for i in inputs}  # the last of a repeated dataset wins
    if not latest:
        return
    rows = [
        {
            "candidate_id": candidate.id,
            "name": i.name,
            "digest": i.digest,
            "source_type": i.source_type,
            "source": i.source,
            "schema": i.schema,
            "profile": i.profile,
            "context": dict(i.tags).get(CONTEXT_TAG),
            "tags": orjson.dumps([list(tag) for tag in i.tags]).decode(),
        }
        for i in latest.values()
    ]
    statement = upsert_insert(session, CandidateInput).values(rows)
    updated = ("source_type", "source", "schema", "profile", "context", "tags")
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["candidate_id", "name", "digest"],
            set_={column: statement.excluded[column] for column in updated},
        )
    )


_INPUTS_OF = Prepared(
    lambda dialect: (
        select(CandidateInput)
        .where(repository.ids_param(dialect, CandidateInput.candidate_id))
        .order_by(CandidateInput.id)
    )
)


def inputs_of(session: Session, candidate_ids: Sequence[int]) -> dict[int, list[CandidateInput]]:
    found: dict[int, list[CandidateInput]] = {i: [] for i in candidate_ids}
    if candidate_ids:
        for row in session.scalars(_INPUTS_OF(session), {"ids": list(candidate_ids)}):
            found[row.candidate_id].append(row)
    return found


def tags_of(row: CandidateInput) -> list[tuple[str, str]]:
    return [(key, value) for key, value in orjson.loads(row.tags)]
