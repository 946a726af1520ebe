"""MLflow ``runs/search`` and ``experiments/search``: parse the request, compile, present one page.

Both are read-only, so a ``read_api`` token may call them even though MLflow makes them POSTs
(GitLab refuses it, K15). Page tokens are offsets bound to the search they came from: a token
replayed with another filter, order or experiment list is refused instead of paging wrongly.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy.orm import Session

from compat import candidates, experiments
from compat.mlflow import page_tokens, presenters
from compat.mlflow import params as p
from compat.mlflow.endpoint import Endpoint, Params
from compat.search import experiments as experiment_search
from compat.search import runs as run_search
from compat.search.grammar import parse_filter, parse_order_by
from compat.search.vocabulary import EXPERIMENTS, RUNS
from gateway.errors import InvalidParameter
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_EXPERIMENTS
VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")
DEFAULT_MAX_RESULTS = 1000  # MLflow's SEARCH_MAX_RESULTS_DEFAULT
MAX_RESULTS_LIMIT = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD


def search_runs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    experiment_iids = _experiment_ids(params)
    filter_text = p.optional_str(params, "filter") or ""
    order_texts = _order_by(params)
    view_type = _view_type(params, "run_view_type")
    limit = _max_results(params)
    query = run_search.RunQuery(
        experiment_iids=experiment_iids,
        clauses=[RUNS.clause(c) for c in parse_filter(filter_text)],
        orders=_run_orders(order_texts),
        view_type=view_type,
    )
    fingerprint = _fingerprint(sorted(experiment_iids), filter_text, order_texts, view_type)
    offset = _offset(params, "runs", fingerprint)
    rows = run_search.search_runs(session, project.project_id, query, offset=offset, limit=limit + 1)
    page = rows[:limit]
    data = candidates.run_data(session, [candidate for candidate, _ in page])
    answer: dict[str, Any] = {"runs": [presenters.run(c, iid, data[c.id]) for c, iid in page]}
    if len(rows) > limit:
        answer["next_page_token"] = page_tokens.encode("runs", {"offset": offset + limit, "q": fingerprint})
    return answer


def search_experiments(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    filter_text = p.optional_str(params, "filter") or ""
    order_texts = _order_by(params)
    view_type = _view_type(params, "view_type")
    limit = _max_results(params)
    clauses = [EXPERIMENTS.clause(c) for c in parse_filter(filter_text)]
    orders = []
    for text in order_texts:
        kind, key = EXPERIMENTS.order_key(parse_order_by(text))
        if kind != "attribute":
            raise InvalidParameter(f"Invalid order_by clause {text!r}: experiments are ordered by attributes only.")
        orders.append(experiment_search.ExperimentOrder(key, parse_order_by(text).ascending))
    _no_duplicates(order_texts, [o.key for o in orders])
    fingerprint = _fingerprint(filter_text, order_texts, view_type)
    offset = _offset(params, "experiments", fingerprint)
    rows = experiment_search.search_experiments(
        session, project.project_id, clauses=clauses, orders=orders, view_type=view_type, offset=offset, limit=limit + 1
    )
    page = rows[:limit]
    tags = experiments.tags_of(session, page)
    answer: dict[str, Any] = {"experiments": [presenters.experiment(row, tags[row.id]) for row in page]}
    if len(rows) > limit:
        answer["next_page_token"] = page_tokens.encode("experiments", {"offset": offset + limit, "q": fingerprint})
    return answer


# ---------------------------------------------------------------------------------------- parsing
def _experiment_ids(params: Params) -> list[int]:
    raw = params.get("experiment_ids")
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        raw = [raw]  # a query string with one id, or a hand-written client
    if not isinstance(raw, list) or not raw:
        raise InvalidParameter(
            "Missing value for required parameter 'experiment_ids': list at least one experiment id."
        )
    return sorted({p.entity_id({"experiment_ids": value}, "experiment_ids") for value in raw})


def _order_by(params: Params) -> list[str]:
    raw = params.get("order_by")
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [raw]  # GitLab's form: one clause as a string
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InvalidParameter(f"Invalid value {raw!r} for parameter 'order_by': expected a list of strings.")
    return raw


def _run_orders(order_texts: list[str]) -> list[run_search.RunOrder]:
    orders = []
    for text in order_texts:
        order = parse_order_by(text)
        kind, key = RUNS.order_key(order)
        orders.append(run_search.RunOrder(kind, key, order.ascending))
    _no_duplicates(order_texts, [(o.kind, o.key) for o in orders])
    return orders


def _no_duplicates(order_texts: list[str], keys: list[Any]) -> None:
    if len(set(keys)) != len(keys):
        raise InvalidParameter(f"Invalid order_by {order_texts!r}: a field appears more than once.")


def _view_type(params: Params, name: str) -> str:
    value = p.optional_str(params, name) or "ACTIVE_ONLY"
    if value not in VIEW_TYPES:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{name}': use one of {', '.join(VIEW_TYPES)}.")
    return value


def _max_results(params: Params) -> int:
    limit = p.optional_int(params, "max_results")
    if limit is None:
        return DEFAULT_MAX_RESULTS
    if not 1 <= limit <= MAX_RESULTS_LIMIT:
        raise InvalidParameter(
            f"Invalid value {limit} for parameter 'max_results': it must be between 1 and {MAX_RESULTS_LIMIT}."
        )
    return limit


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


def _offset(params: Params, kind: str, fingerprint: str) -> int:
    position = page_tokens.decode(kind, params.get("page_token"), {"offset": int, "q": str})
    if position is None:
        return 0
    if position["q"] != fingerprint or position["offset"] < 0:
        raise InvalidParameter(
            "Invalid page_token: it belongs to a search with another filter, order or experiment list. "
            "Repeat the same search to page through it, or start again without a page_token."
        )
    return int(position["offset"])


ENDPOINTS = [
    Endpoint("POST", "/api/2.0/mlflow/runs/search", search_runs, READ),
    Endpoint("POST", "/api/2.0/mlflow/experiments/search", search_experiments, READ),
    Endpoint("GET", "/api/2.0/mlflow/experiments/search", search_experiments, READ),
]
