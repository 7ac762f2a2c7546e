"""The test databases: a throwaway PostgreSQL server, SQLite's foreign keys, their URLs.

The tests start their own server (never one set up by hand): :func:`find_bindir` finds
``initdb`` and ``postgres``, :class:`PostgresServer` runs them in a temporary directory
(as an unprivileged user when the tests run as root, since PostgreSQL refuses to run
as root), listening on ``127.0.0.1`` with ``trust`` authentication and without
durability (``fsync=off``: the data is thrown away anyway).  :func:`start_server`
is what the ``postgres_server`` fixture calls: it skips, or fails when
``IMAGEATTACH_REQUIRE_POSTGRES`` is set (as ``.ci/run`` does), without binaries.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
import sqlalchemy
from psycopg import sql
from psycopg.conninfo import make_conninfo

REQUIRE_ENV = "IMAGEATTACH_REQUIRE_POSTGRES"
INSTALL_HINT = "apt-get install postgresql"
SUPERUSER = "imageattach"
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # Debian's and Ubuntu's /usr/lib/postgresql/15/bin
_BINARIES = ("initdb", "postgres")
WHERE = "no initdb and postgres in pg_config --bindir, /usr/lib/postgresql/*/bin or the PATH"


@dataclasses.dataclass(frozen=True)
class Database:
    """An empty database for one test: its backend's name and its SQLAlchemy URLs."""

    name: str  # "sqlite" or "postgresql", the test id
    url: sqlalchemy.URL  # for sqlalchemy.create_engine
    async_url: sqlalchemy.URL  # for sqlalchemy.ext.asyncio.create_async_engine


def enable_sqlite_foreign_keys(engine: sqlalchemy.Engine) -> None:
    """Make SQLite enforce foreign keys (off by default), as PostgreSQL does.

    For an ``AsyncEngine``, pass its ``sync_engine``.  No-op for other databases.
    """
    if engine.dialect.name != "sqlite":
        return

    @sqlalchemy.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def enable_sqlite_savepoints(engine: sqlalchemy.Engine) -> None:
    """SQLAlchemy's recipe for SQLite savepoints: the driver's own BEGIN off, ours on.

    Without it pysqlite begins no transaction before the first SAVEPOINT, so releasing
    that savepoint commits, behind the session's back.  No-op for other databases.
    """
    if engine.dialect.name != "sqlite":
        return

    @sqlalchemy.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: object) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _on_begin(connection: sqlalchemy.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def _has_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _BINARIES)


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``postgres``, or None if there is none.

    Looks in ``pg_config --bindir``, then ``/usr/lib/postgresql/*/bin`` (Debian and
    Ubuntu, which keep the server off the PATH), newest version first, then the PATH.
    """
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(done.stdout.strip()))
    candidates += sorted(DEBIAN_ROOT.glob("*/bin"), key=_version_key, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    return next((bindir for bindir in candidates if _has_binaries(bindir)), None)


def _unprivileged_user() -> tuple[str, int] | None:
    """The user (and their group id) to run the server as: None (ourselves) unless root."""
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return name, pwd.getpwnam(name).pw_gid
    raise RuntimeError("running as root, and there is neither a postgres nor a nobody user")


def _scratch_parent() -> str | None:
    """Where to put the server's directory: a roomy /dev/shm (RAM), else the default.

    Every test creates a database (a copy of about 8 MB): on a slow disk that takes
    hundreds of milliseconds, even with fsync off; in memory, about 15.
    """
    shm = "/dev/shm"
    with contextlib.suppress(OSError):
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 1 << 30:
            return shm
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A PostgreSQL server in a temporary directory, for one test session.

    ``with PostgresServer(bindir) as server:`` starts it and stops it; in between,
    :meth:`create_database` returns the name of a fresh empty database, and
    :meth:`drop_database` drops one.  A worker thread does both, so that a test need
    not wait for them: it creates the next database while a test runs, and drops
    the last one while the next test runs.
    """

    def __init__(self, bindir: Path, *, timeout: float = 60.0) -> None:
        self.bindir = bindir
        self.timeout = timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.directory: Path | None = None
        self.version = ""  # the server's SELECT version(), once started
        self._server_version = 0  # e.g. 150004 for 15.4
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._names = itertools.count(1)
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None  # uses _admin
        self._spare: concurrent.futures.Future[str] | None = None  # the next database
        self._drops: list[concurrent.futures.Future[None]] = []
        self._user: str | None = None  # whom the server runs as; None: ourselves
        self._group: int | None = None
        self._env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Run initdb, start the server, and wait until it accepts connections."""
        if unprivileged := _unprivileged_user():
            self._user, self._group = unprivileged
        self.directory = Path(tempfile.mkdtemp(prefix="imageattach-pg-", dir=_scratch_parent()))
        try:
            if self._user is not None:  # mkdtemp's 0700 directory must be the server's own
                shutil.chown(self.directory, self._user, self._group)
            self._initdb()
            for attempt in range(3):  # another process may take the free port meanwhile
                self._spawn()
                try:
                    self._wait_until_ready()
                    break
                except RuntimeError:
                    if attempt == 2 or "Address already in use" not in self.log():
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (a fast shutdown) and remove its directory.

        Raises the error of a drop_database that failed, if any, once all is clean.
        """
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
        self._spare = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self._terminate()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        self._raise_failed_drops()

    def _initdb(self) -> None:
        assert self.directory is not None
        command = [str(self.bindir / "initdb"), "--pgdata", str(self.directory / "data")]
        command += ["--username", SUPERUSER, "--auth", "trust", "--encoding", "UTF8"]
        command += ["--locale", "C", "--no-sync"]
        done = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=self.timeout,
            check=False,
            cwd=self.directory,
            env=self._env,
            user=self._user,
            group=self._group,
            extra_groups=None if self._user is None else [],
        )
        if done.returncode != 0:
            output = done.stdout.decode(errors="replace")
            raise RuntimeError(f"initdb failed (exit status {done.returncode}):\n{output}")

    def _spawn(self) -> None:
        assert self.directory is not None
        self._terminate()
        self.port = _free_port()
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.directory / "data")]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        self._log = (self.directory / "postgres.log").open("ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env=self._env,
            user=self._user,
            group=self._group,
            extra_groups=None if self._user is None else [],
        )

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._admin = psycopg.connect(self.conninfo("postgres"), autocommit=True)
                break
            except psycopg.OperationalError as error:
                if self._process.poll() is not None:
                    raise self._failure(f"exited with status {self._process.returncode}") from None
                if time.monotonic() > deadline:
                    raise self._failure(f"not ready after {self.timeout} s: {error}") from None
                time.sleep(0.05)
        row = self._admin.execute("SELECT version()").fetchone()
        self.version = str(row[0]) if row else ""
        self._server_version = self._admin.info.server_version
        self._worker = concurrent.futures.ThreadPoolExecutor(1, "imageattach-postgres")

    def _failure(self, what: str) -> RuntimeError:
        log = self.log()
        return RuntimeError(f"PostgreSQL server ({self.bindir}/postgres) {what}; its log:\n{log}")

    def _terminate(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)  # a fast shutdown
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        """The server's output so far (its log)."""
        if self.directory is None:
            return ""
        try:
            return (self.directory / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- connections and databases ------------------------------------------------

    def conninfo(self, database: str) -> str:
        """A libpq connection string for ``database``."""
        return make_conninfo(host=self.host, port=self.port, user=SUPERUSER, dbname=database)

    def url(self, database: str, *, driver: str = "psycopg") -> sqlalchemy.URL:
        """SQLAlchemy's URL of ``database`` (``driver="psycopg_async"`` for asyncio)."""
        return sqlalchemy.URL.create(
            f"postgresql+{driver}",
            username=SUPERUSER,
            host=self.host,
            port=self.port,
            database=database,
        )

    def create_database(self) -> str:
        """Create a fresh, empty database (a copy of template0) and return its name.

        The worker thread makes the next one meanwhile: it is ready when asked for.
        """
        self._raise_failed_drops()
        worker = self._running()
        current = self._spare or worker.submit(self._create)
        self._spare = worker.submit(self._create)
        return current.result()

    def drop_database(self, name: str) -> None:
        """Drop the database ``name``, terminating any connection still open to it.

        In the background: a failure is raised by the next create_database, wait or stop.
        """
        self._drops.append(self._running().submit(self._drop, name))

    def wait(self) -> None:
        """Wait for the drops in the background, and raise the error of one that failed."""
        concurrent.futures.wait(self._drops)
        self._raise_failed_drops()

    def _running(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._worker is None:
            raise RuntimeError("the PostgreSQL server is not running")
        return self._worker

    def _raise_failed_drops(self) -> None:
        done = [drop for drop in self._drops if drop.done()]
        self._drops = [drop for drop in self._drops if not drop.done()]
        for drop in done:
            drop.result()

    def _execute(self, query: sql.SQL | sql.Composed, *params: object) -> None:
        assert self._admin is not None
        self._admin.execute(query, params or None)

    def _create(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        )
        return name

    def _drop(self, name: str) -> None:
        self._execute(
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()"
            ),
            name,
        )
        force = sql.SQL(" WITH (FORCE)" if self._server_version >= 130000 else "")
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force))


def start_server() -> PostgresServer:
    """A started server; without PostgreSQL, a skip (or, in CI, a failure)."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):  # .ci/run: never skip in CI
            pytest.fail(f"{REQUIRE_ENV} is set but PostgreSQL is not installed: {WHERE}")
        pytest.skip(f"PostgreSQL is not installed: {WHERE} (CI installs it: {INSTALL_HINT})")
    server = PostgresServer(bindir)
    server.start()
    return server
