"""Concurrent writers on one project: per-project ids stay unique and gap-free, nothing is lost.

Many threads hit the live server at once (its thread pool runs the units of work in parallel), on
SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from compat.tables import Candidate, CandidateLatestMetric, CandidateMetric, Experiment, ProjectCounter
from gateway.db import Database
from tenants.roles import Role
from tests.support.live_server import LiveServer
from tests.support.mlflow_http import MlflowHttp
from tests.support.world import World, unique

THREADS = 8
PER_THREAD = 6


def test_concurrent_creates_get_unique_iids(live_server: LiveServer, world: World, database: Database) -> None:
    project = world.project()
    client = MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER))
    experiment_id = client.experiment()

    def work(_: int) -> list[str]:
        made = [client.experiment(unique("concurrent")) for _ in range(PER_THREAD // 2)]
        run_ids = [client.run(experiment_id)["info"]["run_id"] for _ in range(PER_THREAD)]
        for run_id in run_ids:
            client.ok("/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0})
        return made + run_ids

    with ThreadPoolExecutor(THREADS) as pool:
        results = [item for batch in pool.map(work, range(THREADS)) for item in batch]
    assert len(set(results)) == len(results)

    with database.unit_of_work(write=False) as session:
        run_iids = session.scalars(select(Candidate.iid).where(Candidate.project_id == project.id)).all()
        experiment_iids = session.scalars(select(Experiment.iid).where(Experiment.project_id == project.id)).all()
        counters = dict(
            session.execute(
                select(ProjectCounter.kind, ProjectCounter.value).where(ProjectCounter.project_id == project.id)
            ).all()
        )
        history = session.scalar(
            select(func.count()).select_from(CandidateMetric).join(Candidate).where(Candidate.project_id == project.id)
        )
        latest = session.scalar(
            select(func.count())
            .select_from(CandidateLatestMetric)
            .join(Candidate)
            .where(Candidate.project_id == project.id)
        )
    runs = THREADS * PER_THREAD
    assert sorted(run_iids) == list(range(1, runs + 1))
    experiments = 1 + THREADS * (PER_THREAD // 2)
    assert sorted(experiment_iids) == list(range(1, experiments + 1))
    assert counters == {"candidate": runs, "experiment": experiments}
    assert history == latest == runs


def test_two_projects_count_independently(live_server: LiveServer, world: World) -> None:
    clients = []
    for _ in range(2):
        project = world.project()
        clients.append(MlflowHttp(live_server, project.id, world.member_token(project, Role.DEVELOPER)))

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda n: clients[n % 2].experiment(), range(8)))
    assert sorted(ids[0::2], key=int) == ["1", "2", "3", "4"]
    assert sorted(ids[1::2], key=int) == ["1", "2", "3", "4"]
