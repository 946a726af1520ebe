"""Concurrent writers on one project: per-project ids stay unique (and gap-free while every creation
succeeds), nothing is lost.

Many threads hit the live server at once (its thread pool runs the units of work in parallel), on
SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from compat import repository
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


def test_a_run_iid_is_not_held_until_the_creating_transaction_ends(world: World, database: Database) -> None:
    """PostgreSQL: a run's iid is taken in a short transaction of its own (``next_iid(skippable=True)``),
    so a second creation does not wait for the first to commit; one that then fails leaves a gap.
    Experiment ids are taken inside the transaction: no gaps. (SQLite has one writer: nothing to show.)"""
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers: the counter is always bumped inside the transaction")
    project = world.project()
    taken = threading.Event()
    finish = threading.Event()
    first: list[int] = []

    def first_creation() -> None:
        with contextlib.suppress(RuntimeError), database.unit_of_work() as session:
            first.append(repository.next_iid(session, project.id, "candidate", skippable=True))
            taken.set()
            finish.wait(10)
            raise RuntimeError("the creation fails after taking its iid")

    thread = threading.Thread(target=first_creation)
    thread.start()
    try:
        assert taken.wait(10)
        with database.unit_of_work() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))  # a held counter row would fail here
            second = repository.next_iid(session, project.id, "candidate", skippable=True)
    finally:
        finish.set()
        thread.join()
    assert second == first[0] + 1
    with database.unit_of_work() as session:
        assert (
            repository.next_iid(session, project.id, "candidate", skippable=True) == second + 1
        )  # first's stays skipped
        session.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert repository.next_iid(session, project.id, "experiment") == 1
