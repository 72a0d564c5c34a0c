"""Shared fixtures: a real PostgreSQL 15 cluster started by the tests, SQLite files, hubs with a fake clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from core.settings import Settings

START = datetime(2020, 3, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg():
    """One throwaway cluster per test session, with a migrated template database to clone."""
    from core import catalog
    from core.db import Database, upgrade
    from relais.testing.pg import PgCluster

    cluster = PgCluster().start()
    try:
        url = cluster.create_database("relais_template")
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            catalog.seed(s)
        db.dispose()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    from core import catalog
    from core.db import Database, upgrade

    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        catalog.seed(s)
    db.dispose()
    return path


def fresh_url(kind: str, request, tmp_path) -> str:
    if kind == "sqlite":
        import shutil

        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / f"relais-{next(_counter)}.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    cluster = request.getfixturevalue("pg")
    return cluster.create_database(f"t{next(_counter)}", template="relais_template")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A migrated, seeded, empty database of each kind."""
    return fresh_url(request.param, request, tmp_path)


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, _env_file=None)


@pytest.fixture
def clock():
    from core.ports import FakeClock

    return FakeClock(START)


@pytest.fixture
def hub(settings, clock):
    from core.db import Database
    from core.hub import Hub

    db = Database(settings.database_url)
    yield Hub(db, settings=settings, clock=clock)
    db.dispose()
