"""Database plumbing: the declarative Base, a UTC datetime type, engines for both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Execution option a writing unit of work sets on its connection (see `_configure_sqlite`).
WRITE_OPTION = "parlour_write"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use the Clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# SQLite's `synchronous` levels Parlour accepts (PARLOUR_SQLITE_SYNCHRONOUS), see
# docs/architecture/transactions.md: FULL makes an acknowledged commit survive a power loss.
SQLITE_SYNCHRONOUS_LEVELS = ("FULL", "NORMAL")


def create_engine(
    url: str,
    *,
    echo: bool = False,
    sqlite_synchronous: str = "FULL",
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """An async engine. SQLite gets WAL, a busy timeout, the configured `synchronous` level
    and transactions SQLAlchemy controls; PostgreSQL a pool of `pool_size` connections kept
    open plus up to `max_overflow` more under load (docs/operations.md)."""
    if is_sqlite(url):
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS_LEVELS:
            raise ValueError(
                f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS_LEVELS}, "
                f"not {sqlite_synchronous!r}"
            )
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine, synchronous=sqlite_synchronous)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )


def _configure_sqlite(engine: AsyncEngine, *, synchronous: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself, so SAVEPOINTs and BEGIN IMMEDIATE behave.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL in WAL mode: every commit is fsynced before it returns, so an acknowledged
        # message survives a power loss (group commit pays that once per batch). NORMAL:
        # durable against a crash of the process; a power loss may drop the last transactions
        # but never corrupts the database. The level is checked above: it is no user input.
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A unit of work that writes takes the write lock up front: its read-then-write
        # sections (next seq) cannot then fail with SQLITE_BUSY half way, and writers queue on
        # busy_timeout instead. Readers stay deferred and never block on writers (WAL).
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
