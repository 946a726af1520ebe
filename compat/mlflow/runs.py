"""MLflow ``runs/*`` endpoints (parse → one service call → present)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from compat import candidates as service
from compat import experiments, run_inputs
from compat.logged_models import runs as logged_model_runs
from compat.metrics import MetricBatch, MetricPoint
from compat.mlflow import params as p
from compat.mlflow import presenters
from compat.mlflow.endpoint import Endpoint, Params, listed, one
from compat.tables import RUN_STATUSES, Candidate, Experiment
from gateway.errors import InvalidParameter, NotFound
from tenants.authorization import Permission, ProjectContext

READ = Permission.READ_MODEL_EXPERIMENTS
WRITE = Permission.WRITE_MODEL_EXPERIMENTS
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_TOTAL = 1000
DEFAULT_EXPERIMENT_IID = 0
MAX_BATCH_DATASETS = 1000
MAX_INPUT_TAG_KEY = 255
MAX_INPUT_TAG_VALUE = 500


def _candidate(session: Session, project: ProjectContext, params: Params) -> Candidate:
    return service.get_candidate(session, project.project_id, p.run_id(params))


def experiment_for_new_run(session: Session, project: ProjectContext, iid: int) -> Experiment:
    """Experiment ``0`` is the project's "Default", made on first use so a bare ``start_run()`` works."""
    try:
        return experiments.get_experiment(session, project.project_id, iid)
    except NotFound:
        if iid != DEFAULT_EXPERIMENT_IID:
            raise
        return experiments.create_default_experiment(session, project.project_id)


def create(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    # user_id is accepted and ignored (documented): the principal is the run's user.
    iid = p.entity_id(params, "experiment_id")
    tags = p.key_values(params, "tags", what="tag", limit=p.MAX_TAG_VALUE_LENGTH)
    run_name = p.optional_str(params, "run_name")
    start_time = p.optional_int(params, "start_time", minimum=0)
    experiment = experiment_for_new_run(session, project, iid)
    candidate, data = service.start_run(
        session,
        experiment,
        user_id=project.principal.user_id,
        user_name=project.principal.username,
        run_name=run_name,
        start_time=start_time,
        tags=tags,
        ci=project.principal.ci,
    )
    return {"run": presenters.run(candidate, experiment.iid, data)}


def get(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    candidate, experiment_iid = service.get_candidate_and_experiment_iid(session, project.project_id, p.run_id(params))
    data = service.run_data(session, [candidate])[candidate.id]
    return {"run": presenters.run(candidate, experiment_iid, data)}


def update(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    status = p.optional_str(params, "status")
    if status is not None and status not in RUN_STATUSES:
        raise InvalidParameter(f"Invalid run status {status!r}: use one of {', '.join(RUN_STATUSES)}.")
    end_time = p.optional_int(params, "end_time", minimum=0)
    run_name = p.optional_str(params, "run_name")
    candidate = _candidate(session, project, params)
    service.update_candidate(session, candidate, status=status, end_time=end_time, run_name=run_name)
    experiment = service.experiment_of(session, candidate)
    return {"run_info": presenters.run_info(candidate, experiment.iid)}


def delete(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    service.delete_candidate(session, _candidate(session, project, params))
    return {}


def restore(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    service.restore_candidate(session, _candidate(session, project, params))
    return {}


def log_metric(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    point = _metric_point(params)
    linked = _model_metric(params, point)
    candidate = _candidate(session, project, params)
    if linked is None:
        service.log_batch(session, candidate, metrics=[point])
    else:
        logged_model_runs.log_batch_with_models(session, candidate, metrics=[], model_metrics=[linked])
    return {}


def log_parameter(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.check_key(params.get("key"), what="param")
    value = p.check_value(_param_text(params.get("value")), what="param", limit=p.MAX_PARAM_VALUE_LENGTH, key=key)
    service.log_batch(session, _candidate(session, project, params), params=[(key, value)])
    return {}


def set_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key, value = p.tag(params)
    service.log_batch(session, _candidate(session, project, params), tags=[(key, value)], ci=project.principal.ci)
    return {}


def delete_tag(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    key = p.required_str(params, "key")
    service.delete_tag(session, _candidate(session, project, params), key)
    return {}


def log_batch(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    metrics = _list(params, "metrics")
    params_in = _list(params, "params")
    tags_in = _list(params, "tags")
    for name, items, limit in (
        ("metrics", metrics, MAX_BATCH_METRICS),
        ("params", params_in, MAX_BATCH_PARAMS),
        ("tags", tags_in, MAX_BATCH_TAGS),
    ):
        if len(items) > limit:
            raise InvalidParameter(
                f"A batch logging request can contain at most {limit} {name}. Got {len(items)} {name}. "
                f"Please split up {name} across multiple requests and try again."
            )
    total = len(metrics) + len(params_in) + len(tags_in)
    if total > MAX_BATCH_TOTAL:
        raise InvalidParameter(
            f"A batch logging request can contain at most {MAX_BATCH_TOTAL} metrics, params and tags in total. "
            f"Got {total}. Please split up the request and try again."
        )
    points, linked = [], []
    for item in metrics:
        point = _metric_point(_object(item, "metrics"))
        model_metric = _model_metric(item, point)
        if model_metric is None:
            points.append(point)
        else:
            linked.append(model_metric)
    pairs = [_pair(item, "params", "param", p.MAX_PARAM_VALUE_LENGTH) for item in params_in]
    tags = [_pair(item, "tags", "tag", p.MAX_TAG_VALUE_LENGTH) for item in tags_in]
    batch = None if linked else MetricBatch(points)  # laid out before the first statement (see MetricBatch)
    candidate = _candidate(session, project, params)
    ci = project.principal.ci
    if batch is None:  # MLflow 3: metrics of a logged model (``model_id``) go to the model too
        logged_model_runs.log_batch_with_models(
            session, candidate, metrics=points, model_metrics=linked, params=pairs, tags=tags, ci=ci
        )
    else:
        service.log_batch(session, candidate, metrics=batch, params=pairs, tags=tags, ci=ci)
    return {}


def log_inputs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """Datasets are stored and shown in the run; so are MLflow 3's ``models`` inputs (logged models it used)."""
    datasets = _list(params, "datasets")
    if len(datasets) > MAX_BATCH_DATASETS:
        raise InvalidParameter(f"A log-inputs request can contain at most {MAX_BATCH_DATASETS} datasets.")
    models = [p.required_str(_object(item, "models"), "model_id") for item in _list(params, "models")]
    if len(models) > MAX_BATCH_DATASETS:
        raise InvalidParameter(f"A log-inputs request can contain at most {MAX_BATCH_DATASETS} models.")
    inputs = [_dataset_input(_object(item, "datasets")) for item in datasets]
    candidate = _candidate(session, project, params)
    service.require_active(candidate)
    run_inputs.log_inputs(session, candidate, inputs)
    logged_model_runs.log_model_inputs(session, candidate, models)
    return {}


def delete_runs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """Bulk delete by creation time (Databricks' ``delete-runs``, seed 004): ``{"runs_deleted": n}``."""
    iid = p.entity_id(params, "experiment_id")
    max_timestamp = p.required_int(params, "max_timestamp_millis", minimum=0)
    max_runs = _max_runs(params)
    experiment = experiments.get_experiment(session, project.project_id, iid)
    deleted = service.delete_runs_created_before(session, experiment, max_timestamp_ms=max_timestamp, max_runs=max_runs)
    return {"runs_deleted": deleted}


def restore_runs(session: Session, project: ProjectContext, params: Params) -> dict[str, Any]:
    """Bulk restore by deletion time (Databricks' ``restore-runs``, seed 004): ``{"runs_restored": n}``."""
    iid = p.entity_id(params, "experiment_id")
    min_timestamp = p.required_int(params, "min_timestamp_millis", minimum=0)
    max_runs = _max_runs(params)
    experiment = experiments.get_experiment(session, project.project_id, iid)
    restored = service.restore_runs_deleted_since(
        session, experiment, min_timestamp_ms=min_timestamp, max_runs=max_runs
    )
    return {"runs_restored": restored}


# ---------------------------------------------------------------------------------------- parsing
def _max_runs(params: Params) -> int:
    max_runs = p.optional_int(params, "max_runs", minimum=1)
    if max_runs is None:
        return service.MAX_BULK_RUNS
    if max_runs > service.MAX_BULK_RUNS:
        raise InvalidParameter(
            f"Invalid value {max_runs} for parameter 'max_runs': at most {service.MAX_BULK_RUNS} runs per request."
        )
    return max_runs


_DATASET_LIMITS = {
    "name": 500,
    "digest": 36,
    "source_type": 64,
    "source": 65535,
    "schema": 1048575,
    "profile": 16777215,
}


def _dataset_input(item: Params) -> run_inputs.DatasetInput:
    dataset = _object(item.get("dataset"), "datasets[].dataset")
    fields: dict[str, str | None] = {}
    for name, limit in _DATASET_LIMITS.items():
        value = dataset.get(name)
        if value is None and name in ("schema", "profile"):
            fields[name] = None
            continue
        if not isinstance(value, str) or (not value and name != "source"):
            raise InvalidParameter(f"Invalid dataset: '{name}' must be a non-empty string, got {value!r}.")
        if len(value) > limit:
            raise InvalidParameter(f"Invalid dataset: '{name}' is {len(value)} characters long; the limit is {limit}.")
        fields[name] = value
    tags = []
    for tag in _list(item, "tags"):
        entry = _object(tag, "datasets[].tags")
        key, value = entry.get("key"), entry.get("value")
        if not isinstance(key, str) or not key or len(key) > MAX_INPUT_TAG_KEY or not isinstance(value, str):
            raise InvalidParameter(f"Invalid dataset input tag {entry!r}: key and value must be strings.")
        if len(value) > MAX_INPUT_TAG_VALUE:
            raise InvalidParameter(f"Dataset input tag '{key}' is longer than {MAX_INPUT_TAG_VALUE} characters.")
        tags.append((key, value))
    return run_inputs.DatasetInput(
        name=str(fields["name"]),
        digest=str(fields["digest"]),
        source_type=str(fields["source_type"]),
        source=str(fields["source"]),
        schema=fields["schema"],
        profile=fields["profile"],
        tags=tags,
    )


def _list(params: Params, name: str) -> list[Any]:
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParameter(f"Invalid value for parameter '{name}': expected a list.")
    return value


def _object(item: Any, name: str) -> Params:
    if not isinstance(item, dict):
        raise InvalidParameter(f"Invalid entry {item!r} in '{name}': expected an object.")
    return item


def _pair(item: Any, name: str, what: str, limit: int) -> tuple[str, str]:
    entry = _object(item, name)
    key = p.check_key(entry.get("key"), what=what)
    raw = entry.get("value")
    return key, p.check_value(_param_text(raw) if what == "param" else raw, what=what, limit=limit, key=key)


def _param_text(value: Any) -> Any:
    """Params are strings; a bare JSON number or bool from a hand-written client is taken as its text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf, "inf": math.inf, "-inf": -math.inf}


def _model_metric(params: Params, point: MetricPoint) -> logged_model_runs.ModelMetric | None:
    """MLflow 3 sends ``model_id`` (and the dataset) with metrics of a logged model."""
    if "model_id" not in params:  # the common case, checked first: a batch asks this a thousand times
        return None
    model_id = p.optional_str(params, "model_id")
    if not model_id:
        return None
    dataset_name = p.optional_str(params, "dataset_name") or None
    dataset_digest = p.optional_str(params, "dataset_digest") or None
    return logged_model_runs.ModelMetric(point, model_id, dataset_name, dataset_digest)


def _metric_point(params: Params) -> MetricPoint:
    """A metric as the MLflow client sends it: a valid key, a float value and int64 timestamp and step.
    That common case is checked in one expression (a batch holds a thousand); anything else takes
    ``_any_metric_point``, which accepts MLflow's other spellings and words the error."""
    key, value, timestamp, step = params.get("key"), params.get("value"), params.get("timestamp"), params.get("step", 0)
    if (
        type(key) is str
        and type(value) is float
        and type(timestamp) is int
        and type(step) is int
        and p.INT64_MIN <= timestamp <= p.INT64_MAX
        and p.INT64_MIN <= step <= p.INT64_MAX
    ):
        return MetricPoint(p.check_key(key, what="metric"), value, timestamp, step)
    return _any_metric_point(params)


def _any_metric_point(params: Params) -> MetricPoint:
    key = p.check_key(params.get("key"), what="metric")
    raw = params.get("value")
    if raw is None:
        raise InvalidParameter(f"Missing value for required parameter 'value' of metric '{key}'.")
    if isinstance(raw, bool):
        raise InvalidParameter(f"Invalid value {raw!r} for metric '{key}': expected a number.")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str) and raw.strip().lower() in _SPECIAL_FLOATS:
        value = _SPECIAL_FLOATS[raw.strip().lower()]
    else:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise InvalidParameter(f"Invalid value {raw!r} for metric '{key}': expected a number.") from None
    timestamp = p.required_int(params, "timestamp")
    step = p.optional_int(params, "step") or 0
    return MetricPoint(key=key, value=value, timestamp=timestamp, step=step)


BASE = "/api/2.0/mlflow/runs"
ENDPOINTS = [
    Endpoint("POST", f"{BASE}/create", create, WRITE, rows=listed("tags"), quick=True),
    Endpoint("GET", f"{BASE}/get", get, READ, quick=True),
    Endpoint("POST", f"{BASE}/update", update, WRITE, quick=True),
    Endpoint("POST", f"{BASE}/delete", delete, WRITE),
    Endpoint("POST", f"{BASE}/restore", restore, WRITE),
    Endpoint("POST", f"{BASE}/log-metric", log_metric, WRITE, rows=one("metrics"), quick=True),
    Endpoint("POST", f"{BASE}/log-parameter", log_parameter, WRITE, rows=one("params"), quick=True),
    Endpoint("POST", f"{BASE}/set-tag", set_tag, WRITE, rows=one("tags"), quick=True),
    Endpoint("POST", f"{BASE}/delete-tag", delete_tag, WRITE, quick=True),
    Endpoint("POST", f"{BASE}/log-batch", log_batch, WRITE, rows=listed("metrics", "params", "tags"), quick=True),
    Endpoint("POST", f"{BASE}/log-inputs", log_inputs, WRITE, quick=True),
    # Seed 004's bulk calls, at our runs/ prefix and at the Databricks path its client snippet posts to.
    Endpoint("POST", f"{BASE}/delete-runs", delete_runs, WRITE),
    Endpoint("POST", f"{BASE}/restore-runs", restore_runs, WRITE),
    Endpoint("POST", "/api/2.0/mlflow/databricks/runs/delete-runs", delete_runs, WRITE),
    Endpoint("POST", "/api/2.0/mlflow/databricks/runs/restore-runs", restore_runs, WRITE),
]
