"""Model versions: SemVer numbering, each version with its own run in the model's experiment.

Numbering (SPEC §5): the ``gitlab.version`` tag sets the SemVer (validated, unique per model);
without it the highest existing SemVer gets its patch bumped (``1.0.0`` first). Every version also
gets the model's next ``sequence`` number — what MLflow clients call ``version`` — from one
``UPDATE … RETURNING`` on the model row. That update is also the lock that makes concurrent
creators take turns, so two of them never compute the same SemVer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compat import candidates, repository
from compat.experiments import now_ms
from compat.logged_models.tables import LoggedModel, LoggedModelRegistration
from compat.registry import semver
from compat.registry.models import check_description
from compat.registry.tables import Model, ModelAlias, ModelVersion, ModelVersionTag
from compat.tables import Candidate, Experiment
from gateway.errors import AlreadyExists, InvalidParameter, NotFound
from tenants.principal import CiJob

VERSION_TAG = "gitlab.version"


def create_version(
    session: Session,
    model: Model,
    *,
    user_id: int | None,
    user_name: str,
    description: str,
    tags: Sequence[tuple[str, str]],
    source: str,
    ci: CiJob | None = None,
    logged_model: LoggedModel | None = None,
) -> ModelVersion:
    """A new version and its run; a CI job token's version runs carry its job tags, as its other runs do.

    A version made from an MLflow 3 logged model (``models:/<model_id>``) keeps a link to it: its files
    are the logged model's, which are referenced, not copied.
    """
    check_description(description)
    tag_map = dict(tags)
    wanted = semver.parse(tag_map[VERSION_TAG]) if VERSION_TAG in tag_map else None
    sequence = _next_sequence(session, model)
    number = wanted or _next_semver(session, model)
    if _by_semver(session, model, number.text) is not None:
        raise AlreadyExists(f"Model {model.name!r} already has version {number.text}; choose another gitlab.version.")
    experiment = session.get(Experiment, model.experiment_id)
    assert experiment is not None
    candidate, _ = candidates.start_run(
        session,
        experiment,
        user_id=user_id,
        user_name=user_name,
        run_name=f"{model.name}-{number.text}"[-candidates.MAX_RUN_NAME_LENGTH :],
        start_time=None,
        tags=[],
        ci=ci,
    )
    created = now_ms()
    version = ModelVersion(
        project_id=model.project_id,
        model_id=model.id,
        sequence=sequence,
        version=number.text,
        semver_major=number.major,
        semver_minor=number.minor,
        semver_patch=number.patch,
        semver_is_release=number.is_release,
        semver_prerelease=number.prerelease,
        description=description,
        source=source,
        candidate_id=candidate.id,
        user_id=user_id,
        user_name=user_name,
        creation_time=created,
        last_update_time=created,
    )
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except IntegrityError:
        raise AlreadyExists(f"Model {model.name!r} already has version {number.text}.") from None
    tag_map[VERSION_TAG] = number.text
    repository.upsert_key_values(session, ModelVersionTag, "version_id", version.id, list(tag_map.items()))
    if logged_model is not None:
        session.add(LoggedModelRegistration(version_id=version.id, logged_model_id=logged_model.id))
        session.flush()
    model.last_update_time = created
    return version


def find_version(session: Session, model: Model, version: str) -> ModelVersion:
    """By sequence number (what MLflow clients send) or by SemVer (what GitLab's docs show)."""
    text = version.strip()
    if text.isdigit():
        found = session.scalar(
            select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.sequence == int(text))
        )
    elif semver.is_semver(text):
        found = _by_semver(session, model, text)
    else:
        raise InvalidParameter(f"Invalid version {version!r}: pass the version number (e.g. 3) or its SemVer (1.0.2).")
    if found is None:
        raise NotFound(f"Model Version (name={model.name}, version={version}) not found")
    return found


def find_by_alias(session: Session, model: Model, alias: str) -> ModelVersion:
    """An explicit alias, else a version whose SemVer is ``alias`` (GitLab's aliases are SemVers)."""
    found = session.scalar(
        select(ModelVersion)
        .join(ModelAlias, ModelAlias.version_id == ModelVersion.id)
        .where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    )
    if found is None and semver.is_semver(alias):
        found = _by_semver(session, model, alias)
    if found is None:
        raise NotFound(f"Registered model alias {alias} not found.")
    return found


def latest_version(session: Session, model: Model) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(*_highest_first()).limit(1)
    )


def latest_versions(session: Session, model_ids: list[int]) -> dict[int, ModelVersion]:
    """The highest SemVer of each model, in one query that returns one row per model (not every version)."""
    if not model_ids:
        return {}
    ranked = (
        select(
            ModelVersion.id,
            func.row_number().over(partition_by=ModelVersion.model_id, order_by=_highest_first()).label("rank"),
        )
        .where(ModelVersion.model_id.in_(model_ids))
        .subquery()
    )
    rows = session.scalars(select(ModelVersion).join(ranked, ranked.c.id == ModelVersion.id).where(ranked.c.rank == 1))
    return {row.model_id: row for row in rows}


def update_version(session: Session, version: ModelVersion, description: str | None) -> None:
    if description is not None:
        version.description = check_description(description)
    version.last_update_time = now_ms()
    session.flush()


def delete_version(session: Session, version: ModelVersion) -> int:
    """Remove the version and its run; returns the run's id (its artifacts go too)."""
    candidate_id = version.candidate_id
    session.execute(delete(ModelVersion).where(ModelVersion.id == version.id))
    session.execute(delete(Candidate).where(Candidate.id == candidate_id))
    return candidate_id


def set_tag(session: Session, version: ModelVersion, key: str, value: str) -> None:
    if key == VERSION_TAG and value != version.version:
        raise InvalidParameter(f"The {VERSION_TAG} tag is the version's SemVer ({version.version}); it cannot change.")
    repository.upsert_key_values(session, ModelVersionTag, "version_id", version.id, [(key, value)])
    version.last_update_time = now_ms()


def delete_tag(session: Session, version: ModelVersion, key: str) -> None:
    if key == VERSION_TAG:
        raise InvalidParameter(f"The {VERSION_TAG} tag is the version's SemVer; it cannot be deleted.")
    deleted = session.execute(
        delete(ModelVersionTag).where(ModelVersionTag.version_id == version.id, ModelVersionTag.key == key)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"No tag with name: {key} on model version {version.version}")


def tags_of(session: Session, version_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    return repository.key_values_by_parent(session, ModelVersionTag, "version_id", version_ids)


# ---------------------------------------------------------------------------------------- helpers
def _highest_first() -> list[Any]:
    return [
        ModelVersion.semver_major.desc(),
        ModelVersion.semver_minor.desc(),
        ModelVersion.semver_patch.desc(),
        ModelVersion.semver_is_release.desc(),
        ModelVersion.semver_prerelease.desc(),
        ModelVersion.sequence.desc(),
    ]


def _next_sequence(session: Session, model: Model) -> int:
    statement = (
        update(Model)
        .where(Model.id == model.id)
        .values(version_counter=Model.version_counter + 1)
        .returning(Model.version_counter)
    )
    sequence: int = session.execute(statement).scalar_one()
    return sequence


def _next_semver(session: Session, model: Model) -> semver.SemVer:
    latest = latest_version(session, model)
    return semver.parse(semver.INITIAL_VERSION) if latest is None else semver.parse(latest.version).next_patch()


def _by_semver(session: Session, model: Model, text: str) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.version == text))
