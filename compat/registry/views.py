"""Everything a response shows about models and versions, loaded for many at once in a few queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compat.logged_models.tables import LoggedModel, LoggedModelRegistration
from compat.registry import models, versions
from compat.registry.tables import Model, ModelAlias, ModelVersion
from compat.tables import Candidate, Experiment


@dataclass(frozen=True, slots=True)
class VersionView:
    version: ModelVersion
    model: Model
    candidate: Candidate
    experiment_iid: int
    tags: list[tuple[str, str]]
    aliases: list[str]
    logged_model: tuple[str, int] | None = None
    """``(model_id, experiment iid)`` of the MLflow 3 logged model whose files this version serves."""


@dataclass(frozen=True, slots=True)
class ModelView:
    model: Model
    tags: list[tuple[str, str]]
    latest: VersionView | None
    aliases: list[tuple[str, int]]
    """``(alias, version sequence number)``"""


def version_views(session: Session, rows: Sequence[ModelVersion]) -> list[VersionView]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    model_rows = {m.id: m for m in session.scalars(select(Model).where(Model.id.in_({r.model_id for r in rows})))}
    run_rows = {
        c.id: c for c in session.scalars(select(Candidate).where(Candidate.id.in_([r.candidate_id for r in rows])))
    }
    experiment_ids = {m.experiment_id for m in model_rows.values()}
    experiment_iids = {
        row.id: row.iid
        for row in session.execute(select(Experiment.id, Experiment.iid).where(Experiment.id.in_(experiment_ids)))
    }
    tags = versions.tags_of(session, ids)
    aliases: dict[int, list[str]] = {i: [] for i in ids}
    for version_id, alias in session.execute(
        select(ModelAlias.version_id, ModelAlias.alias).where(ModelAlias.version_id.in_(ids)).order_by(ModelAlias.alias)
    ):
        aliases[version_id].append(alias)
    logged = {
        version_id: (eid, iid)
        for version_id, eid, iid in session.execute(
            select(LoggedModelRegistration.version_id, LoggedModel.eid, Experiment.iid)
            .join(LoggedModel, LoggedModel.id == LoggedModelRegistration.logged_model_id)
            .join(Experiment, Experiment.id == LoggedModel.experiment_id)
            .where(LoggedModelRegistration.version_id.in_(ids))
        )
    }
    return [
        VersionView(
            version=row,
            model=model_rows[row.model_id],
            candidate=run_rows[row.candidate_id],
            experiment_iid=experiment_iids[model_rows[row.model_id].experiment_id],
            tags=tags[row.id],
            aliases=aliases[row.id],
            logged_model=logged.get(row.id),
        )
        for row in rows
    ]


def version_view(session: Session, row: ModelVersion) -> VersionView:
    return version_views(session, [row])[0]


def model_views(session: Session, rows: Sequence[Model]) -> list[ModelView]:
    ids = [row.id for row in rows]
    latest = versions.latest_versions(session, ids)
    latest_views = {view.version.model_id: view for view in version_views(session, list(latest.values()))}
    alias_rows = models.aliases_of(session, ids)
    aliased_ids = [version_id for pairs in alias_rows.values() for _, version_id in pairs]
    sequences = {
        row.id: row.sequence
        for row in session.execute(
            select(ModelVersion.id, ModelVersion.sequence).where(ModelVersion.id.in_(aliased_ids))
        )
    }
    tags = models.tags_of(session, ids)
    return [
        ModelView(
            model=row,
            tags=tags[row.id],
            latest=latest_views.get(row.id),
            aliases=[(alias, sequences[version_id]) for alias, version_id in alias_rows[row.id]],
        )
        for row in rows
    ]


def model_view(session: Session, row: Model) -> ModelView:
    return model_views(session, [row])[0]
