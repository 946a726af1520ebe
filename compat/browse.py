"""Read models the web UI needs beyond what the MLflow API serves: experiment summaries (run counts,
last activity), runs by their per-project number, metric histories of several runs at once, and the
registry's listings. Every query takes the project explicitly (tenant scoping, as ``compat.repository``).

Must not: know HTTP or HTML (``compat.web`` presents these).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from compat.registry.tables import Model, ModelVersion
from compat.tables import Candidate, CandidateLatestMetric, CandidateMetric, Experiment
from gateway.errors import NotFound

MAX_HISTORY_POINTS = 5000
"""Points per (run, metric) sent to a chart; longer histories are thinned evenly (first and last kept)."""
_EID = re.compile(r"^[0-9a-f]{32}$")
_MAX_ID_DIGITS = 18


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    experiment: Experiment
    run_count: int
    last_activity: int
    model_id: int | None
    """Set when this is a model's ``[model]<name>`` experiment."""


@dataclass(frozen=True, slots=True)
class MetricSeries:
    steps: list[int]
    timestamps: list[int]
    values: list[float | None]
    """``None`` for NaN and ±Infinity (JSON has no such numbers; the chart leaves a gap)."""


def experiment_summaries(
    session: Session, project_id: int, *, search: str, deleted: bool, offset: int, limit: int
) -> list[ExperimentSummary]:
    """Experiments newest activity first, with their active run counts, in one query."""
    runs = (
        select(
            Candidate.experiment_id,
            func.count(Candidate.id).label("runs"),
            func.max(func.coalesce(Candidate.end_time, Candidate.start_time)).label("last_run"),
        )
        .where(Candidate.project_id == project_id, Candidate.lifecycle_stage == "active")
        .group_by(Candidate.experiment_id)
        .subquery()
    )
    last_run = func.coalesce(runs.c.last_run, 0)
    last_activity = case((last_run > Experiment.last_update_time, last_run), else_=Experiment.last_update_time)
    statement = (
        select(Experiment, func.coalesce(runs.c.runs, 0), last_activity, Model.id)
        .outerjoin(runs, runs.c.experiment_id == Experiment.id)
        .outerjoin(Model, Model.experiment_id == Experiment.id)
        .where(Experiment.project_id == project_id)
        .where(Experiment.lifecycle_stage == ("deleted" if deleted else "active"))
    )
    if search:
        statement = statement.where(Experiment.name.icontains(search, autoescape=True))
    statement = statement.order_by(last_activity.desc(), Experiment.iid.desc()).offset(offset).limit(limit)
    return [ExperimentSummary(e, int(n), int(t), m) for e, n, t, m in session.execute(statement)]


def model_id_of_experiment(session: Session, experiment: Experiment) -> int | None:
    return session.scalar(select(Model.id).where(Model.experiment_id == experiment.id))


def candidate_by_ref(session: Session, project_id: int, ref: str) -> Candidate:
    """A run of ``project_id`` by its per-project number (``12``) or its MLflow run id (32 hex digits)."""
    statement = select(Candidate).where(Candidate.project_id == project_id)
    if ref.isascii() and ref.isdigit() and len(ref) <= _MAX_ID_DIGITS:
        found = session.scalar(statement.where(Candidate.iid == int(ref)))
    elif _EID.match(ref):
        found = session.scalar(statement.where(Candidate.eid == ref))
    else:
        found = None
    if found is None:
        raise NotFound(f"Run {ref!r} not found")
    return found


def candidates_by_eids(session: Session, project_id: int, eids: Sequence[str]) -> list[Candidate]:
    """The listed runs of ``project_id`` in the order given; any unknown id is ``NotFound``."""
    wanted = list(dict.fromkeys(eids))
    if any(not _EID.match(eid) for eid in wanted):
        raise NotFound("Run not found")
    statement = select(Candidate).where(Candidate.project_id == project_id, Candidate.eid.in_(wanted))
    rows = {candidate.eid: candidate for candidate in session.scalars(statement)}
    if len(rows) != len(wanted):
        raise NotFound("Run not found")
    return [rows[eid] for eid in wanted]


def metric_keys(session: Session, candidate_ids: Sequence[int]) -> list[str]:
    if not candidate_ids:
        return []
    statement = (
        select(CandidateLatestMetric.key).where(CandidateLatestMetric.candidate_id.in_(list(candidate_ids))).distinct()
    )
    return sorted(session.scalars(statement))


def metric_histories(
    session: Session, candidate_ids: Sequence[int], keys: Sequence[str]
) -> dict[int, dict[str, MetricSeries]]:
    """``run id -> key -> series`` ordered by step then time, each at most ``MAX_HISTORY_POINTS`` long."""
    found: dict[int, dict[str, MetricSeries]] = {i: {} for i in candidate_ids}
    if not candidate_ids or not keys:
        return found
    rows = session.execute(
        select(
            CandidateMetric.candidate_id,
            CandidateMetric.key,
            CandidateMetric.step,
            CandidateMetric.timestamp,
            CandidateMetric.value,
            CandidateMetric.is_nan,
        )
        .where(CandidateMetric.candidate_id.in_(list(candidate_ids)), CandidateMetric.key.in_(list(keys)))
        .order_by(CandidateMetric.candidate_id, CandidateMetric.key, CandidateMetric.step, CandidateMetric.timestamp)
    )
    for candidate_id, key, step, timestamp, value, is_nan in rows:
        series = found[candidate_id].get(key)
        if series is None:
            series = found[candidate_id][key] = MetricSeries([], [], [])
        series.steps.append(step)
        series.timestamps.append(timestamp)
        series.values.append(None if is_nan or math.isinf(value) else value)
    for per_key in found.values():
        for key, series in per_key.items():
            per_key[key] = _thinned(series)
    return found


def _thinned(series: MetricSeries) -> MetricSeries:
    count = len(series.steps)
    if count <= MAX_HISTORY_POINTS:
        return series
    picks = sorted({round(i * (count - 1) / (MAX_HISTORY_POINTS - 1)) for i in range(MAX_HISTORY_POINTS)})
    return MetricSeries(
        [series.steps[i] for i in picks], [series.timestamps[i] for i in picks], [series.values[i] for i in picks]
    )


# ---------------------------------------------------------------------------------------- registry
def models_with_counts(session: Session, project_id: int, *, search: str) -> list[tuple[Model, int]]:
    counts = (
        select(ModelVersion.model_id, func.count(ModelVersion.id).label("n"))
        .where(ModelVersion.project_id == project_id)
        .group_by(ModelVersion.model_id)
        .subquery()
    )
    statement = (
        select(Model, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.model_id == Model.id)
        .where(Model.project_id == project_id)
    )
    if search:
        statement = statement.where(Model.name.icontains(search, autoescape=True))
    return [(model, int(n)) for model, n in session.execute(statement.order_by(Model.name))]


def model_by_id(session: Session, project_id: int, ref: str) -> Model:
    found = None
    if ref.isascii() and ref.isdigit() and len(ref) <= _MAX_ID_DIGITS:
        found = session.scalar(select(Model).where(Model.project_id == project_id, Model.id == int(ref)))
    if found is None:
        raise NotFound(f"Model {ref!r} not found")
    return found


def experiment_iid_of_model(session: Session, model: Model) -> int:
    iid = session.scalar(select(Experiment.iid).where(Experiment.id == model.experiment_id))
    assert iid is not None, "a model always has its experiment"
    return iid


def versions_of(session: Session, model: Model) -> list[ModelVersion]:
    statement = select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.sequence.desc())
    return list(session.scalars(statement))


def version_by_id(session: Session, model: Model, ref: str) -> ModelVersion:
    found = None
    if ref.isascii() and ref.isdigit() and len(ref) <= _MAX_ID_DIGITS:
        found = session.scalar(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id,
                ModelVersion.project_id == model.project_id,
                ModelVersion.id == int(ref),
            )
        )
    if found is None:
        raise NotFound(f"Model version {ref!r} not found")
    return found
