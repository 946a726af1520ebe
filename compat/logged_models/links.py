"""Which logged models a run used (``inputs.model_inputs``) and produced (``outputs.model_outputs``):
the read side, kept apart from ``compat.logged_models.runs`` so ``compat.candidates`` can load it
with the rest of a run's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compat import repository
from compat.logged_models.tables import CandidateModelLink, LoggedModel
from gateway.db import Prepared


@dataclass(frozen=True, slots=True)
class RunModels:
    inputs: list[str]
    """``model_id``s the run used."""
    outputs: list[tuple[str, int]]
    """``(model_id, step)`` the run produced."""


_MODELS_OF_RUNS = Prepared(
    lambda dialect: (
        select(CandidateModelLink.candidate_id, CandidateModelLink.direction, CandidateModelLink.step, LoggedModel.eid)
        .join(LoggedModel, LoggedModel.id == CandidateModelLink.logged_model_id)
        .where(repository.ids_param(dialect, CandidateModelLink.candidate_id))
        .order_by(CandidateModelLink.step, LoggedModel.eid)
    )
)


def models_of_runs(session: Session, candidate_ids: Sequence[int]) -> dict[int, RunModels]:
    found = {i: RunModels([], []) for i in candidate_ids}
    if not candidate_ids:
        return found
    rows = session.execute(_MODELS_OF_RUNS(session), {"ids": list(candidate_ids)})
    for candidate_id, direction, step, eid in rows:
        if direction == "output":
            found[candidate_id].outputs.append((eid, step))
        else:
            found[candidate_id].inputs.append(eid)
    return found
