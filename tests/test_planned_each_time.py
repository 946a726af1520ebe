"""Searches are planned for their values on every execution (``gateway.db.planned_each_time``).

On PostgreSQL psycopg prepares a statement on the server after five executions on one connection,
and PostgreSQL may then run it with one generic plan that cannot see the compared values: for the
bench's ``metrics.m > 0.5`` search that plan sorted every matching run instead of reading one page
off the index (10.4 ms instead of 1.1 ms). Nothing of this is visible in a search's answer, so these
tests look at what the server holds prepared (``pg_prepared_statements``, per connection).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from compat.logged_models.search import ModelQuery, search_logged_models
from compat.registry.search import Order, search_models, search_versions
from compat.search.experiments import search_experiments
from compat.search.runs import RunOrder, RunQuery, search_runs
from compat.search.vocabulary import Clause
from gateway.db import Database, build_engine, planned_each_time
from gateway.settings import Settings

RUNS_OVER_THE_THRESHOLD = 12
"""More than psycopg's five executions before it prepares, and PostgreSQL's five before a generic plan."""
UNKNOWN_PROJECT = 987_654_321


@pytest.fixture
def engine(settings: Settings, database: Database) -> Iterator[Engine]:
    """A pool of its own (on the migrated database): what the server holds prepared is per connection."""
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (MLGATEWAY_TEST_POSTGRES_URL): SQLite plans every statement for its values")
    engine = build_engine(settings)
    yield engine
    engine.dispose()


def prepared_statements(session: Session, containing: str) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :pattern"),
            {"pattern": f"%{containing}%"},
        ).scalar_one()
    )


def test_inside_the_block_a_statement_is_never_prepared_and_outside_it_is(engine: Engine) -> None:
    probe = text("SELECT CAST(:n AS integer) AS planned_each_time_probe")
    with Session(engine) as session:
        for n in range(RUNS_OVER_THE_THRESHOLD):
            with planned_each_time(session):
                session.execute(probe, {"n": n})
        assert prepared_statements(session, "planned_each_time_probe") == 0
        for n in range(RUNS_OVER_THE_THRESHOLD):  # the driver's default is given back after the block
            session.execute(probe, {"n": n})
        assert prepared_statements(session, "planned_each_time_probe") == 1


SEARCHES: dict[str, tuple[Callable[[Session], Any], str]] = {
    "runs": (
        lambda session: search_runs(
            session,
            UNKNOWN_PROJECT,
            RunQuery([1], [Clause("metric", "m", ">", 0.5)], [RunOrder("metric", "m", ascending=False)]),
            offset=0,
            limit=100,
        ),
        "FROM ml_candidates JOIN ml_experiments",
    ),
    "experiments": (
        lambda session: search_experiments(
            session, UNKNOWN_PROJECT, clauses=[], orders=[], view_type="ACTIVE_ONLY", offset=0, limit=100
        ),
        "FROM ml_experiments",
    ),
    "logged models": (
        lambda session: search_logged_models(session, UNKNOWN_PROJECT, ModelQuery([1]), offset=0, limit=100),
        "FROM ml_logged_models JOIN ml_experiments",
    ),
    "registered models": (
        lambda session: search_models(session, UNKNOWN_PROJECT, [], [Order("name", ascending=True)], 0, 100),
        "FROM ml_models",
    ),
    "model versions": (
        lambda session: search_versions(session, UNKNOWN_PROJECT, [], [], 0, 100),
        "FROM ml_model_versions JOIN ml_models",
    ),
}


@pytest.mark.parametrize("search", SEARCHES.values(), ids=SEARCHES.keys())
def test_a_search_is_planned_for_its_values_every_time(engine: Engine, search: tuple[Any, str]) -> None:
    run, its_sql = search
    with Session(engine) as session:
        for _ in range(RUNS_OVER_THE_THRESHOLD):
            assert run(session) == []
        assert prepared_statements(session, its_sql) == 0
