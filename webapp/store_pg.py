"""The plan store on PostgreSQL + PostGIS, for an office where many planners share plans.

Selected by :func:`webapp.store.open_store` when ``PLAN_DB`` is a ``postgresql://``
URL.  Same public methods and semantics as the SQLite :class:`webapp.store.PlanStore`
(the validation helpers and errors are shared from there); this module holds the
PostgreSQL schema and SQL:

* ``plans``: as on SQLite, timestamps as ``timestamptz`` (returned as ISO-8601 UTC text);
* ``features``: ``geometry(Geometry, 4326)`` with a GiST index, ``properties`` as
  ``jsonb``; GeoJSON in (``ST_GeomFromGeoJSON``), GeoJSON out (``ST_AsGeoJSON``).

Every write is one transaction.  A save locks the plan row (``SELECT ... FOR UPDATE``),
checks the version and updates ``WHERE version = %s``, so of two planners saving the
same version exactly one wins and the other gets :class:`StaleVersionError` (F3).
Values are always bound as parameters (psycopg server-side binding), never formatted
into SQL (G9).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from geo.errors import InputDataError
from webapp.store import (
    MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
    Feature,
    NotFoundError,
    StaleVersionError,
    StoreUnavailableError,
    _check_text,
    _check_version,
    _feature_rows,
    _plan_id,
    _stale,
)

logger = logging.getLogger(__name__)

__all__ = ["PgPlanStore"]

#: Seconds to wait for the server before the store is reported unavailable.
CONNECT_TIMEOUT_S = 5
#: Idle connections kept for reuse; more concurrent requests open (and later close) extra ones.
MAX_IDLE_CONNECTIONS = 8
#: Decimal digits of coordinates in the GeoJSON read back (1e-15 degrees: below any survey precision).
GEOJSON_DECIMALS = 15
#: Key of the advisory lock that serialises schema creation among processes starting together.
SCHEMA_LOCK_KEY = 0x4C696E6C69  # "Linli"

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS features_geometry_gist ON features USING gist (geometry);
"""

_PLAN_COLUMNS = "p.id, p.name, p.notes, p.version, p.created_at, p.updated_at, p.deleted_at"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _plan_dict(row: dict) -> dict:
    plan = dict(row)
    for key in ("created_at", "updated_at", "deleted_at"):
        plan[key] = _iso(plan[key])
    return plan


def describe_location(url: str) -> str:
    """``host:port/dbname`` of a libpq URL, for messages and logs (never the user or password)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "?"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PgPlanStore:
    """The plan database on PostgreSQL + PostGIS.  Thread-safe: a connection is borrowed per call.

    Parameters
    ----------
    url
        A libpq URL, ``postgresql://linli@db.office.lan:5432/linli``.  The database
        must exist; the ``postgis`` extension is created if the role may, otherwise
        an administrator runs ``CREATE EXTENSION postgis`` once.

    Raises
    ------
    StoreUnavailableError
        Server unreachable, login refused, database missing, PostGIS missing, or the
        server is read-only (a hot standby): C6, said at start rather than at the first save.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = describe_location(url)
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        try:
            with self._connection() as con:
                if con.execute("SHOW transaction_read_only").fetchone()["transaction_read_only"] == "on":
                    raise StoreUnavailableError(
                        f"方案库 {self.location} 只读（可能是备用服务器） (the plan database is read-only)"
                    )
                with con.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
                    self._ensure_postgis(con)
                    con.execute(SCHEMA)
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
        return StoreUnavailableError(
            f"无法连接方案库 {self.location} (cannot use the plan database): {type(exc).__name__}"
        )

    # ------------------------------------------------------------- connections

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(
            self.url,
            autocommit=True,  # transactions are explicit: `with con.transaction()`
            row_factory=dict_row,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="linli",
        )

    @contextmanager
    def _connection(self):
        """Borrow a connection (a pooled idle one, or a new one); broken ones are dropped."""
        with self._lock:
            con = self._idle.pop() if self._idle else None
        if con is None or con.closed:
            con = self._connect()
        try:
            yield con
        finally:
            reusable = not con.closed and con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            with self._lock:
                if reusable and len(self._idle) < MAX_IDLE_CONNECTIONS:
                    self._idle.append(con)
                    con = None
            if con is not None:
                con.close()

    @contextmanager
    def _tx(self):
        """One transaction; connection failures become :class:`StoreUnavailableError`."""
        try:
            with self._connection() as con, con.transaction():
                yield con
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from exc

    # ------------------------------------------------------------------ reading

    def list_plans(self, *, deleted: bool = False) -> list[dict]:
        """Plans (without features), newest first; ``deleted=True`` lists the recycle bin."""
        with self._tx() as con:
            rows = con.execute(
                f"SELECT {_PLAN_COLUMNS}, (SELECT COUNT(*) FROM features f WHERE f.plan_id = p.id) AS n_features "
                "FROM plans p WHERE (p.deleted_at IS NOT NULL) = %s ORDER BY p.updated_at DESC, p.id DESC",
                (bool(deleted),),
            ).fetchall()
        return [_plan_dict(r) for r in rows]

    def get(self, plan_id: int, *, include_deleted: bool = False) -> dict:
        """A plan with its features; :class:`NotFoundError` when there is none."""
        plan_id = _plan_id(plan_id)
        with self._tx() as con:
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # plan and features from one snapshot
            row = con.execute(f"SELECT {_PLAN_COLUMNS} FROM plans p WHERE p.id = %s", (plan_id,)).fetchone()
            if row is None or (row["deleted_at"] is not None and not include_deleted):
                raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
            features = con.execute(
                "SELECT id, kind, name, ST_AsGeoJSON(geometry, %s)::json AS geometry, properties "
                "FROM features WHERE plan_id = %s ORDER BY id",
                (GEOJSON_DECIMALS, plan_id),
            ).fetchall()
        plan = _plan_dict(row)
        plan["features"] = [dict(f) for f in features]
        return plan

    # ------------------------------------------------------------------ writing

    def create(self, name: str, notes: str = "") -> dict:
        """A new empty plan at version 1."""
        name = _check_text(name, "方案名称 name", MAX_NAME_CHARS).strip()
        if not name:
            raise InputDataError("方案名称不能为空 (a plan needs a name)")
        notes = _check_text(notes, "备注 notes", MAX_NOTES_CHARS)
        with self._tx() as con:
            plan_id = con.execute(
                "INSERT INTO plans (name, notes, version) VALUES (%s, %s, 1) RETURNING id", (name, notes)
            ).fetchone()["id"]
        return self.get(plan_id)

    def save(
        self,
        plan_id: int,
        *,
        version: int,
        name: str | None = None,
        notes: str | None = None,
        features: list[Feature] | None = None,
    ) -> dict:
        """Save a plan loaded at ``version``: name, notes and (if given) all its features.

        Raises
        ------
        StaleVersionError
            Someone saved the plan since ``version`` (the current version is attached).
        NotFoundError
            No such plan (or it is deleted).
        InputDataError
            A feature PostGIS cannot read as GeoJSON (nothing is saved).
        """
        version = _check_version(version)
        plan_id = _plan_id(plan_id)
        rows = None if features is None else _feature_rows(features)
        try:
            with self._tx() as con:
                row = con.execute(
                    "SELECT name, notes, version FROM plans WHERE id = %s AND deleted_at IS NULL FOR UPDATE",
                    (plan_id,),
                ).fetchone()
                if row is None:
                    raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
                if row["version"] != version:
                    raise _stale(row["name"], row["version"], version)
                new_name = row["name"] if name is None else _check_text(name, "方案名称 name", MAX_NAME_CHARS).strip()
                if not new_name:
                    raise InputDataError("方案名称不能为空 (a plan needs a name)")
                new_notes = row["notes"] if notes is None else _check_text(notes, "备注 notes", MAX_NOTES_CHARS)
                cur = con.execute(
                    "UPDATE plans SET name = %s, notes = %s, version = version + 1, updated_at = now() "
                    "WHERE id = %s AND version = %s",
                    (new_name, new_notes, plan_id, version),
                )
                if cur.rowcount != 1:  # cannot happen under FOR UPDATE; kept as the guard it is
                    raise StaleVersionError("方案已被他人修改 (the plan was changed by someone else)", current=-1)
                if rows is not None:
                    con.execute("DELETE FROM features WHERE plan_id = %s", (plan_id,))
                    with con.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO features (plan_id, kind, name, geometry, properties) "
                            "VALUES (%s, %s, %s, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), %s::jsonb)",
                            [(plan_id, *r) for r in rows],
                        )
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            # ST_GeomFromGeoJSON refuses what is not GeoJSON geometry (XX000); the transaction rolled back.
            raise InputDataError(
                f"图形无法保存为 PostGIS 几何 (a geometry is not valid GeoJSON): {type(exc).__name__}"
            ) from exc
        return self.get(plan_id)

    def delete(self, plan_id: int, *, version: int | None = None) -> dict:
        """Move a plan to the recycle bin (undo with :meth:`restore`)."""
        plan_id = _plan_id(plan_id)
        with self._tx() as con:
            row = con.execute(
                "SELECT name, version FROM plans WHERE id = %s AND deleted_at IS NULL FOR UPDATE", (plan_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"没有编号为 {plan_id} 的方案 (no such plan)")
            if version is not None and row["version"] != version:
                raise StaleVersionError(
                    f"方案「{row['name']}」已被他人修改，请重新加载 (the plan was changed; reload it)",
                    current=row["version"],
                )
            con.execute("UPDATE plans SET deleted_at = now() WHERE id = %s", (plan_id,))
        return {"id": plan_id, "deleted": True}

    def restore(self, plan_id: int) -> dict:
        """Take a plan back out of the recycle bin."""
        plan_id = _plan_id(plan_id)
        with self._tx() as con:
            row = con.execute(
                "SELECT id FROM plans WHERE id = %s AND deleted_at IS NOT NULL FOR UPDATE", (plan_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"回收站中没有编号为 {plan_id} 的方案 (no such deleted plan)")
            con.execute("UPDATE plans SET deleted_at = NULL, updated_at = now() WHERE id = %s", (plan_id,))
        return self.get(plan_id)

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
        """Close the pooled connections; a later call opens a new one."""
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
