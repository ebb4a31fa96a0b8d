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
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from geo.errors import InputDataError
from webapp.plans.base import PlanStore, StoreUnavailableError, iter_statements

logger = logging.getLogger(__name__)

__all__ = [
    "LINLI_TABLES",
    "PostgisPlanStore",
    "check_schema",
    "describe_location",
    "move_to_schema",
    "prepare_schema",
    "use_schema",
]

#: Seconds to wait for the server (or a free pooled connection) before the store is reported unavailable.
CONNECT_TIMEOUT_S = 5
#: Connections the pool keeps open at most; more concurrent requests wait for one.
MAX_CONNECTIONS = 8
#: Decimal digits of coordinates in the GeoJSON read back (1e-15 degrees: below any survey precision).
GEOJSON_DECIMALS = 15
#: Key of the advisory lock that serialises schema changes among processes starting together.
SCHEMA_LOCK_KEY = 0x4C696E6C69  # "Linli"
#: The accounts' own (webapp/users_pg.py), taken too when the tables move.
USERS_LOCK_KEY = 0x4C696E6C6955  # "LinliU"

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


#: Every table Linli keeps in PostgreSQL: the plans' and grids' (here) and the accounts'
#: (webapp/users_pg.py).  An instance's schema holds all of them; :func:`move_to_schema` moves them.
LINLI_TABLES = (
    "linli_schema",
    "plans",
    "features",
    "grid_plans",
    "grid_versions",
    "users",
    "login_failures",
    "audit",
    "plan_areas",
)
#: A schema name as the app accepts it: lower-case letters, digits and _, not starting with a digit.
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: The schemas a Linli without a configured schema wrote its tables into (the default search path).
_DEFAULT_SCHEMAS = "('public', current_user)"


def check_schema(schema: object) -> str | None:
    """The configured schema (``PLAN_DB_SCHEMA``), checked; None when none is set.

    Raises
    ------
    StoreUnavailableError
        Not 1-63 lower-case letters, digits or ``_`` (said at start).
    """
    if schema is None or schema == "":
        return None
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema) or schema.startswith("pg_"):
        raise StoreUnavailableError(
            f"模式名 PLAN_DB_SCHEMA={str(schema)[:70]!r} 无效：只能用小写字母、数字和 _，不以数字或 pg_ 开头，"
            "最多 63 个字符 (the schema name: lower-case letters, digits and _, 1-63 characters)"
        )
    return schema


def use_schema(schema: str | None) -> Callable[[psycopg.Connection], None] | None:
    """The pool's ``configure``: every new connection finds its tables in ``schema`` (then in the
    schema PostGIS is installed in, for its types and functions).  None without a schema."""
    if schema is None:
        return None

    def configure(con: psycopg.Connection) -> None:
        row = con.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'postgis'"
        ).fetchone()
        postgis = "public" if row is None else row["nspname"] if isinstance(row, dict) else row[0]
        con.execute(sql.SQL("SET search_path TO {}, {}").format(sql.Identifier(schema), sql.Identifier(postgis)))

    return configure


def prepare_schema(con: psycopg.Connection, schema: str, location: str) -> None:
    """Create an instance's schema (inside the caller's transaction); refuse to start beside a
    Linli that kept its tables in the default schema (``public``) until they are moved
    (:func:`move_to_schema`), or one instance would start empty while its colleagues' plans,
    accounts and audit log sit unclaimed beside it.

    Raises
    ------
    StoreUnavailableError
        Unmoved tables in the default schema, or the role may not create the schema.
    """
    own = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'linli_schema'",
        (schema,),
    ).fetchone()
    if own is None and schema != "public":
        older = con.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'linli_schema' "
            f"AND table_schema IN {_DEFAULT_SCHEMAS} AND table_schema <> %s",
            (schema,),
        ).fetchone()
        if older is not None:
            where = older["table_schema"] if isinstance(older, dict) else older[0]
            raise StoreUnavailableError(
                f"数据库中模式 {where} 里已有一套未指定模式的邻里数据（方案、账号、审计日志）。"
                f"若它属于本实例，请先停止服务并运行一次 linli users move-to-schema --plan-db-schema {schema} "
                "把它移入本实例的模式；若属于另一实例，请先为那个实例指定它自己的模式并照此移入 "
                f"(the database holds a Linli without a schema in {where}: move it into its "
                "instance's schema once with `linli users move-to-schema` before starting)"
            )
    try:
        with con.transaction():  # a savepoint: a refused CREATE SCHEMA leaves the transaction usable
            con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreUnavailableError(
            f"无权在数据库 {location} 中创建模式 {schema}：请管理员执行 "
            f"CREATE SCHEMA {schema} AUTHORIZATION <应用的登录角色> "
            f"(the app's role may not create the schema {schema})"
        ) from exc


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

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = check_schema(schema)
        self.location = describe_location(url) + (f" 模式 schema {self.schema}" if self.schema else "")
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
            configure=use_schema(self.schema),
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
                    if self.schema is not None:
                        self._ensure_schema(con)
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

    def _ensure_schema(self, con: psycopg.Connection) -> None:
        prepare_schema(con, str(self.schema), describe_location(self.url))

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


def move_to_schema(url: str, schema: str, *, lock_timeout_s: float = 5.0) -> dict[str, int]:
    """Move a Linli's tables from the default schema (``public``) into ``schema``, once.

    For an office that kept one Linli in a database and now gives each instance its own schema
    (``PLAN_DB_SCHEMA``) so that two can share it: plans, grids, accounts, plan areas and the
    audit log move with their indexes and id sequences, in one transaction (all or none).

    Returns
    -------
    dict
        Table -> rows moved.

    Raises
    ------
    StoreUnavailableError
        ``schema`` already holds Linli tables, the default schema holds none, a server still
        uses them (its lock is not released within ``lock_timeout_s``), or the server is down.
    """
    schema = check_schema(schema) or ""
    if not schema or schema == "public":
        raise StoreUnavailableError("请用 --plan-db-schema 指定要移入的模式 (name the schema to move into)")
    location = describe_location(url)
    ident = sql.Identifier
    source = ""
    moved: dict[str, int] = {}
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            con.execute("SELECT pg_advisory_xact_lock(%s)", (USERS_LOCK_KEY,))
            con.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{lock_timeout_s}s")))
            found = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                f"WHERE table_schema IN {_DEFAULT_SCHEMAS} AND table_name = ANY(%s) ORDER BY table_schema",
                (list(LINLI_TABLES),),
            ).fetchall()
            sources = {r[0] for r in found}
            if not found or "linli_schema" not in {r[1] for r in found}:
                raise StoreUnavailableError(
                    f"方案库 {location} 的默认模式中没有邻里的数据表，无需移动 (no Linli tables in the default schema)"
                )
            if len(sources) > 1:
                raise StoreUnavailableError(
                    f"邻里的数据表分散在 {'、'.join(sorted(sources))} 中，请数据库管理员先核对 "
                    "(the tables are in several schemas)"
                )
            (source,) = sources
            there = con.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = ANY(%s)",
                (schema, list(LINLI_TABLES)),
            ).fetchone()
            if there is not None:
                raise StoreUnavailableError(
                    f"模式 {schema} 中已有邻里的数据表，不能再移入另一套 "
                    f"(the schema {schema} already holds Linli tables)"
                )
            con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident(schema)))
            for _, table in found:
                count = con.execute(sql.SQL("SELECT COUNT(*) FROM {}.{}").format(ident(source), ident(table)))
                moved[table] = int(count.fetchone()[0])
                con.execute(
                    sql.SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(ident(source), ident(table), ident(schema))
                )
    except psycopg.errors.LockNotAvailable as exc:
        raise StoreUnavailableError(
            f"方案库 {location} 的数据表正被使用：请先停止所有使用它的邻里服务再移动 "
            "(the tables are in use: stop every Linli server using them first)"
        ) from exc
    except psycopg.OperationalError as exc:
        raise StoreUnavailableError(
            f"无法连接方案库 {location} (cannot use the plan database): {type(exc).__name__}"
        ) from exc
    logger.warning("Linli tables moved from %s into schema %s at %s: %s", source, schema, location, moved)
    return moved
