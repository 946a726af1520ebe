"""MLflow 3 ``logged-models/*`` endpoints, ``runs/outputs`` and 2.7.1's ``runs/log-model``
(parse → one service call → present).

Paths carry the ``model_id`` (``logged-models/{model_id}``); the body's own ``model_id`` (the client
sends it too) is ignored in favour of the path's. Reads need read access to the project's
experiments, writes the write permission; ``logged-models/search`` is a read even though it is a POST.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from compat import candidates
from compat.logged_models import models as service
from compat.logged_models import runs as run_links
from compat.logged_models import search
from compat.logged_models.tables import LoggedModel
from compat.mlflow import logged_model_presenters as present
from compat.mlflow import page_tokens
from compat.mlflow import params as p
from compat.mlflow.endpoint import Endpoint, Params
from compat.mlflow.runs import experiment_for_new_run
from compat.mlflow.searches import experiment_ids, no_duplicates
from compat.search.grammar import OrderBy, parse_filter, parse_order_by, split_identifier
from gateway.errors import InvalidParameter
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_EXPERIMENTS
WRITE = Permission.WRITE_MODEL_EXPERIMENTS
DEFAULT_MAX_RESULTS = 100  # MLflow's SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
MAX_RESULTS_LIMIT = 50_000
MAX_PARAMS_PER_REQUEST = 100
MAX_TAGS_PER_REQUEST = 100
MAX_OUTPUTS_PER_REQUEST = 1000


def _model(session: Session, project: ProjectContext, params: Params) -> LoggedModel:
    return service.find_model(session, project.project_id, p.required_str(params, "model_id"))


def _present(session: Session, model: LoggedModel) -> dict[str, Any]:
    return {"model": present.logged_model(service.view(session, model))}


def _pairs(params: Params, name: str, *, what: str, limit: int, most: int) -> list[tuple[str, str]]:
    pairs = p.key_values(params, name, what=what, limit=limit)
    if len(pairs) > most:
        raise InvalidParameter(f"A request can contain at most {most} {name}; got {len(pairs)}. Split them up.")
    return pairs


def create(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    iid = p.entity_id(params, "experiment_id")
    name = p.optional_str(params, "name") or None
    model_type = p.optional_str(params, "model_type") or None
    source_run_id = p.optional_str(params, "source_run_id") or None
    model_params = _pairs(params, "params", what="param", limit=p.MAX_PARAM_VALUE_LENGTH, most=MAX_PARAMS_PER_REQUEST)
    tags = _pairs(params, "tags", what="tag", limit=p.MAX_TAG_VALUE_LENGTH, most=MAX_TAGS_PER_REQUEST)
    source_run = candidates.get_candidate(session, project.project_id, source_run_id) if source_run_id else None
    model = service.create_logged_model(
        session,
        experiment_for_new_run(session, project, iid),
        name=name,
        model_type=model_type,
        source_run=source_run,
        user_id=project.principal.user_id,
        params=model_params,
        tags=tags,
    )
    return _present(session, model)


def get(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    allow_deleted = str(params.get("allow_deleted", "false")).lower() == "true"
    model_id = p.required_str(params, "model_id")
    return _present(session, service.find_model(session, project.project_id, model_id, allow_deleted=allow_deleted))


def finalize(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    status = _status(params.get("status"))
    status_message = p.optional_str(params, "status_message")
    model = _model(session, project, params)
    service.finalize(session, model, status, status_message)
    return _present(session, model)


def delete(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    service.delete_model(session, _model(session, project, params))
    return {}


def set_tags(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    tags = _pairs(params, "tags", what="tag", limit=p.MAX_TAG_VALUE_LENGTH, most=MAX_TAGS_PER_REQUEST)
    model = _model(session, project, params)
    service.set_tags(session, model, tags)
    return _present(session, model)


def delete_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.required_str(params, "tag_key")
    service.delete_tag(session, _model(session, project, params), key)
    return {}


def log_params(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    pairs = _pairs(params, "params", what="param", limit=p.MAX_PARAM_VALUE_LENGTH, most=MAX_PARAMS_PER_REQUEST)
    service.log_params(session, _model(session, project, params), pairs)
    return {}


def search_models(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    iids = experiment_ids(params)
    filter_text = p.optional_str(params, "filter") or ""
    datasets = _datasets(params)
    orders = _orders(params)
    limit = p.max_results(params, default=DEFAULT_MAX_RESULTS, limit=MAX_RESULTS_LIMIT)
    query = search.ModelQuery(
        experiment_iids=iids,
        clauses=[search.VOCABULARY.clause(c) for c in parse_filter(filter_text)],
        datasets=datasets,
        orders=orders,
    )
    fingerprint = page_tokens.fingerprint(iids, filter_text, [repr(d) for d in datasets], [repr(o) for o in orders])
    offset = page_tokens.offset_of("logged-models", params.get("page_token"), fingerprint)
    rows = search.search_logged_models(session, project.project_id, query, offset=offset, limit=limit + 1)
    page = rows[:limit]
    answer: dict[str, Any] = {"models": [present.logged_model(v) for v in service.views(session, page)]}
    if len(rows) > limit:
        answer["next_page_token"] = page_tokens.offset_token("logged-models", offset + limit, fingerprint)
    return answer


def log_outputs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    raw = params.get("models")
    if not isinstance(raw, list):
        raise InvalidParameter("Missing value for required parameter 'models': a list of {model_id, step} objects.")
    if len(raw) > MAX_OUTPUTS_PER_REQUEST:
        raise InvalidParameter(f"A request can contain at most {MAX_OUTPUTS_PER_REQUEST} model outputs.")
    outputs = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidParameter(f"Invalid entry {item!r} in 'models': expected an object with model_id and step.")
        outputs.append((p.required_str(item, "model_id"), p.optional_int(item, "step") or 0))
    run_links.log_outputs(session, candidates.get_candidate(session, project.project_id, p.run_id(params)), outputs)
    return {}


def log_model(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """2.7.1's ``log_model`` summary goes into the run's ``mlflow.log-model.history`` tag."""
    model_json = p.required_str(params, "model_json")
    candidate = candidates.get_candidate(session, project.project_id, p.run_id(params))
    run_links.record_model_history(session, candidate, model_json)
    return {}


# ---------------------------------------------------------------------------------------- parsing
def _status(raw: object) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in present.STATUS_NUMBERS:
        return present.STATUS_NUMBERS[raw]
    if isinstance(raw, str):
        text = raw.strip()
        if text.isdigit() and int(text) in present.STATUS_NUMBERS:
            return present.STATUS_NUMBERS[int(text)]
        if text in present.STATUS_OF_WIRE:
            return present.STATUS_OF_WIRE[text]
        if text in present.WIRE_STATUS:
            return text
    if raw is None or raw == "":
        raise InvalidParameter("Missing value for required parameter 'status'.")
    raise InvalidParameter(
        f"Invalid value {raw!r} for parameter 'status': use one of {', '.join(present.STATUS_OF_WIRE)}."
    )


def _datasets(params: Params) -> list[search.Dataset]:
    raw = params.get("datasets")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidParameter("Invalid value for parameter 'datasets': expected a list of {dataset_name} objects.")
    datasets = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidParameter(f"Invalid entry {item!r} in 'datasets': expected an object.")
        name = p.optional_str(item, "dataset_name")
        if not name:
            raise InvalidParameter("`dataset_name` in the `datasets` clause must be specified.")
        datasets.append(search.Dataset(name, p.optional_str(item, "dataset_digest") or None))
    return datasets


def _orders(params: Params) -> list[search.ModelOrder]:
    """MLflow sends ``[{field_name, ascending, dataset_name, dataset_digest}]``; ``"name DESC"`` strings work too."""
    raw = params.get("order_by")
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list):
        raw = [raw]
    orders = []
    for item in raw:
        if isinstance(item, str):
            parsed = parse_order_by(item)
            identifier, ascending, dataset = parsed.identifier, parsed.ascending, None
        elif isinstance(item, dict):
            identifier = split_identifier(p.required_str(item, "field_name"))
            ascending = item.get("ascending", True)
            if not isinstance(ascending, bool):
                raise InvalidParameter(
                    f"Invalid value {ascending!r} for 'ascending' in 'order_by': expected true or false."
                )
            dataset_name = p.optional_str(item, "dataset_name") or None
            digest = p.optional_str(item, "dataset_digest") or None
            if digest is not None and dataset_name is None:
                raise InvalidParameter("'dataset_digest' in 'order_by' needs 'dataset_name' too.")
            dataset = search.Dataset(dataset_name, digest) if dataset_name is not None else None
        else:
            raise InvalidParameter(f"Invalid entry {item!r} in 'order_by': expected an object with field_name.")
        kind, key = search.VOCABULARY.order_key(OrderBy(identifier, ascending))
        if kind not in ("attribute", "metric"):
            raise InvalidParameter(
                f"Invalid order by field name: {kind}s.{key}. Only metrics and attributes are supported."
            )
        if dataset is not None and kind != "metric":
            raise InvalidParameter("A dataset in 'order_by' is only allowed for metrics.")
        orders.append(search.ModelOrder(kind, key, ascending, dataset))
    no_duplicates([repr(item) for item in raw], [(o.kind, o.key) for o in orders])
    return orders


BASE = "/api/2.0/mlflow/logged-models"
ENDPOINTS = [
    Endpoint("POST", BASE, create, WRITE),
    Endpoint("POST", f"{BASE}/search", search_models, READ),
    Endpoint("GET", BASE + "/{model_id}", get, READ),
    Endpoint("PATCH", BASE + "/{model_id}", finalize, WRITE),
    Endpoint("DELETE", BASE + "/{model_id}", delete, WRITE),
    Endpoint("PATCH", BASE + "/{model_id}/tags", set_tags, WRITE),
    Endpoint("DELETE", BASE + "/{model_id}/tags/{tag_key:path}", delete_tag, WRITE),
    Endpoint("POST", BASE + "/{model_id}/params", log_params, WRITE),
    Endpoint("POST", "/api/2.0/mlflow/runs/outputs", log_outputs, WRITE),
    Endpoint("POST", "/api/2.0/mlflow/runs/log-model", log_model, WRITE),
]
