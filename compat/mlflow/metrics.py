"""MLflow ``metrics/get-history``: one metric's full history, paged by (step, timestamp, id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from compat import candidates
from compat.mlflow import page_tokens, presenters
from compat.mlflow import params as p
from compat.mlflow.endpoint import Endpoint, Params
from compat.tables import CandidateMetric
from gateway.errors import InvalidParameter
from tenants.authorization import Permission, ProjectContext

MAX_HISTORY_PAGE = 25_000  # MLflow's default and maximum page for metric history


def get_history(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    run_id = p.run_id(params)
    key = p.required_str(params, "metric_key")
    limit = p.optional_int(params, "max_results", minimum=1) or MAX_HISTORY_PAGE
    if limit > MAX_HISTORY_PAGE:
        raise InvalidParameter(f"max_results must be at most {MAX_HISTORY_PAGE}, got {limit}.")
    after = page_tokens.decode("history", params.get("page_token"), {"step": int, "ts": int, "id": int})
    candidate = candidates.get_candidate(session, project.project_id, run_id)
    query = select(CandidateMetric).where(CandidateMetric.candidate_id == candidate.id, CandidateMetric.key == key)
    if after is not None:
        position = (after["step"], after["ts"], after["id"])
        query = query.where(tuple_(CandidateMetric.step, CandidateMetric.timestamp, CandidateMetric.id) > position)
    order = (CandidateMetric.step, CandidateMetric.timestamp, CandidateMetric.id)
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    answer: dict[str, Any] = {
        "metrics": [presenters.metric(m.key, m.value, m.is_nan, m.timestamp, m.step) for m in rows[:limit]]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        answer["next_page_token"] = page_tokens.encode(
            "history", {"step": last.step, "ts": last.timestamp, "id": last.id}
        )
    return answer


ENDPOINTS = [
    Endpoint("GET", "/api/2.0/mlflow/metrics/get-history", get_history, Permission.READ_MODEL_EXPERIMENTS),
]
