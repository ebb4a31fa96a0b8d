"""A throw-away PostgreSQL + PostGIS server on loopback for the plan store's tests.

``make test`` installs the Debian packages ``postgresql`` and ``postgresql-postgis``;
the session fixture :func:`postgis_server` then runs ``initdb`` in a temporary folder
(as the ``postgres`` OS user when the tests run as root: PostgreSQL refuses to run as
root), starts ``postgres`` on 127.0.0.1 at a free port with its unix socket in that
folder, creates a template database with ``CREATE EXTENSION postgis``, and stops the
server and removes the folder at the end of the session.  :func:`postgis_url` gives
each test a fresh database cloned from the template.

When the server cannot be started (packages missing, no ``postgres`` user ...), every
test that needs it is skipped with the reason; the SQLite tests still run.

Environment: ``LINLI_PG_BINDIR`` names the folder of ``initdb``/``pg_ctl`` when they
are not in ``/usr/lib/postgresql/*/bin`` or on ``PATH``.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "postgis_server", "postgis_url"]

#: Role created by initdb for the tests (trust authentication, loopback and the private socket only).
TEST_ROLE = "linli_test"
TEMPLATE_DB = "linli_template"
START_TIMEOUT_S = 60


class ServerUnavailable(RuntimeError):
    """Why the test server could not be started (becomes the skip message)."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first)."""
    candidates = [os.environ.get("LINLI_PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    which = shutil.which("initdb")
    candidates += [str(Path(which).parent)] if which else []
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise ServerUnavailable("initdb/pg_ctl not found: install the Debian packages postgresql and postgresql-postgis")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running test server; :meth:`stop` shuts it down and removes its folder."""

    bindir: Path
    root: Path
    port: int
    user: str | None  # OS user the server runs as (None: the current one)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql://{TEST_ROLE}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            check=False,
        )

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root and there is no 'postgres' OS user for the server") from None
            user = "postgres"
        # As root, the server's user must reach the folder: /tmp rather than a private TMPDIR.
        root = Path(tempfile.mkdtemp(prefix="linli-pg-", dir="/tmp" if user and os.path.isdir("/tmp") else None))
        if user:
            shutil.chown(root, user=user)
        server = cls(bindir=bindir, root=root, port=free_port(), user=user)
        try:
            server._init_and_start()
        except BaseException:
            server.stop()
            raise
        return server

    def _init_and_start(self) -> None:
        done = self._run(
            "initdb", "-D", str(self.data), "-U", TEST_ROLE, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip()[-400:]}")
        options = (
            f"-p {self.port} -k '{self.root}' -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        done = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "start",
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-400:] if self.log.exists() else done.stderr
            raise ServerUnavailable(f"pg_ctl start failed: {tail.strip()}")
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {TEMPLATE_DB}")  # fixed identifier, nothing from outside
        with psycopg.connect(self.url(TEMPLATE_DB), autocommit=True) as con:
            try:
                con.execute("CREATE EXTENSION postgis")
            except psycopg.Error as exc:
                raise ServerUnavailable(
                    f"PostGIS is not installed for this PostgreSQL ({exc.__class__.__name__}): "
                    "install the Debian package postgresql-postgis"
                ) from exc

    _counter = itertools.count(1)

    def create_database(self) -> str:
        """A fresh database with PostGIS (cloned from the template); its URL."""
        import psycopg

        name = f"linli_test_{next(self._counter)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")  # generated identifier
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # generated identifier

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgis_server():
    """The session's PostgreSQL + PostGIS server (skips the test when it cannot start)."""
    try:
        server = PostgresServer.start()
    except Exception as exc:  # noqa: BLE001 - any failure to start means "skip the PostGIS tests", never a failed suite
        pytest.skip(f"PostgreSQL+PostGIS test server could not start, PostGIS tests skipped: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def postgis_url(postgis_server):
    """A fresh PostGIS database for one test, dropped afterwards."""
    url = postgis_server.create_database()
    yield url
    postgis_server.drop_database(url)
