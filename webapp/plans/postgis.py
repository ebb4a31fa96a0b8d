"""The plan store on PostgreSQL + PostGIS, for an office where many planners share plans.

The dialect only: connections from a ``psycopg_pool`` pool, transactions that lock the plan
row (``SELECT ... FOR UPDATE``) so that of two planners saving the same version exactly
one wins, a ``REPEATABLE READ`` snapshot for reads, the schema version in a one-row table,
and the schema itself: ``features.geometry`` is ``geometry(Geometry, 4326)`` with a GiST
index and ``properties`` is ``jsonb``; GeoJSON in (``ST_GeomFromGeoJSON``), GeoJSON out
(``ST_AsGeoJSON``).  Values are bound as parameters by the server, never formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from geo.errors import InputDataError
from webapp.plans.base import PlanStore, StoreUnavailableError, iter_statements

logger = logging.getLogger(__name__)

__all__ = ["PostgisPlanStore", "describe_location"]

#: Seconds to wait for the server (or a free pooled connection) before the store is reported unavailable.
CONNECT_TIMEOUT_S = 5
#: Connections the pool keeps open at most; more concurrent requests wait for one.
MAX_CONNECTIONS = 8
#: Decimal digits of coordinates in the GeoJSON read back (1e-15 degrees: below any survey precision).
GEOJSON_DECIMALS = 15
#: Key of the advisory lock that serialises schema changes among processes starting together.
SCHEMA_LOCK_KEY = 0x4C696E6C69  # "Linli"

_V1 = """
CREATE TABLE IF NOT EXISTS plans (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    notes       text        NOT NULL DEFAULT '',
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE TABLE IF NOT EXISTS features (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     bigint NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    kind        text   NOT NULL CHECK (kind IN ('area', 'candidate', 'town', 'grid')),
    name        text   NOT NULL DEFAULT '',
    geometry    geometry(Geometry, 4326) NOT NULL,
    properties  jsonb  NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS features_plan ON features (plan_id);
CREATE INDEX IF NOT EXISTS features_geometry_gist ON features USING gist (geometry)
"""
#: Version 2: the plan list (live or recycle bin, newest first) read from an index.
_V2 = "CREATE INDEX IF NOT EXISTS plans_listing ON plans (deleted_at, updated_at)"
#: Version 3: who created a plan and who last saved it (account names; '' for plans made before).
_V3 = (
    "ALTER TABLE plans ADD COLUMN IF NOT EXISTS created_by text NOT NULL DEFAULT ''",
    "ALTER TABLE plans ADD COLUMN IF NOT EXISTS updated_by text NOT NULL DEFAULT ''",
)
#: Version 4: each project's grid plan (网格) and every version of it (issue 20).
_V4 = """
CREATE TABLE IF NOT EXISTS grid_plans (
    project     text        PRIMARY KEY,
    version     integer     NOT NULL,
    base        text        NOT NULL,
    state       text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grid_versions (
    project     text        NOT NULL,
    version     integer     NOT NULL,
    op          text        NOT NULL,
    summary     text        NOT NULL DEFAULT '',
    user_name   text        NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    snapshot    text        NOT NULL,
    PRIMARY KEY (project, version)
)
"""


def describe_location(url: str) -> str:
    """``host:port/dbname`` of a libpq URL, for messages and logs (never the user or password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "?"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgisPlanStore(PlanStore):
    """The plan database on PostgreSQL + PostGIS.  Thread-safe: a pooled connection per call.

    Parameters
    ----------
    url
        A libpq URL, ``postgresql://linli@db.office.lan:5432/linli``.  The database
        must exist; the ``postgis`` extension is created if the role may, otherwise
        an administrator runs ``CREATE EXTENSION postgis`` once.

    Raises
    ------
    StoreUnavailableError
        Server unreachable, login refused, database missing, PostGIS missing, the server
        read-only (a hot standby), or a schema written by a newer Linli: said at start
        rather than at the first save.
    """

    MIGRATIONS = (tuple(iter_statements(_V1)), (_V2,), _V3, tuple(iter_statements(_V4)))
    _LOCK = " FOR UPDATE"
    _FEATURE_SELECT = f"id, kind, name, ST_AsGeoJSON(geometry, {GEOJSON_DECIMALS})::json AS geometry, properties"
    _FEATURE_VALUES = "(?, ?, ?, ST_SetSRID(ST_GeomFromGeoJSON(?), 4326), ?::jsonb)"
    _JSON_PARAM = "?::jsonb"

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = describe_location(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=MAX_CONNECTIONS,
            timeout=CONNECT_TIMEOUT_S,
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not lent
            kwargs={
                "autocommit": True,  # transactions are explicit: `with con.transaction()`
                "row_factory": dict_row,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": "linli",
            },
            open=False,
            name="linli-plans",
        )
        try:
            self._pool.open(wait=False)
            with self._connection() as con:
                if con.execute("SHOW transaction_read_only").fetchone()["transaction_read_only"] == "on":
                    raise StoreUnavailableError(
                        f"方案库 {self.location} 只读（可能是备用服务器） (the plan database is read-only)"
                    )
                with con.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                    self._ensure_postgis(con)
                    self._migrate(con)
        except psycopg.Error as exc:
            self.close()
            raise self._unavailable(exc) from exc
        except BaseException:
            self.close()  # the caller gets no store to close
            raise
        logger.info("plan store: PostgreSQL + PostGIS at %s", self.location)

    def _ensure_postgis(self, con: psycopg.Connection) -> None:
        if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        try:
            with con.transaction():  # a savepoint: a refused CREATE EXTENSION leaves the outer transaction usable
                con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except (
            psycopg.errors.InsufficientPrivilege,
            psycopg.errors.FeatureNotSupported,
            psycopg.errors.UndefinedFile,
        ) as exc:
            raise StoreUnavailableError(
                f"方案库 {self.location} 未启用 PostGIS: 请管理员执行 CREATE EXTENSION postgis "
                f"(PostGIS is not installed in the plan database: {type(exc).__name__})"
            ) from exc

    def _unavailable(self, exc: Exception) -> StoreUnavailableError:
        # The server's message may name hosts and users; the log gets it, the planner gets the gist.
        logger.warning("plan store %s unavailable: %s", self.location, exc)
        name = "OperationalError" if isinstance(exc, PoolTimeout) else type(exc).__name__
        return StoreUnavailableError(f"无法连接方案库 {self.location} (cannot use the plan database): {name}")

    # ------------------------------------------------------------- connections

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """Borrow a pooled connection (broken ones are checked out and replaced by the pool)."""
        with self._pool.connection() as con:
            yield con

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        try:
            with self._connection() as con, con.transaction():
                yield con
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            # ST_GeomFromGeoJSON refuses what is not GeoJSON geometry (XX000); the transaction rolled back.
            raise InputDataError(
                f"图形无法保存为 PostGIS 几何 (a geometry is not valid GeoJSON): {type(exc).__name__}"
            ) from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with self._tx() as con:
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # plan and features from one snapshot
            yield con

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s")

    def _executemany(self, con: psycopg.Connection, query: str, rows: list[tuple]) -> None:
        with con.cursor() as cur:
            cur.executemany(self._sql(query), rows)

    def _decode_feature(self, row: dict) -> dict:
        return dict(row)

    # ------------------------------------------------------------------ schema

    def _get_version(self, con: psycopg.Connection) -> int:
        con.execute("CREATE TABLE IF NOT EXISTS linli_schema (version integer NOT NULL)")
        row = con.execute("SELECT version FROM linli_schema").fetchone()
        return 0 if row is None else int(row["version"])

    def _set_version(self, con: psycopg.Connection, version: int) -> None:
        con.execute("DELETE FROM linli_schema")
        con.execute("INSERT INTO linli_schema (version) VALUES (%s)", (version,))

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _iso(self, value: dt.datetime | None) -> str | None:
        return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="seconds")

    def purge_old_versions(self) -> None:
        """``VACUUM FULL`` the plan tables: rewritten without the dead row versions holding removed values."""
        try:
            with self._connection() as con:  # autocommit: VACUUM cannot run in a transaction
                con.execute("VACUUM FULL plans, features")
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    def integrity_ok(self) -> bool:
        """The server answers, PostGIS is there and every geometry is in SRID 4326 under an existing plan."""
        try:
            with self._tx() as con:
                row = con.execute(
                    "SELECT (SELECT COUNT(*) FROM pg_extension WHERE extname = 'postgis') AS postgis, "
                    "(SELECT COUNT(*) FROM features f LEFT JOIN plans p ON p.id = f.plan_id "
                    " WHERE p.id IS NULL OR ST_SRID(f.geometry) <> 4326) AS bad"
                ).fetchone()
        except StoreUnavailableError:
            return False
        return row["postgis"] == 1 and row["bad"] == 0

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()
