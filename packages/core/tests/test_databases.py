"""The database fixtures (conftest.py, _postgres.py): real servers, one fresh database a test."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import create_async_engine

from . import _postgres
from ._postgres import Database, PostgresServer, enable_sqlite_foreign_keys

metadata = MetaData()
parents = Table("parents", metadata, Column("id", Integer, primary_key=True))
children = Table(
    "children",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("parents.id"), nullable=False),
    Column("name", String(50)),
)


def test_the_postgres_server_is_real(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.conninfo("postgres")) as connection:
        row = connection.execute("SELECT version()").fetchone()
    assert row is not None
    assert "PostgreSQL" in row[0]
    assert row[0] == postgres_server.version


def test_the_database_is_what_it_says(database: Database, engine: sqlalchemy.Engine) -> None:
    assert engine.dialect.name == database.name
    drivers = {"sqlite": ("pysqlite", "aiosqlite"), "postgresql": ("psycopg", "psycopg_async")}
    assert (database.url.get_driver_name(), database.async_url.get_driver_name()) == drivers[
        database.name
    ]
    with engine.connect() as connection:
        if database.name == "postgresql":
            version = connection.execute(text("SELECT version()")).scalar_one()
            assert "PostgreSQL" in version
        else:
            assert connection.execute(text("SELECT sqlite_version()")).scalar_one()
    assert sqlalchemy.inspect(engine).get_table_names() == []


# Two tests in a row: the second must not see the first one's table, nor its database.
_first: dict[str, Database] = {}


def test_a_first_database_gets_a_table(database: Database, engine: sqlalchemy.Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(parents.insert().values(id=1))
    assert set(sqlalchemy.inspect(engine).get_table_names()) == {"parents", "children"}
    _first[database.name] = database


def test_a_second_database_is_another_one(
    database: Database, engine: sqlalchemy.Engine, request: pytest.FixtureRequest
) -> None:
    assert sqlalchemy.inspect(engine).get_table_names() == []
    first = _first.get(database.name)
    if first is None:
        pytest.skip("needs test_a_first_database_gets_a_table to run first")
    assert first.url != database.url
    if database.name == "postgresql":  # the first one is gone
        server: PostgresServer = request.getfixturevalue("postgres_server")
        server.wait()  # for the drop in the background
        names = _database_names(server)
        assert first.url.database not in names
        assert database.url.database in names


def _database_names(server: PostgresServer) -> set[str]:
    with psycopg.connect(server.conninfo("postgres")) as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}


def test_drop_database_ends_leftover_connections(postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database()
    assert name in _database_names(postgres_server)
    with psycopg.connect(postgres_server.conninfo(name)) as leftover:
        leftover.execute("CREATE TABLE t (id integer)")
        postgres_server.drop_database(name)
        postgres_server.wait()
        assert name not in _database_names(postgres_server)
        with pytest.raises(psycopg.OperationalError):
            leftover.execute("SELECT 1")


def test_foreign_keys_are_enforced(engine: sqlalchemy.Engine) -> None:
    metadata.create_all(engine)
    with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as connection:
        connection.execute(children.insert().values(id=1, parent_id=42))
    with engine.begin() as connection:
        connection.execute(parents.insert().values(id=42))
        connection.execute(children.insert().values(id=1, parent_id=42))
    with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as connection:
        connection.execute(parents.delete())
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.select(children.c.parent_id)).scalars().all() == [42]


def test_a_rolled_back_transaction_leaves_nothing(engine: sqlalchemy.Engine) -> None:
    metadata.create_all(engine)
    with engine.connect() as connection:
        connection.execute(parents.insert().values(id=1))
        assert connection.execute(sqlalchemy.select(parents.c.id)).scalars().all() == [1]
        connection.rollback()

    def insert_then_fail() -> None:
        with engine.begin() as connection:  # rolls back on the exception
            connection.execute(parents.insert().values(id=2))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        insert_then_fail()
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.select(parents.c.id)).scalars().all() == []


def test_the_async_url_works(database: Database, engine: sqlalchemy.Engine) -> None:
    async def main() -> list[str]:
        async_engine = create_async_engine(database.async_url)
        enable_sqlite_foreign_keys(async_engine.sync_engine)
        try:
            async with async_engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
                await connection.execute(parents.insert().values(id=7))
                await connection.execute(children.insert().values(id=1, parent_id=7, name="a"))
            with pytest.raises(sqlalchemy.exc.IntegrityError):
                async with async_engine.begin() as connection:
                    await connection.execute(children.insert().values(id=2, parent_id=8))
            async with async_engine.connect() as connection:
                result = await connection.execute(sqlalchemy.select(children.c.name))
                return list(result.scalars())
        finally:
            await async_engine.dispose()

    assert asyncio.run(main()) == ["a"]
    with engine.connect() as connection:  # the same database as the sync URL's
        assert connection.execute(sqlalchemy.select(parents.c.id)).scalars().all() == [7]


# -- _postgres.py without PostgreSQL ------------------------------------------------


def test_without_postgres_the_tests_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_postgres, "find_bindir", lambda: None)
    for value in (None, "", "0"):
        if value is None:
            monkeypatch.delenv(_postgres.REQUIRE_ENV, raising=False)
        else:
            monkeypatch.setenv(_postgres.REQUIRE_ENV, value)
        with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
            _postgres.start_server()


def test_without_postgres_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_postgres, "find_bindir", lambda: None)
    monkeypatch.setenv(_postgres.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=_postgres.REQUIRE_ENV):
        _postgres.start_server()


def _fake_bindir(path: Path, *names: str) -> Path:
    path.mkdir(parents=True)
    for name in names:
        (path / name).write_text("#!/bin/sh\nexit 1\n")
        (path / name).chmod(stat.S_IRWXU)
    return path


def test_find_bindir_prefers_the_newest_debian_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = _fake_bindir(tmp_path / "path", "initdb", "postgres")
    monkeypatch.setenv("PATH", str(on_path))  # and no pg_config
    monkeypatch.setattr(_postgres, "DEBIAN_ROOT", tmp_path / "lib")
    assert _postgres.find_bindir() == on_path
    _fake_bindir(tmp_path / "lib/9.6/bin", "initdb", "postgres")
    _fake_bindir(tmp_path / "lib/10/bin", "initdb", "postgres")
    _fake_bindir(tmp_path / "lib/16/bin", "initdb")  # incomplete: no server
    assert _postgres.find_bindir() == tmp_path / "lib/10/bin"
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    (tmp_path / "lib/10/bin/postgres").unlink()
    assert _postgres.find_bindir() == tmp_path / "lib/9.6/bin"
