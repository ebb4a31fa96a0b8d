"""The plan store on SQLite (WAL), the default: one office machine, many browser tabs.

The dialect only: a connection per thread, ``BEGIN IMMEDIATE`` write transactions (the
database lock stands in for row locks), a deferred read transaction as the snapshot, the
schema version in ``PRAGMA user_version``, and the errors SQLite raises mapped to the
store's (disk full, unusable folder).  Geometries are stored as GeoJSON text in WGS84.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from webapp.plans.base import PlanStore, StoreFullError, StoreUnavailableError, iter_statements

logger = logging.getLogger(__name__)

__all__ = ["SqlitePlanStore"]

_V1 = """
CREATE TABLE IF NOT EXISTS plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    notes       TEXT    NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    deleted_at  TEXT
);
CREATE TABLE IF NOT EXISTS features (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id     INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('area', 'candidate', 'town', 'grid')),
    name        TEXT    NOT NULL DEFAULT '',
    geometry    TEXT    NOT NULL,
    properties  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS features_plan ON features(plan_id);
"""
#: Version 2: the plan list (live or recycle bin, newest first) read from an index.
_V2 = "CREATE INDEX IF NOT EXISTS plans_listing ON plans(deleted_at, updated_at)"
#: Version 3: who created a plan and who last saved it (account names; '' for plans made before).
_V3 = (
    "ALTER TABLE plans ADD COLUMN created_by TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE plans ADD COLUMN updated_by TEXT NOT NULL DEFAULT ''",
)
#: Version 4: each project's grid plan (网格) and every version of it (issue 20).
_V4 = """
CREATE TABLE IF NOT EXISTS grid_plans (
    project     TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    base        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grid_versions (
    project     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    op          TEXT    NOT NULL,
    summary     TEXT    NOT NULL DEFAULT '',
    user_name   TEXT    NOT NULL DEFAULT '',
    at          TEXT    NOT NULL,
    snapshot    TEXT    NOT NULL,
    PRIMARY KEY (project, version)
)
"""


class SqlitePlanStore(PlanStore):
    """The plan database in one SQLite file (WAL).  Thread-safe: one connection per thread.

    Raises
    ------
    StoreUnavailableError
        The folder is read-only, the file is not a database, WAL is refused (a network
        share) or the file was written by a newer Linli: said at start, not at the first save.
    """

    MIGRATIONS = (tuple(iter_statements(_V1)), (_V2,), _V3, tuple(iter_statements(_V4)))

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.location = self.path.name
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK):
                raise StoreUnavailableError(
                    f"方案库所在文件夹不可写: {self.path.parent.name} (plan store folder is read-only)"
                )
            mode = self._conn().execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # WAL needs shared memory: network file systems refuse it.
                raise StoreUnavailableError(
                    f"方案库无法使用 WAL 模式（可能在网络共享盘上）: journal_mode={mode} "
                    "(the plan store must be on a local disk)"
                )
            with self._tx() as con:
                self._migrate(con)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(
                f"无法打开方案库 {self.path.name} (cannot open the plan store): {type(exc).__name__}"
            ) from exc
        except StoreUnavailableError as exc:
            if isinstance(exc.__cause__, sqlite3.Error):
                raise StoreUnavailableError(
                    f"无法打开方案库 {self.path.name} (cannot open the plan store): {type(exc.__cause__).__name__}"
                ) from exc.__cause__
            raise

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=True)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA busy_timeout=10000")
            self._local.con = con
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = self._conn()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower():
                # The transaction is rolled back: the plan keeps its last saved version.
                raise StoreFullError(
                    "磁盘已满，方案未保存（已保存的版本完好）；请清理磁盘后重试 "
                    "(disk full: the plan was not saved; the saved version is intact)"
                ) from exc
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailableError(
                    f"方案库写入失败，方案未保存 (the plan store could not be written: {type(exc).__name__})"
                ) from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        con = self._conn()
        con.execute("BEGIN")  # deferred: a read snapshot that blocks no writer (WAL)
        try:
            yield con
        finally:
            if con.in_transaction:
                con.execute("COMMIT")

    def _get_version(self, con: sqlite3.Connection) -> int:
        return int(con.execute("PRAGMA user_version").fetchone()[0])

    def _set_version(self, con: sqlite3.Connection, version: int) -> None:
        con.execute(f"PRAGMA user_version = {int(version)}")  # PRAGMA takes no parameters

    def _now(self) -> str:
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def _iso(self, value: str | None) -> str | None:
        return value

    def purge_old_versions(self) -> None:
        """Rewrite the file (``VACUUM``) and empty the WAL: no old page keeps a removed value."""
        con = self._conn()
        con.execute("VACUUM")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ok."""
        return self._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
