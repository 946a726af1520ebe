"""MLflow ``metrics/get-history``: one metric's full history, paged by (step, timestamp, id)."""

from __future__ import annotations

import orjson
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from compat import candidates
from compat.mlflow import page_tokens, presenters
from compat.mlflow import params as p
from compat.mlflow.endpoint import Endpoint, Params
from compat.tables import CandidateMetric
from gateway.db import fetch_in_chunks
from gateway.errors import InvalidParameter
from gateway.http import EncodedJSON
from tenants.authorization import Permission, ProjectContext

MAX_HISTORY_PAGE = 25_000  # MLflow's default and maximum page for metric history
PRESENT_CHUNK = 1000


def get_history(session: Session, project: ProjectContext, params: Params) -> EncodedJSON:
    run_id = p.run_id(params)
    key = p.required_str(params, "metric_key")
    limit = p.optional_int(params, "max_results", minimum=1) or MAX_HISTORY_PAGE
    if limit > MAX_HISTORY_PAGE:
        raise InvalidParameter(f"max_results must be at most {MAX_HISTORY_PAGE}, got {limit}.")
    after = page_tokens.decode("history", params.get("page_token"), {"step": int, "ts": int, "id": int})
    candidate = candidates.get_candidate(session, project.project_id, run_id)
    point = CandidateMetric
    # Rows, not entities: a history is tens of thousands of points (bench metric_history, RSS).
    query = select(point.key, point.value, point.is_nan, point.timestamp, point.step, point.id).where(
        point.candidate_id == candidate.id, point.key == key
    )
    if after is not None:
        position = (after["step"], after["ts"], after["id"])
        query = query.where(tuple_(point.step, point.timestamp, point.id) > position)
    query = query.order_by(point.step, point.timestamp, point.id).limit(limit + 1)
    # Encoded a thousand points at a time and sent as those pieces: the whole history never exists
    # as rows and dicts at once (a 10 000-point answer otherwise left each worker ~15 MB larger), nor
    # as one joined body (gateway.http.EncodedJSON), nor as one database result (fetch_in_chunks).
    pieces = [b'{"metrics":[']
    taken, last, more = 0, None, False
    for fetched in fetch_in_chunks(session, query, PRESENT_CHUNK):
        part = fetched[: limit - taken]
        more = more or len(part) < len(fetched)  # the one row past the page: there is a next page
        if part:
            encoded = orjson.dumps(presenters.latest_metrics([row[:5] for row in part]))
            pieces.append((b"," if taken else b"") + encoded[1:-1])  # the points, without their brackets
            taken, last = taken + len(part), part[-1]
    tail = b"]"
    if more and last is not None:
        *_, timestamp, step, point_id = last
        position_of_last = {"step": step, "ts": timestamp, "id": point_id}
        tail += b',"next_page_token":' + orjson.dumps(page_tokens.encode("history", position_of_last))
    pieces.append(tail + b"}")
    return EncodedJSON(pieces)


ENDPOINTS = [
    Endpoint("GET", "/api/2.0/mlflow/metrics/get-history", get_history, Permission.READ_MODEL_EXPERIMENTS),
]
