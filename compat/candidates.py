"""Candidates (MLflow runs): create, find, update, soft-delete and restore; params and tags.

Rules (SPEC §5): a run's name is ``run_name``, else its ``mlflow.runName`` tag, else a random
nickname, and is always mirrored into that tag; tags upsert; a param is immutable once logged
(re-logging the same value is fine); writes need an active run in an active experiment.

Every tag write passes one path (create, ``log_batch``, ``delete_tag``) where two tags are mirrored
into columns: ``mlflow.runName`` into ``name`` and ``gitlab.CI_JOB_ID`` into ``ci_job_id``
(``compat.ci_jobs``: validated, and stamped and guarded for CI job tokens — pass the principal's
``ci``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from compat import ci_jobs, repository
from compat.experiments import now_ms
from compat.logged_models.links import RunModels, models_of_runs
from compat.metrics import MetricBatch, MetricPoint, log_points
from compat.names import random_run_name
from compat.registry.tables import ModelVersion
from compat.run_inputs import inputs_of
from compat.tables import (
    Candidate,
    CandidateInput,
    CandidateLatestMetric,
    CandidateMetadata,
    CandidateParam,
    Experiment,
)
from gateway.db import Prepared, table_of
from gateway.errors import InvalidParameter, NotFound
from tenants.principal import CiJob

RUN_NAME_TAG = "mlflow.runName"
MAX_RUN_NAME_LENGTH = 250
MAX_BULK_RUNS = 10_000


class LatestMetric(NamedTuple):
    """A run's latest point of one metric (a plain row: a run can have thousands)."""

    key: str
    value: float
    is_nan: bool
    timestamp: int
    step: int


@dataclass(frozen=True, slots=True)
class RunData:
    """What ``runs/get`` shows besides the run itself."""

    metrics: list[LatestMetric]
    params: list[tuple[str, str]]
    tags: list[tuple[str, str]]
    inputs: list[CandidateInput]
    models: RunModels = field(default_factory=lambda: RunModels([], []))
    """Logged models the run used and produced (MLflow 3)."""


def start_run(
    session: Session,
    experiment: Experiment,
    *,
    user_id: int | None,
    user_name: str,
    run_name: str | None,
    start_time: int | None,
    tags: Sequence[tuple[str, str]],
    ci: CiJob | None = None,
) -> tuple[Candidate, RunData]:
    """A new run, and what ``runs/get`` would show of it — known without reading it back. A CI job
    token's runs carry its job tags (``compat.ci_jobs``).

    The iid comes from the per-project counter, ``skippable``: on PostgreSQL it is taken in a short
    transaction of its own, so concurrent creations in a project do not queue behind this one (a
    creation that fails after taking it leaves a gap; MLflow clients only see the run's UUID).
    """
    if experiment.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The experiment {experiment.iid} must be in the 'active' state; it is '{experiment.lifecycle_stage}'."
        )
    tag_map = dict(tags)
    ci_jobs.check_job_tags(tag_map, ci)
    if ci is not None:
        tag_map.update(ci_jobs.job_tags(ci))
    ci_job_id = ci_jobs.linked_job(tag_map)
    name = run_name or tag_map.get(RUN_NAME_TAG) or random_run_name()
    _check_run_name(name)
    tag_map[RUN_NAME_TAG] = name
    candidate = Candidate(
        eid=uuid.uuid4().hex,
        project_id=experiment.project_id,
        experiment_id=experiment.id,
        iid=repository.next_iid(session, experiment.project_id, "candidate", skippable=True),
        name=name,
        status="RUNNING",
        start_time=start_time if start_time is not None else now_ms(),
        user_id=user_id,
        user_name=user_name,
        ci_job_id=ci_job_id,
    )
    session.add(candidate)
    session.flush()
    repository.upsert_key_values(session, CandidateMetadata, "candidate_id", candidate.id, list(tag_map.items()))
    return candidate, RunData([], [], sorted(tag_map.items()), [])


_BY_RUN_ID = (Candidate.eid == bindparam("run_id"), Candidate.project_id == bindparam("project_id"))
_CANDIDATE = select(Candidate).where(*_BY_RUN_ID)
_CANDIDATE_AND_EXPERIMENT_IID = (
    select(Candidate, Experiment.iid).join(Experiment, Experiment.id == Candidate.experiment_id).where(*_BY_RUN_ID)
)


def get_candidate(session: Session, project_id: int, run_id: str) -> Candidate:
    candidate = session.scalar(_CANDIDATE, {"run_id": run_id, "project_id": project_id})
    if candidate is None:
        raise NotFound(f"Run with id={run_id} not found")
    return candidate


def get_candidate_and_experiment_iid(session: Session, project_id: int, run_id: str) -> tuple[Candidate, int]:
    """``get_candidate`` and its experiment's iid in one query (what ``runs/get`` shows)."""
    row = session.execute(_CANDIDATE_AND_EXPERIMENT_IID, {"run_id": run_id, "project_id": project_id}).first()
    if row is None:
        raise NotFound(f"Run with id={run_id} not found")
    return row[0], row[1]


def experiment_of(session: Session, candidate: Candidate) -> Experiment:
    experiment = session.get(Experiment, candidate.experiment_id)
    assert experiment is not None
    return experiment


def update_candidate(
    session: Session, candidate: Candidate, *, status: str | None, end_time: int | None, run_name: str | None
) -> None:
    require_active(candidate)
    if status is not None:
        candidate.status = status
    if end_time is not None:
        candidate.end_time = end_time
    if run_name:
        _rename(session, candidate, run_name)
    session.flush()


def delete_candidate(session: Session, candidate: Candidate) -> None:
    version = repository.version_of_candidate(session, candidate.id)
    if version is not None:
        raise InvalidParameter(
            f"Run {candidate.eid} is model {version[0]!r} version {version[1]}; delete the model version instead."
        )
    candidate.lifecycle_stage = "deleted"
    candidate.deleted_time = now_ms()
    session.flush()


def restore_candidate(session: Session, candidate: Candidate) -> None:
    candidate.lifecycle_stage = "active"
    candidate.deleted_time = None
    session.flush()


def delete_runs_created_before(
    session: Session, experiment: Experiment, *, max_timestamp_ms: int, max_runs: int
) -> int:
    """Soft-delete up to ``max_runs`` active runs started at or before ``max_timestamp_ms``, oldest first.

    Runs that are model versions are left alone (deleting one on its own is refused): they are not counted.
    """
    chosen = (
        select(Candidate.id)
        .where(
            Candidate.experiment_id == experiment.id,
            Candidate.lifecycle_stage == "active",
            Candidate.start_time <= max_timestamp_ms,
            Candidate.id.not_in(select(ModelVersion.candidate_id)),
        )
        .order_by(Candidate.start_time, Candidate.id)
        .limit(max_runs)
    )
    return _set_stage(session, chosen, "deleted", now_ms())


def restore_runs_deleted_since(
    session: Session, experiment: Experiment, *, min_timestamp_ms: int, max_runs: int
) -> int:
    """Restore up to ``max_runs`` runs deleted at or after ``min_timestamp_ms``, in the order they were deleted."""
    chosen = (
        select(Candidate.id)
        .where(
            Candidate.experiment_id == experiment.id,
            Candidate.lifecycle_stage == "deleted",
            Candidate.deleted_time >= min_timestamp_ms,
        )
        .order_by(Candidate.deleted_time, Candidate.id)
        .limit(max_runs)
    )
    return _set_stage(session, chosen, "active", None)


def set_stage_of_runs(session: Session, project_id: int, run_ids: Sequence[str], *, deleted: bool) -> int:
    """Delete or restore the listed runs of ``project_id`` (the web UI's selection); unknown ids are 404.

    Deleting refuses the whole selection if one of them is a model version, as ``delete_candidate`` does.
    """
    wanted = set(run_ids)
    rows = list(session.scalars(select(Candidate).where(Candidate.project_id == project_id, Candidate.eid.in_(wanted))))
    missing = wanted - {row.eid for row in rows}
    if missing:
        raise NotFound(f"Run with id={sorted(missing)[0]} not found")
    for row in rows:
        if deleted and row.lifecycle_stage == "active":
            delete_candidate(session, row)
        elif not deleted and row.lifecycle_stage == "deleted":
            restore_candidate(session, row)
    return len(rows)


def _set_stage(session: Session, chosen: Any, stage: str, deleted_time: int | None) -> int:
    result = session.execute(
        update(Candidate)
        .where(Candidate.id.in_(chosen.scalar_subquery()))
        .values(lifecycle_stage=stage, deleted_time=deleted_time)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def log_batch(
    session: Session,
    candidate: Candidate,
    *,
    metrics: MetricBatch | Sequence[MetricPoint] = (),
    params: Sequence[tuple[str, str]] = (),
    tags: Sequence[tuple[str, str]] = (),
    ci: CiJob | None = None,
) -> None:
    """All or nothing: every check runs before the first write, and the unit of work is one transaction."""
    require_active(candidate)
    tag_map = dict(tags)
    ci_jobs.check_job_tags(tag_map, ci)
    ci_job_id = ci_jobs.linked_job(tag_map)
    if RUN_NAME_TAG in tag_map:
        _check_run_name(tag_map[RUN_NAME_TAG])
    new_params = _new_params(session, candidate, params)
    log_points(session, candidate.id, metrics)
    if new_params:
        session.execute(_INSERT_PARAM, [{"candidate_id": candidate.id, "key": k, "value": v} for k, v in new_params])
    if tag_map:
        if RUN_NAME_TAG in tag_map:
            candidate.name = tag_map[RUN_NAME_TAG]
        if ci_jobs.CI_JOB_ID_TAG in tag_map:
            candidate.ci_job_id = ci_job_id
        repository.upsert_key_values(session, CandidateMetadata, "candidate_id", candidate.id, list(tag_map.items()))
    session.flush()


def delete_tag(session: Session, candidate: Candidate, key: str) -> None:
    require_active(candidate)
    deleted = session.execute(
        delete(CandidateMetadata).where(CandidateMetadata.candidate_id == candidate.id, CandidateMetadata.key == key)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No tag with name: {key} in run with id {candidate.eid}")
    if key == ci_jobs.CI_JOB_ID_TAG:
        candidate.ci_job_id = None
        session.flush()


def run_data(session: Session, candidates: Sequence[Candidate]) -> dict[int, RunData]:
    """Latest metrics, params, tags, inputs and logged models of many runs in five queries (never the
    metric history)."""
    ids = [c.id for c in candidates]
    models = models_of_runs(session, ids)
    data = {i: RunData([], [], [], inputs, models[i]) for i, inputs in inputs_of(session, ids).items()}
    if not ids:
        return data
    # Plain rows on the connection, not ORM entities (nor the ORM's result layer): for a run's thousand
    # metrics, building objects cost more than the query (bench.profile get_run).
    rows = session.connection().execute(_LATEST_METRICS(session), {"ids": ids})
    if len(ids) == 1:
        data[ids[0]].metrics.extend(LatestMetric._make(row[1:]) for row in rows)
    else:
        for row in rows:
            data[row[0]].metrics.append(LatestMetric._make(row[1:]))
    params = repository.key_values_by_parent(session, CandidateParam, "candidate_id", ids)
    tags = repository.key_values_by_parent(session, CandidateMetadata, "candidate_id", ids)
    for candidate_id in ids:
        data[candidate_id].params.extend(params[candidate_id])
        data[candidate_id].tags.extend(tags[candidate_id])
    return data


def _latest_metrics(dialect: str) -> Any:
    latest = CandidateLatestMetric
    return (
        select(latest.candidate_id, latest.key, latest.value, latest.is_nan, latest.timestamp, latest.step)
        .where(repository.ids_param(dialect, latest.candidate_id))
        .order_by(latest.key)
    )


_LATEST_METRICS = Prepared(_latest_metrics)


def require_active(candidate: Candidate) -> None:
    if candidate.lifecycle_stage != "active":
        raise InvalidParameter(
            f"The run {candidate.eid} must be in the 'active' state. Current state is {candidate.lifecycle_stage}."
        )


# ---------------------------------------------------------------------------------------- helpers
def _check_run_name(name: str) -> None:
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidParameter(f"Run name is {len(name)} characters long; the limit is {MAX_RUN_NAME_LENGTH}.")


def _rename(session: Session, candidate: Candidate, name: str) -> None:
    _check_run_name(name)
    candidate.name = name
    repository.upsert_key_values(session, CandidateMetadata, "candidate_id", candidate.id, [(RUN_NAME_TAG, name)])


_PARAMS_OF_KEYS = select(CandidateParam.key, CandidateParam.value).where(
    CandidateParam.candidate_id == bindparam("candidate_id"), CandidateParam.key.in_(bindparam("keys", expanding=True))
)
_INSERT_PARAM = insert(table_of(CandidateParam))


def _new_params(session: Session, candidate: Candidate, params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Params not logged yet; an identical re-log is a no-op, a different value is refused."""
    wanted: dict[str, str] = {}
    for key, value in params:
        if key in wanted and wanted[key] != value:
            raise InvalidParameter(f"Duplicate parameter keys have been submitted with different values: '{key}'.")
        wanted[key] = value
    if not wanted:
        return []
    rows = session.execute(_PARAMS_OF_KEYS, {"candidate_id": candidate.id, "keys": list(wanted)})
    existing = {key: value for key, value in rows}
    for key, value in wanted.items():
        if key in existing and existing[key] != value:
            raise InvalidParameter(
                f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                f"value='{existing[key]}' for run ID='{candidate.eid}'. Attempted logging new value '{value}'."
            )
    return [(k, v) for k, v in wanted.items() if k not in existing]
