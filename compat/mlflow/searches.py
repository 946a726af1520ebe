"""MLflow ``runs/search`` and ``experiments/search``: parse the request, compile, present one page.

Both are read-only, so a ``read_api`` token may call them even though MLflow makes them POSTs
(GitLab refuses it, K15). Page tokens are offsets bound to the search they came from: a token
replayed with another filter, order or experiment list is refused instead of paging wrongly.
"""

from __future__ import annotations

from typing import Any

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
DEFAULT_MAX_RESULTS = 1000  # MLflow's SEARCH_MAX_RESULTS_DEFAULT
MAX_RESULTS_LIMIT = 50_000  # MLflow's SEARCH_MAX_RESULTS_THRESHOLD


def search_runs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    experiment_iids = experiment_ids(params)
    filter_text = p.optional_str(params, "filter") or ""
    order_texts = p.order_by(params)
    view_type = p.view_type(params, "run_view_type")
    limit = p.max_results(params, default=DEFAULT_MAX_RESULTS, limit=MAX_RESULTS_LIMIT)
    query = run_search.RunQuery(
        experiment_iids=experiment_iids,
        clauses=[RUNS.clause(c) for c in parse_filter(filter_text)],
        orders=_run_orders(order_texts),
        view_type=view_type,
    )
    search = page_tokens.fingerprint(sorted(experiment_iids), filter_text, order_texts, view_type)
    offset = page_tokens.offset_of("runs", params.get("page_token"), search)
    rows = run_search.search_runs(session, project.project_id, query, offset=offset, limit=limit + 1)
    page = rows[:limit]
    data = candidates.run_data(session, [candidate for candidate, _ in page])
    answer: dict[str, Any] = {"runs": [presenters.run(c, iid, data[c.id]) for c, iid in page]}
    if len(rows) > limit:
        answer["next_page_token"] = page_tokens.offset_token("runs", offset + limit, search)
    return answer


def search_experiments(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    filter_text = p.optional_str(params, "filter") or ""
    order_texts = p.order_by(params)
    view_type = p.view_type(params, "view_type")
    limit = p.max_results(params, default=DEFAULT_MAX_RESULTS, limit=MAX_RESULTS_LIMIT)
    clauses = [EXPERIMENTS.clause(c) for c in parse_filter(filter_text)]
    orders = []
    for text in order_texts:
        order = parse_order_by(text)
        kind, key = EXPERIMENTS.order_key(order)
        if kind != "attribute":
            raise InvalidParameter(f"Invalid order_by clause {text!r}: experiments are ordered by attributes only.")
        orders.append(experiment_search.ExperimentOrder(key, order.ascending))
    no_duplicates(order_texts, [o.key for o in orders])
    search = page_tokens.fingerprint(filter_text, order_texts, view_type)
    offset = page_tokens.offset_of("experiments", params.get("page_token"), search)
    rows = experiment_search.search_experiments(
        session, project.project_id, clauses=clauses, orders=orders, view_type=view_type, offset=offset, limit=limit + 1
    )
    page = rows[:limit]
    tags = experiments.tags_of(session, page)
    answer: dict[str, Any] = {"experiments": [presenters.experiment(row, tags[row.id]) for row in page]}
    if len(rows) > limit:
        answer["next_page_token"] = page_tokens.offset_token("experiments", offset + limit, search)
    return answer


# ---------------------------------------------------------------------------------------- parsing
def experiment_ids(params: Params) -> list[int]:
    raw = params.get("experiment_ids")
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        raw = [raw]  # a query string with one id, or a hand-written client
    if not isinstance(raw, list) or not raw:
        raise InvalidParameter(
            "Missing value for required parameter 'experiment_ids': list at least one experiment id."
        )
    return sorted({p.entity_id({"experiment_ids": value}, "experiment_ids") for value in raw})


def _run_orders(order_texts: list[str]) -> list[run_search.RunOrder]:
    orders = []
    for text in order_texts:
        order = parse_order_by(text)
        kind, key = RUNS.order_key(order)
        orders.append(run_search.RunOrder(kind, key, order.ascending))
    no_duplicates(order_texts, [(o.kind, o.key) for o in orders])
    return orders


def no_duplicates(order_texts: list[str], keys: list[Any]) -> None:
    if len(set(keys)) != len(keys):
        raise InvalidParameter(f"Invalid order_by {order_texts!r}: a field appears more than once.")


ENDPOINTS = [
    Endpoint("POST", "/api/2.0/mlflow/runs/search", search_runs, READ),
    Endpoint("POST", "/api/2.0/mlflow/experiments/search", search_experiments, READ),
    Endpoint("GET", "/api/2.0/mlflow/experiments/search", search_experiments, READ),
]
