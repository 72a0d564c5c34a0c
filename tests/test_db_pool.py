"""PostgreSQL connections kept in the pool: pinged after they sat idle, not before every transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc
from sqlmodel import func, select

from core.db import Database, make_engine
from core.inbox import unavailable
from core.models import SeenEvent
from tests.test_outages import cluster  # noqa: F401 - a PostgreSQL cluster of its own, stopped and restarted


def events(db: Database) -> int:
    with db.session() as s:
        return int(s.exec(select(func.count()).select_from(SeenEvent)).one())


def test_an_idle_connection_is_pinged_and_replaced_after_a_restart(cluster):  # noqa: F811
    pg, url = cluster
    db = Database(url, engine=make_engine(url, ping_after_idle=0.0))
    assert events(db) == 0  # one connection in the pool
    pg.stop_server()
    pg.start_server()
    assert events(db) == 0  # the ping found it broken: a new connection, no error
    db.dispose()


def test_a_connection_used_a_moment_ago_fails_once_then_is_replaced(cluster):  # noqa: F811
    pg, url = cluster
    db = Database(url)
    assert events(db) == 0
    pg.stop_server()
    pg.start_server()
    with pytest.raises(sa_exc.DBAPIError) as failed:
        events(db)
    assert unavailable(failed.value)  # what core.inbox keeps and retries
    assert events(db) == 0
    db.dispose()
