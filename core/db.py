"""Engine, sessions and migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event, exc
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
PING_AFTER_IDLE_SECONDS = 10.0


def make_engine(url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """An engine for SQLite (file or memory) or PostgreSQL, with the pragmas Relais relies on; a PostgreSQL
    connection idle for ``ping_after_idle`` seconds is pinged before use."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, echo=echo, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            # Let SQLAlchemy, not the driver, begin transactions (see _begin_immediate).
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):  # pragma: no cover - trivial
            # Take the write lock up front: a read transaction that later writes would otherwise fail
            # with "database is locked" instead of waiting when another process writes.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, echo=echo, pool_size=5, max_overflow=10)

    # A pooled connection that sat idle is checked with a ping before use (the server may have restarted
    # meanwhile); one handed back moments ago is not, which saves a round trip per transaction under load. A
    # connection that broke since its last use fails that one transaction, which the callers retry
    # (core.inbox keeps the event, Telegram fetches the update again, delivery retries the message), and
    # SQLAlchemy then replaces every pooled connection of that age.
    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection, record):  # pragma: no cover - trivial
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_after_idle(dbapi_connection, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < ping_after_idle:
            return  # a new connection, or one used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool retries with a new connection
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error
        if not alive:
            raise exc.DisconnectionError("stale pooled connection")

    return engine


def upsert_insert(dialect: str):
    """The ``insert`` of ``dialect`` that has ON CONFLICT (PostgreSQL and SQLite both do): one statement
    that inserts or updates a row two processes may create at the same moment."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


class Database:
    """The hub's storage: an engine and a way to open short transactions."""

    def __init__(self, url: str, *, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def upgrade(self) -> None:
        upgrade(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
