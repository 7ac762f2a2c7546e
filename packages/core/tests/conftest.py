"""Fixtures shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from ._postgres import (
    Database,
    PostgresServer,
    enable_sqlite_foreign_keys,
    enable_sqlite_savepoints,
    start_server,
)

# ==================================================================================
# Databases: SQLite and a real PostgreSQL server that the tests start (_postgres.py).
#
#   postgres_server  session   the running PostgresServer; skips without PostgreSQL
#                              (fails instead if IMAGEATTACH_REQUIRE_POSTGRES is set)
#   database         function  a fresh empty Database, parametrized: [sqlite], [postgresql]
#   engine           function  sqlalchemy.create_engine(database.url), foreign keys on
#
# For annotations and async engines: from ._postgres import Database,
# enable_sqlite_foreign_keys (pass it an AsyncEngine's sync_engine).
# ==================================================================================


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, stopped (and removed) at its end."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of its own for each test: a new SQLite file, or a new
    PostgreSQL database (dropped afterwards) on the session's server."""
    if request.param == "sqlite":
        path = str(tmp_path / "test.sqlite3")
        yield Database(
            "sqlite",
            sqlalchemy.URL.create("sqlite+pysqlite", database=path),
            sqlalchemy.URL.create("sqlite+aiosqlite", database=path),
        )
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield Database("postgresql", server.url(name), server.url(name, driver="psycopg_async"))
    finally:
        server.drop_database(name)


@pytest.fixture
def engine(database: Database) -> Iterator[sqlalchemy.Engine]:
    """An engine on ``database``; SQLite enforces foreign keys and keeps savepoints inside
    the transaction, as PostgreSQL does."""
    engine = sqlalchemy.create_engine(database.url)
    enable_sqlite_foreign_keys(engine)
    enable_sqlite_savepoints(engine)
    try:
        yield engine
    finally:
        engine.dispose()


# ==================================================================================
# End of the database fixtures.
# ==================================================================================
