"""The ``search_runs`` data set, written straight into each server's database.

Creating 10 000 runs through the stock server's API takes minutes per backend; inserting them takes
a second, and both servers get exactly the same runs: the same run ids, names, start times and
values of metric ``m`` (drawn from a seeded generator, uniform in [0, 1)), one history point and the
latest value each, plus the ``mlflow.runName`` tag. The experiment itself is made through each
server's API first, so only rows of the plain run tables are written here.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, func, insert, select, update

BATCH = 2000


@dataclass(frozen=True)
class SeedRun:
    run_id: str
    name: str
    start_time: int
    m: float


def search_runs_data(count: int, seed: int = 42) -> list[SeedRun]:
    rng = random.Random(seed)
    start = 1_700_000_000_000
    return [
        SeedRun(uuid.UUID(int=rng.getrandbits(128), version=4).hex, f"seed-{i}", start + i * 1000, rng.random())
        for i in range(count)
    ]


def _engine_url(url: str) -> str:
    """The bench process has psycopg (3), not the stock server's psycopg2."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def seed_mlflow(url: str, experiment_id: str, runs: list[SeedRun]) -> None:
    engine = create_engine(_engine_url(url))
    meta = MetaData()
    tables = {name: Table(name, meta, autoload_with=engine) for name in ("runs", "tags", "metrics", "latest_metrics")}
    exp = int(experiment_id)
    run_rows = [
        {
            "run_uuid": r.run_id,
            "name": r.name,
            "source_type": "UNKNOWN",
            "source_name": "",
            "entry_point_name": "",
            "user_id": "bench",
            "status": "FINISHED",
            "start_time": r.start_time,
            "end_time": r.start_time + 500,
            "source_version": "",
            "lifecycle_stage": "active",
            "artifact_uri": f"mlflow-artifacts:/{exp}/{r.run_id}/artifacts",
            "experiment_id": exp,
        }
        for r in runs
    ]
    metric = [
        {"key": "m", "value": r.m, "timestamp": r.start_time, "step": 0, "is_nan": False, "run_uuid": r.run_id}
        for r in runs
    ]
    tags = [{"key": "mlflow.runName", "value": r.name, "run_uuid": r.run_id} for r in runs]
    with engine.begin() as conn:
        for table, rows in (("runs", run_rows), ("tags", tags), ("metrics", metric), ("latest_metrics", metric)):
            for chunk in _chunks(rows):
                conn.execute(insert(tables[table]), chunk)
    engine.dispose()


def seed_gateway(url: str, project_id: int, experiment_iid: str, runs: list[SeedRun]) -> None:
    from compat.tables import (
        Candidate,
        CandidateLatestMetric,
        CandidateMetadata,
        CandidateMetric,
        Experiment,
        ProjectCounter,
    )
    from gateway.db import table_of

    engine = create_engine(url)
    with engine.begin() as conn:
        experiment_id = conn.execute(
            select(Experiment.id).where(Experiment.project_id == project_id, Experiment.iid == int(experiment_iid))
        ).scalar_one()
        counter = table_of(ProjectCounter)
        last_iid = conn.execute(
            select(func.coalesce(func.max(counter.c.value), 0)).where(
                counter.c.project_id == project_id, counter.c.kind == "candidate"
            )
        ).scalar_one()
        candidates = [
            {
                "eid": r.run_id,
                "project_id": project_id,
                "experiment_id": experiment_id,
                "iid": last_iid + 1 + i,
                "name": r.name,
                "status": "FINISHED",
                "start_time": r.start_time,
                "end_time": r.start_time + 500,
                "lifecycle_stage": "active",
                "user_name": "bench",
            }
            for i, r in enumerate(runs)
        ]
        for chunk in _chunks(candidates):
            conn.execute(insert(Candidate), chunk)
        conn.execute(
            update(counter)
            .where(counter.c.project_id == project_id, counter.c.kind == "candidate")
            .values(value=last_iid + len(runs))
        )
        ids = dict(
            conn.execute(select(Candidate.eid, Candidate.id).where(Candidate.experiment_id == experiment_id)).all()
        )
        points = [
            {
                "candidate_id": ids[r.run_id],
                "key": "m",
                "value": r.m,
                "is_nan": False,
                "timestamp": r.start_time,
                "step": 0,
            }
            for r in runs
        ]
        tags = [{"candidate_id": ids[r.run_id], "key": "mlflow.runName", "value": r.name} for r in runs]
        for model, rows in ((CandidateMetric, points), (CandidateLatestMetric, points), (CandidateMetadata, tags)):
            for chunk in _chunks(rows):
                conn.execute(insert(model), chunk)
    engine.dispose()


def analyze(url: str) -> None:
    """Fresh statistics after a bulk load, as a DBA would take (both servers get the same)."""
    engine = create_engine(_engine_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
